#!/usr/bin/env bash
# Two builds of the engine benchmark side by side in one run, as ratios (issue 28: the write
# path must stay within 10% of an earlier commit): the in-memory store with one client, the
# SQLite store with 1 and 64 clients. The runs alternate (before, after, before, ...) so the
# shared machine's load falls on both alike; each configuration's median counts.
# Usage: scripts/bench-engine-ab.sh BEFORE_REV   (env: REPS=7, N_MEM=5000, N_DISK=2000, R=0.2,
# BEFORE_TARGET=target/ab-before: where the earlier commit is built, BEFORE_TREE: its git worktree)
set -euo pipefail
cd "$(dirname "$0")/.."
BEFORE_REV=${1:?usage: scripts/bench-engine-ab.sh BEFORE_REV}
REPS=${REPS:-7}
N_MEM=${N_MEM:-5000}
N_DISK=${N_DISK:-2000}
R=${R:-0.2}
TARGET=${CARGO_TARGET_DIR:-target}
BEFORE_TARGET=$(realpath -m "${BEFORE_TARGET:-target/ab-before}")
OUT=target/bench-ab
mkdir -p "$OUT"
cargo build --release --quiet --example bench_engine
AFTER=$TARGET/release/examples/bench_engine
tree=${BEFORE_TREE:-$OUT/before-tree}
if [ ! -d "$tree" ]; then git worktree add --detach "$tree" "$BEFORE_REV" > /dev/null; fi
git -C "$tree" checkout --quiet --detach "$BEFORE_REV"
(cd "$tree" && CARGO_TARGET_DIR=$BEFORE_TARGET cargo build --release --quiet --example bench_engine)
BEFORE=$BEFORE_TARGET/release/examples/bench_engine
: > "$OUT/runs.txt"
run() { # label binary args...
  local label=$1 bin=$2; shift 2
  # Its RESULT line: RESULT alur store-clients N secs cases/s tasks/s ...
  echo "$label $("$bin" "$@" | grep "^RESULT" | tail -1)" >> "$OUT/runs.txt"
}
for i in $(seq "$REPS"); do
  for side in before after; do
    bin=$BEFORE; [ "$side" = after ] && bin=$AFTER
    run "$side mem-1" "$bin" --store mem -n "$N_MEM" -r "$R"
    rm -f "$OUT"/e1-$side.db*; run "$side sqlite-1" "$bin" --store sqlite --clients 1 -n "$N_DISK" -r "$R" --db "$OUT/e1-$side.db"
    rm -f "$OUT"/e64-$side.db*; run "$side sqlite-64" "$bin" --store sqlite --clients 64 -n "$N_DISK" -r "$R" --db "$OUT/e64-$side.db"
  done
  echo "round $i of $REPS done"
done
python3 - "$OUT/runs.txt" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    parts = line.split()
    side, config = parts[0], parts[1]
    tasks_per_s = float(parts[8])  # label config RESULT alur store-clients N secs cases/s tasks/s ...
    runs.setdefault(config, {}).setdefault(side, []).append(tasks_per_s)
print("%-10s %14s %14s %8s" % ("config", "before tasks/s", "after tasks/s", "ratio"))
for config, by in runs.items():
    b, a = statistics.median(by["before"]), statistics.median(by["after"])
    print("%-10s %14.0f %14.0f %8.3f" % (config, b, a, a / b))
PY
