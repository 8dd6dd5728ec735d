#!/usr/bin/env sh
# PostgreSQL store benchmark beside the SQLite store, in one run: appends/s and append latency
# (p50/p99) with 1 and 64 concurrent writers, the PostgreSQL/SQLite ratios, and the change
# feed's delay from one node to another.
# Usage: scripts/bench-pg.sh [POSTGRES_URL] [SQLITE_DIR]
# (POSTGRES_URL default: $ALUR_BENCH_PG, else postgres://postgres@127.0.0.1:5432/test; the run
# uses a schema of its own and drops it.)
set -eu
cd "$(dirname "$0")/.."
cargo run --release --example bench_pg -- "$@"
