#!/usr/bin/env bash
# The runtime side by side in one run (issue 4): complete LKS cases per second (9 tasks each,
# R returned once at verification, tasks found through the inbox) and p50/p99 latency of one
# completion, on the in-memory store, the SQLite store with 1 client and with 64 concurrent
# clients; the disk's raw fsync rate; and the peer engines of ../shared/peers on the same SOP.
# N_MEM defaults to the N the peers' in-memory SpiffWorkflow run uses (5,000), so both do the
# same work; the in-memory store runs with one client (one core, as the Python peer has) and
# with two (this machine's two cores). Clients split the cases between them: each reads the
# inbox of its own share (`--worklist own`), or a dispatcher reads the whole inbox once a round
# and hands each client an equal run of it (`--worklist shared`, labelled `-shared`). Both run;
# with 64 clients equal runs keep all 64 busy to the end of a round, where 64 random shares
# differ by a fifth and the last clients run alone.
# Usage: scripts/bench-engine.sh  (env: N_MEM, N_DISK, R, REPS_MEM, REPS_DISK, PEER_RUNS,
# PEERS=0 to skip the peers)
set -euo pipefail
cd "$(dirname "$0")/.."
N_MEM=${N_MEM:-5000}
N_DISK=${N_DISK:-2000}
R=${R:-0.2}
# The machine is shared and noisy: every configuration runs several times and its median run
# counts. An in-memory run takes a tenth of a second, a durable one a few seconds.
REPS_MEM=${REPS_MEM:-9}
REPS_DISK=${REPS_DISK:-3}
cargo build --release --quiet --example bench_engine --example bench_store
mkdir -p target/bench
echo "== raw fsync and store appends (examples/bench_store.rs)"
target/release/examples/bench_store target/bench | tee target/bench/store.txt
echo "== alur engine: store-clients N secs cases/s tasks/s p50_us p99_us commands/s completions/s"
: > target/bench/engine.txt
for _ in $(seq "$REPS_MEM"); do
  target/release/examples/bench_engine --store mem -n "$N_MEM" -r "$R" | tee -a target/bench/engine.txt
  target/release/examples/bench_engine --store mem --clients 2 -n "$N_MEM" -r "$R" | tee -a target/bench/engine.txt
  target/release/examples/bench_engine --store mem --clients 2 --worklist shared -n "$N_MEM" -r "$R" | tee -a target/bench/engine.txt
done
# The disk's speed drifts: each one-client run sits between two raw fsync probes and is
# compared with the faster of the two; the median of those ratios counts.
: > target/bench/fsync.txt
for rep in $(seq "$REPS_DISK"); do
  echo "PROBE $rep $(target/release/examples/bench_store target/bench --fsync-only | grep -o 'faster probe): [0-9]*' | grep -o '[0-9]*$')" | tee -a target/bench/fsync.txt
  target/release/examples/bench_engine --store sqlite --clients 1 -n "$N_DISK" -r "$R" --db target/bench/engine-1.db | tee -a target/bench/engine.txt
  echo "PROBE $rep $(target/release/examples/bench_store target/bench --fsync-only | grep -o 'faster probe): [0-9]*' | grep -o '[0-9]*$')" | tee -a target/bench/fsync.txt
  target/release/examples/bench_engine --store sqlite --clients 64 --worklist shared -n "$N_DISK" -r "$R" --db target/bench/engine-64.db | tee -a target/bench/engine.txt
  target/release/examples/bench_engine --store sqlite --clients 64 -n "$N_DISK" -r "$R" --db target/bench/engine-64.db | tee -a target/bench/engine.txt
done
if [ "${PEERS:-1}" != 0 ] && [ -d ../shared/peers ]; then
  echo "== peers (../shared/peers/run-all.sh, RUNS=${PEER_RUNS:-3}, median)"
  RUNS=${PEER_RUNS:-3} bash ../shared/peers/run-all.sh | tee target/bench/peers.txt
fi
python3 - <<'PY2'
import statistics
runs = {}
for l in open("target/bench/engine.txt"):
    if l.startswith("RESULT"):
        runs.setdefault(l.split()[2], []).append([float(x) for x in l.split()[3:]])
# Fields after the name: N secs cases/s tasks/s p50 p99 commands/s completions/s.
N, SECS, CASES, TASKS, P50, P99, COMMANDS, COMPLETIONS = range(8)
def median(config, field):
    return statistics.median(r[field] for r in runs[config]) if config in runs else None
probes = {}
for l in open("target/bench/fsync.txt"):
    p = l.split()
    if len(p) == 3 and p[0] == "PROBE":
        probes.setdefault(int(p[1]), []).append(float(p[2]))
fsync = [max(v) for _, v in sorted(probes.items())]
peers = {}
try:
    for l in open("target/bench/peers.txt"):
        p = l.split()
        if len(p) >= 5 and p[0] in ("spiffworkflow", "bpmn-engine"):
            peers[(p[0], p[1])] = float(p[3])
except FileNotFoundError:
    pass
print("== medians")
for config in sorted(runs):
    print(f"{config:10} {len(runs[config])} runs: {median(config, CASES):9.0f} cases/s {median(config, TASKS):9.0f} completions/s "
          f"(p50 {median(config, P50):.0f} us, p99 {median(config, P99):.0f} us), {median(config, COMMANDS):9.0f} commands/s, "
          f"{median(config, COMPLETIONS):9.0f} completions/s after the starts")
print("== ratios")
spiff = peers.get(("spiffworkflow", "mem"))
bpmn = peers.get(("bpmn-engine", "mem"))
for config, what in (("mem-1", "1 client (one core, as the Python peer has)"),
                     ("mem-2", "2 clients (this machine's two cores), each reading its own share's inbox"),
                     ("mem-2-shared", "2 clients, one dispatcher reading the inbox for both")):
    if config in runs and spiff:
        print(f"in memory, {what}: {median(config, CASES):.0f} cases/s = {median(config, CASES) / spiff:.1f}x SpiffWorkflow mem "
              f"({spiff:.0f}/s)" + (f", {median(config, CASES) / bpmn:.0f}x bpmn-engine mem ({bpmn:.1f}/s)" if bpmn else ""))
one = runs.get("sqlite-1", [])
if one and len(fsync) == len(one):
    for field, what in ((COMMANDS, "every command (case starts and completions, one commit each)"),
                        (COMPLETIONS, "completions (after the starts)"),
                        (TASKS, "completions over the whole run (starts included in the time)")):
        ratios = [r[field] / f for r, f in zip(one, fsync)]
        print(f"durable, 1 client, {what}: median {statistics.median(ratios):.2f} of the raw fsync rate "
              f"(runs: {', '.join(f'{x:.2f}' for x in ratios)}; probes {', '.join(f'{f:.0f}' for f in fsync)}/s)")
    print(f"durable, 1 client: p50 {median('sqlite-1', P50):.0f} us, p99 {median('sqlite-1', P99):.0f} us per completion")
for config, what in (("sqlite-64-shared", "one dispatcher"), ("sqlite-64", "each client reading its own share's inbox")):
    if one and config in runs:
        print(f"durable, 64 clients, {what}: {median(config, TASKS):.0f} completions/s = {median(config, TASKS) / median('sqlite-1', TASKS):.1f}x one client "
              f"(after the starts: {median(config, COMPLETIONS) / median('sqlite-1', COMPLETIONS):.1f}x); "
              f"p50 {median(config, P50):.0f} us, p99 {median(config, P99):.0f} us")
PY2
