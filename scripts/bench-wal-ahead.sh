#!/usr/bin/env bash
# The zeros written ahead of SQLite's WAL (src/runtime/store/sqlite/wal.rs), measured: the
# engine benchmark on the SQLite store with 1 and 64 clients, each run once with the zeros and
# once without (ALUR_WAL_AHEAD=off), alternating in one run so the disk's drift hits both alike;
# medians and the ratio with/without per configuration.
# Usage: scripts/bench-wal-ahead.sh  (env: N_DISK, R, REPS)
set -euo pipefail
cd "$(dirname "$0")/.."
N_DISK=${N_DISK:-2000}
R=${R:-0.2}
REPS=${REPS:-5}
cargo build --release --quiet --example bench_engine
bin=${CARGO_TARGET_DIR:-target}/release/examples/bench_engine
mkdir -p target/bench
out=target/bench/wal-ahead.txt
: > "$out"
for _ in $(seq "$REPS"); do
  for clients in 1 64; do
    for ahead in on off; do
      line=$(ALUR_WAL_AHEAD=$ahead "$bin" --store sqlite --clients "$clients" -n "$N_DISK" -r "$R" \
        --db target/bench/wal-ahead.db | grep '^RESULT')
      echo "$ahead $line" | tee -a "$out"
    done
  done
done
python3 - "$out" <<'PY'
import statistics, sys
runs = {}
for l in open(sys.argv[1]):
    p = l.split()
    # on|off RESULT alur <config> N secs cases/s tasks/s p50 p99 commands/s completions/s
    runs.setdefault((p[3], p[0]), []).append([float(x) for x in p[4:]])
for config in sorted({c for c, _ in runs}):
    m = {a: [statistics.median(r[f] for r in runs[(config, a)]) for f in (3, 4, 5)] for a in ("on", "off")}
    print(f"{config:10} tasks/s with {m['on'][0]:7.0f} without {m['off'][0]:7.0f} ratio {m['on'][0] / m['off'][0]:.2f}; "
          f"p50 {m['on'][1]:.0f}/{m['off'][1]:.0f} us, p99 {m['on'][2]:.0f}/{m['off'][2]:.0f} us "
          f"({len(runs[(config, 'on')])} runs each)")
PY
