#!/usr/bin/env sh
# Store benchmark: appends/s and append latency (p50/p99) on the SQLite store for 1 and for 64
# concurrent clients, next to the raw fsync rate of the same disk. Pass a directory to measure
# the disk it is on (default: the system temp dir).
set -eu
cd "$(dirname "$0")/.."
cargo run --release --example bench_store -- "$@"
