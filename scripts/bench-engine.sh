#!/usr/bin/env bash
# The runtime side by side in one run (issue 4): complete LKS cases per second (9 tasks each,
# R returned once at verification, tasks found through the inbox) and p50/p99 latency of one
# completion, on the in-memory store, the SQLite store with 1 client and with 64 concurrent
# clients; the disk's raw fsync rate; and the peer engines of ../shared/peers on the same SOP.
# N_MEM defaults to the N the peers' in-memory SpiffWorkflow run uses (5,000), so both do the
# same work; the in-memory store runs with one client (one core, as the Python peer has) and
# with two (this machine's two cores).
# Usage: scripts/bench-engine.sh  (env: N_MEM, N_DISK, R, PEERS=0 to skip the peers)
set -euo pipefail
cd "$(dirname "$0")/.."
N_MEM=${N_MEM:-5000}
N_DISK=${N_DISK:-2000}
R=${R:-0.2}
cargo build --release --quiet --example bench_engine --example bench_store
mkdir -p target/bench
echo "== raw fsync and store appends (examples/bench_store.rs)"
target/release/examples/bench_store target/bench | tee target/bench/store.txt
echo "== alur engine: store-clients N secs cases/s tasks/s p50_us p99_us"
# In memory a run takes a fraction of a second: three of each, the median counts.
: > target/bench/engine.txt
for _ in 1 2 3; do
  target/release/examples/bench_engine --store mem -n "$N_MEM" -r "$R" | tee -a target/bench/engine.txt
  target/release/examples/bench_engine --store mem --clients 2 -n "$N_MEM" -r "$R" | tee -a target/bench/engine.txt
done
# The disk's speed drifts: its raw fsync rate is measured right before and right after the
# one-client run, and the one-client figure is compared with the faster of the two.
target/release/examples/bench_store target/bench --fsync-only | tee target/bench/fsync.txt
target/release/examples/bench_engine --store sqlite --clients 1 -n "$N_DISK" -r "$R" --db target/bench/engine-1.db | tee -a target/bench/engine.txt
target/release/examples/bench_store target/bench --fsync-only | tee -a target/bench/fsync.txt
target/release/examples/bench_engine --store sqlite --clients 64 -n "$N_DISK" -r "$R" --db target/bench/engine-64.db | tee -a target/bench/engine.txt
if [ "${PEERS:-1}" != 0 ] && [ -d ../shared/peers ]; then
  echo "== peers (../shared/peers/run-all.sh, RUNS=1)"
  RUNS=1 bash ../shared/peers/run-all.sh | tee target/bench/peers.txt
fi
python3 - <<'PY'
import re
runs = {}
for l in open("target/bench/engine.txt"):
    if l.startswith("RESULT"):
        runs.setdefault(l.split()[2], []).append(l.split())
# The median run by cases/s where a configuration ran more than once.
eng = {k: sorted(v, key=lambda r: float(r[5]))[len(v) // 2] for k, v in runs.items()}
fsyncs = [float(x) for x in re.findall(r"raw fsync \(the faster probe\): (\d+)", open("target/bench/fsync.txt").read())]
fsync = max(fsyncs) if fsyncs else None
peers = {}
try:
    for l in open("target/bench/peers.txt"):
        p = l.split()
        if len(p) >= 5 and p[0] in ("spiffworkflow", "bpmn-engine"):
            peers[(p[0], p[1])] = float(p[3])
except FileNotFoundError:
    pass
mem = float(eng["mem-1"][5]) if "mem-1" in eng else None
mem2 = float(eng["mem-2"][5]) if "mem-2" in eng else None
one = eng.get("sqlite-1"); many = eng.get("sqlite-64")
print("== ratios")
if mem and ("spiffworkflow", "mem") in peers:
    spiff = peers[('spiffworkflow', 'mem')]
    bpmn = peers.get(('bpmn-engine', 'mem'), float('nan'))
    print(f"in memory, 1 client: alur {mem:.0f} cases/s = {mem / spiff:.1f}x SpiffWorkflow mem ({spiff:.0f}/s), "
          f"{mem / bpmn:.0f}x bpmn-engine mem ({bpmn:.1f}/s)")
    if mem2:
        print(f"in memory, 2 clients: alur {mem2:.0f} cases/s = {mem2 / spiff:.1f}x SpiffWorkflow mem")
if one and fsync:
    tasks1 = float(one[6])
    print(f"durable, 1 client: {tasks1:.0f} completions/s = {tasks1 / fsync:.2f} of the raw fsync rate "
          f"({fsync:.0f}/s, the faster of {len(fsyncs)} probes around the run); p50 {one[7]} us, p99 {one[8]} us")
    if len(one) > 9:
        commands1 = float(one[9])
        print(f"durable, 1 client, every command (case starts and completions, one commit each): "
              f"{commands1:.0f}/s = {commands1 / fsync:.2f} of the raw fsync rate")
if one and many:
    print(f"durable, 64 clients: {float(many[6]):.0f} completions/s = {float(many[6]) / float(one[6]):.1f}x one client; "
          f"p50 {many[7]} us, p99 {many[8]} us")
PY
