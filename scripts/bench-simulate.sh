#!/usr/bin/env sh
# Simulation benchmark: LKS cases per second with unlimited staff (target >= 1,000,000 per core)
# and the 40-a-day scenario over a simulated year (target < 1 s). Release build.
set -eu
cd "$(dirname "$0")/.."
cargo run --release --example bench_simulate -- "${1:-2000000}"
