#!/usr/bin/env bash
# Benchmarks `alur import` in process on a generated table (STEPS steps, page breaks every 20
# rows, actors inferred, routes in Keterangan) and on the seed table; each import also compiles
# and checks its result. Usage: scripts/bench-import.sh [STEPS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release --quiet --example bench_import -- "${1:-1000}" "${2:-20}"
