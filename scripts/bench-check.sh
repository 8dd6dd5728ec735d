#!/usr/bin/env bash
# `alur check` on the real workload (issue 27): a folder of every SOP file in the repository
# that checks without errors (shipped, examples, test fixtures, calendars), copied with
# distinct SOP ids up to about FILES files, checked in one process; then the language server's
# workload, the LKS SOP re-checked after an edit ROUNDS times in one process
# (examples/bench_check.rs, which also counts the engine's interned names). For the README's
# rows, also `alur check sop/lks-lksa.sop` alone and a generated STEPS-step SOP (default
# 10000, STEPS=0 leaves it out), which no office has.
#
# Side by side in one run, interleaved: the release binary as built, plus
#   BEFORE=path/to/alur        another binary (copy target/release/alur aside before a change)
#   MODES="off always"         the same binary with ALUR_TWO_THREADS set to each (while the
#                              switch existed: see docs/performance.md, 2026-12-07 issue 27)
# Usage: scripts/bench-check.sh [FILES] [RUNS] [ROUNDS]   (BUILD=0: no build first)
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-500}
runs=${2:-15}
rounds=${3:-2000}
target=${CARGO_TARGET_DIR:-target}
# BUILD=0 measures the binaries as they were last built.
[ "${BUILD:-1}" = 0 ] || cargo build --release --quiet --bin alur --example bench_check --example gen_sop
steps=${STEPS:-10000}
alur="$target/release/alur"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One copy of every .sop file under sop/ and tests/, the tree kept (imports and calls are paths).
base="$work/base"
while IFS= read -r f; do
  mkdir -p "$base/$(dirname "$f")"
  cp "$f" "$base/$f"
done < <(find sop tests -name '*.sop' -not -path '*/target/*' | sort)
# Leave out what does not check clean (the corpus of invalid files, and a file calling one),
# until the rest does.
for _ in 1 2 3 4; do
  bad=$("$alur" check --format json "$base" 2>/dev/null | python3 -c '
import json, sys
report = json.load(sys.stdin)
for f in report["files"]:
    if any(d.get("severity") == "error" for d in f["diagnostics"]):
        print(f["file"])
' || true)
  [ -z "$bad" ] && break
  while IFS= read -r f; do [ -f "$f" ] && rm -f "$f"; done <<<"$bad"
done
"$alur" check "$base" >/dev/null 2>&1 || { echo "the base folder does not check clean:"; "$alur" check "$base"; exit 1; }
per_copy=$(find "$base" -name '*.sop' | wc -l)
copies=$(( (files + per_copy - 1) / per_copy ))
folder="$work/sops"
for k in $(seq 1 "$copies"); do
  mkdir -p "$folder/k$k"
  cp -r "$base/." "$folder/k$k/"
  # Distinct SOP ids: `alur check` of a folder reports two files with one id.
  find "$folder/k$k" -name '*.sop' -exec sed -i -E "s/^([[:space:]]*sop[[:space:]]+[A-Za-z_0-9]+)/\1_k$k/" {} +
done
total=$(find "$folder" -name '*.sop' | wc -l)
bytes=$(find "$folder" -name '*.sop' -exec cat {} + | wc -c)
"$alur" check "$folder" >/dev/null 2>&1 || { echo "the copies do not check clean:"; "$alur" check "$folder" 2>&1 | tail -20; exit 1; }
echo "folder: $total files ($per_copy distinct, $copies copies), $bytes bytes"
checked=("$folder" sop/lks-lksa.sop)
if [ "$steps" -gt 0 ]; then
  "$target/release/examples/gen_sop" "$steps" >"$work/big-$steps.sop"
  checked+=("$work/big-$steps.sop")
fi

variants=("as built=$alur")
[ -n "${BEFORE:-}" ] && variants+=("before=$BEFORE")
for mode in ${MODES:-}; do variants+=("ALUR_TWO_THREADS=$mode=$alur"); done
python3 - "$runs" "$target/release/examples/bench_check" "$rounds" "${checked[*]}" "${variants[@]}" <<'PY'
import os, re, statistics, subprocess, sys, time
runs, example, rounds, checked = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4].split(" ")
variants = []
for v in sys.argv[5:]:
    label, binary = v.rsplit("=", 1)
    env = dict(os.environ)
    env.pop("ALUR_TWO_THREADS", None)
    if label.startswith("ALUR_TWO_THREADS="):
        env["ALUR_TWO_THREADS"] = label.split("=", 1)[1]
    variants.append((label, binary, env))
for path in checked:
    samples = {label: [] for label, _, _ in variants}
    for _ in range(runs):
        for label, binary, env in variants:
            start = time.perf_counter()
            subprocess.run([binary, "check", path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env)
            samples[label].append((time.perf_counter() - start) * 1000)
    first = statistics.median(samples[variants[0][0]])
    print(f"alur check {os.path.basename(path)}, {runs} runs each, interleaved:")
    for label, _, _ in variants:
        s = samples[label]
        m = statistics.median(s)
        print(f"  {label:24} median {m:8.2f} ms  min {min(s):8.2f}  max {max(s):8.2f}  ratio {m / first:.3f}")
# The language server's workload: the example with each mode (a BEFORE binary has no example).
print(f"re-checking sop/lks-lksa.sop after an edit, {rounds} rounds per process, 3 processes each, interleaved:")
lines = {}
for _ in range(3):
    for label, binary, env in variants:
        if label == "before":
            continue
        out = subprocess.run([example, rounds], capture_output=True, text=True, check=True, env=env).stdout
        lines.setdefault(label, []).append(out)
for label, outs in lines.items():
    p = [tuple(float(x) for x in re.search(r"p50 ([\d.]+) µs, p95 ([\d.]+) µs", o).groups()) for o in outs]
    p50 = statistics.median(x[0] for x in p)
    p95 = statistics.median(x[1] for x in p)
    print(f"  {label:24} p50 {p50:7.1f} µs  p95 {p95:7.1f} µs  (median of 3)")
print("".join(l for l in outs[-1].splitlines(True)[1:]))
PY
