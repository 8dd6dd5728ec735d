#!/usr/bin/env bash
# Years of cases (issue 28): how start-up, the `alur case` commands and the main API reads grow
# with the history. For each size it builds (once; kept in target/years/) an SQLite database of
# N finished + M open cases with examples/years.rs, then measures with the release binary:
# `alur serve` until its first answered request (`/readyz`, then an API read), each `alur case`
# command (wall time and peak RSS, /usr/bin/time), the API reads (curl's total time, best of 3),
# and the server's peak RSS (VmHWM) after them. The list and report reads are timed RUNS times
# (default 10; 2 in `before`, where each takes seconds): the median (`_p50_s`) and the slowest
# (`_max_s`, the p99 of so few). Also `PRAGMA quick_check` alone, as every open runs it. Prints
# one table, a column per size, and the growth from the smallest size to each. Every size is
# measured twice, side by side: `before` with ALUR_CHECKPOINT=off (every open replays the whole
# log and keeps every case's events in memory, as alur did before its checkpoints) and
# ALUR_PROJECTIONS=off (start-up recovery, the case list and the reports read every case, as
# before the case summaries), `after` as alur runs.
# Usage: scripts/bench-years.sh   (env: SIZES="10000 100000", OPEN=1000, YEARS_1M=1 adds 1000000,
# REBUILD=1 rebuilds the databases, ALUR_BIN names another binary, RUNS=10, MODES="before after")
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-"10000 100000"}
if [ "${YEARS_1M:-0}" = 1 ]; then SIZES="$SIZES 1000000"; fi
OPEN=${OPEN:-1000}
TARGET=${CARGO_TARGET_DIR:-target}
cargo build --release --quiet --bin alur --example years
BIN=${ALUR_BIN:-$TARGET/release/alur}
OUT=target/years
mkdir -p "$OUT"
RESULTS=$OUT/results.txt
: > "$RESULTS"
PASSWORD=years-admin-password-1
now_ms() { date +%s%3N; }
for n in $SIZES; do
  db=$OUT/years-$n.db
  if [ ! -f "$db" ] || [ "${REBUILD:-0}" = 1 ]; then
    echo "== building $db ($n finished, $OPEN open)"
    "$TARGET/release/examples/years" --db "$db" --finished "$n" --open "$OPEN" | tee "$OUT/made-$n.txt"
  fi
  echo "$n size_mb $(( $(stat -c %s "$db") >> 20 ))" >> "$RESULTS"
  settled=$(sed -n 's/^SETTLED \([0-9.]*\) s$/\1/p' "$OUT/made-$n.txt" 2>/dev/null || true)
  if [ -n "$settled" ]; then echo "$n first_start_settle_s $settled" >> "$RESULTS"; fi
  echo "$n quick_check_s $(python3 -c "
import sqlite3, time
c = sqlite3.connect('file:$db?mode=ro', uri=True)
t = time.time(); c.execute('PRAGMA quick_check(3)').fetchall(); print(round(time.time() - t, 3))")" >> "$RESULTS"
  for mode in ${MODES:-before after}; do
  echo "== measuring $n $mode"
  if [ "$mode" = before ]; then
    export ALUR_CHECKPOINT=off ALUR_PROJECTIONS=off
    runs=2
  else
    unset ALUR_CHECKPOINT ALUR_PROJECTIONS
    runs=${RUNS:-10}
  fi
  # The CLI commands, each a process of its own that opens the file.
  case_id=$("$BIN" case --db "$db" --sop-dir sop inbox 2>/dev/null | head -1 | cut -d' ' -f1 || true)
  for cmd in inbox "show $case_id" list; do
    name=case_${cmd%% *}
    /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$BIN" case --db "$db" --sop-dir sop $cmd > /dev/null 2>&1 || true
    read -r secs kib < "$OUT/time.txt"
    echo "$n $mode:${name}_s $secs" >> "$RESULTS"
    echo "$n $mode:${name}_rss_mb $(( kib / 1024 ))" >> "$RESULTS"
  done
  # The server: time to its first answered request.
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  base=http://127.0.0.1:$port
  started=$(now_ms)
  ALUR_ADMIN_PASSWORD=$PASSWORD RUST_LOG=warn "$BIN" serve --addr "127.0.0.1:$port" --db "$db" --sop-dir sop \
    > "$OUT/serve-$n.log" 2>&1 &
  pid=$!
  until curl -sf "$base/readyz" > /dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then echo "the server ended; see $OUT/serve-$n.log"; exit 1; fi
    sleep 0.05
  done
  echo "$n $mode:serve_ready_s $(python3 -c "print(($(now_ms)-$started)/1000)")" >> "$RESULTS"
  token=$(curl -sf "$base/api/login" -H 'content-type: application/json' \
    -d "{\"user\":\"admin\",\"password\":\"$PASSWORD\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  for path in "/api/cases?limit=20" "/api/cases?status=ended&limit=20" "/api/cases?status=active&overdue=true&limit=20" \
      /api/tasks /api/reports/steps /api/reports/actors /dashboard; do
    times=
    for _ in $(seq "$runs"); do
      times="$times $(curl -s -o /dev/null -w '%{time_total}' -H "authorization: Bearer $token" "$base$path")"
    done
    read -r p50 worst < <(python3 -c "import statistics, sys; t = [float(x) for x in sys.argv[1:]]; print(statistics.median(t), max(t))" $times)
    echo "$n $mode:api_${path}_p50_s $p50" >> "$RESULTS"
    echo "$n $mode:api_${path}_max_s $worst" >> "$RESULTS"
  done
  echo "$n $mode:serve_peak_rss_mb $(( $(grep VmHWM /proc/$pid/status | awk '{print $2}') / 1024 ))" >> "$RESULTS"
  kill -TERM "$pid"
  wait "$pid" || true
  done
done
python3 - "$RESULTS" <<'PY'
import sys
rows, sizes = {}, []
for line in open(sys.argv[1]):
    n, key, value = line.split()
    if n not in sizes:
        sizes.append(n)
    rows.setdefault(key, {})[n] = float(value)
print("%-36s" % "measure" + "".join("%12s" % s for s in sizes) + "".join("%12s" % ("x" + s) for s in sizes[1:]))
for key, by in rows.items():
    cells = "".join("%12.3f" % by[s] if s in by else "%12s" % "-" for s in sizes)
    base = by.get(sizes[0])
    growth = "".join("%12.1f" % (by[s] / base) if base and s in by else "%12s" % "-" for s in sizes[1:])
    print("%-36s" % key + cells + growth)
PY
