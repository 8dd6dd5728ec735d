#!/usr/bin/env sh
# Several `alur serve` nodes on one PostgreSQL database, beside one node on SQLite, in one run:
# completions per second and p50/p99 latency of POST /api/cases/{id}/tasks/{n}/complete with
# 1, 2 and 3 nodes (real processes) on PostgreSQL and 1 node on its SQLite file.
# Usage: scripts/bench-nodes.sh [-n CASES] [--clients C] [--pg POSTGRES_URL]
# (POSTGRES_URL default: $ALUR_BENCH_PG, else postgres://postgres@127.0.0.1:5432/test; every
# PostgreSQL run uses a schema of its own and drops it.)
set -eu
cd "$(dirname "$0")/.."
cargo build --release --bin alur --example bench_nodes
target="${CARGO_TARGET_DIR:-target}"
"$target/release/examples/bench_nodes" --alur "$target/release/alur" "$@"
