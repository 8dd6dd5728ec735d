#!/usr/bin/env bash
# A 60-second soak of `alur serve` on SQLite (issue 23): 50 clients mixing case reads, task
# completions, uploads and sign-ins; SIGTERM halfway and a restart on the same database; every
# acknowledged write checked in the database afterwards; /metrics compared with the clients'
# counts. The clients run on the same 2 cores as the server.
# Usage: scripts/soak-serve.sh  (env: SECS, CLIENTS, CASES)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin alur --example soak_serve
mkdir -p target/bench
target/release/examples/soak_serve --secs "${SECS:-60}" --clients "${CLIENTS:-50}" --cases "${CASES:-15000}" \
  --dir target/soak | tee target/bench/soak.txt
