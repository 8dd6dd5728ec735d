#!/usr/bin/env sh
# PostgreSQL store benchmark beside the SQLite store, in one run: appends/s and append latency
# (p50/p99) with 1 and 64 concurrent writers, the PostgreSQL/SQLite ratios, the change feed's
# delay from one node to another, and the physical anchor: `pgbench` on the same database with
# the same client counts (one UPDATE + one INSERT per transaction), alur's rate as a ratio of it.
# Usage: scripts/bench-pg.sh [POSTGRES_URL] [SQLITE_DIR]
# (POSTGRES_URL default: $ALUR_BENCH_PG, else postgres://postgres@127.0.0.1:5432/test; the run
# uses a schema of its own and drops it.)
# The PostgreSQL store runs as shipped and as before group commit (ALUR_PG_GROUP_COMMIT=off),
# side by side.
set -eu
cd "$(dirname "$0")/.."
command -v pgbench >/dev/null || { echo "pgbench not found: apt-get install postgresql-client" >&2; exit 1; }
cargo build --release --example bench_pg
target="${CARGO_TARGET_DIR:-target}"
exec "$target/release/examples/bench_pg" "$@"
