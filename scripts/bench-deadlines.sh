#!/usr/bin/env sh
# Deadline benchmark: the 9 LKS steps chained for every start minute of 2026 on wita_kantor.
# Target: under 1 second in release.
set -eu
cd "$(dirname "$0")/.."
cargo run --release --example bench_deadlines
