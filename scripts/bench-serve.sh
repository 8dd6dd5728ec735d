#!/usr/bin/env bash
# The task-completion endpoint of `alur serve` under load on loopback, on the durable SQLite
# store (issue 5): N LKS cases wait at verification and C concurrent HTTP clients complete them
# (POST /api/cases/{id}/tasks/2/complete). In the same run, the same completions straight on
# the engine, so the HTTP layer's share shows. The load generator runs in the same process as
# the server, on the same 2 cores.
# Usage: scripts/bench-serve.sh  (env: N, CLIENTS, LOG=off|human|json and RUST_LOG for the log's cost)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-20000}
cargo build --release --quiet --example bench_serve
mkdir -p target/bench
echo "== label clients N secs completions/s p50_ms p99_ms"
for clients in ${CLIENTS:-16 32 64}; do
  target/release/examples/bench_serve -n "$N" --clients "$clients" --dir target/bench --log "${LOG:-off}" | tee -a target/bench/serve.txt
done
