#!/usr/bin/env bash
# Benchmarks `alur check` process wall time on a generated 10,000-step SOP and on the LKS SOP.
# Targets (issue 2): under 100 ms and under 5 ms. Usage: scripts/bench-check.sh [STEPS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-10000}
runs=${2:-30}
cargo build --release --quiet --bin alur --example gen_sop
mkdir -p target/bench
target/release/examples/gen_sop "$steps" > "target/bench/big-$steps.sop"
target/release/alur check "target/bench/big-$steps.sop" >/dev/null 2>&1 || {
  echo "the generated SOP does not check clean:"; target/release/alur check "target/bench/big-$steps.sop"; exit 1; }
python3 - "$runs" "target/bench/big-$steps.sop" sop/lks-lksa.sop <<'PY'
import statistics, subprocess, sys, time
runs = int(sys.argv[1])
for path in sys.argv[2:]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(["target/release/alur", "check", path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        samples.append((time.perf_counter() - start) * 1000)
    size = sum(1 for _ in open(path, encoding="utf-8"))
    print(f"alur check {path} ({size} lines): median {statistics.median(samples):.2f} ms, "
          f"min {min(samples):.2f} ms, max {max(samples):.2f} ms over {runs} runs")
PY
