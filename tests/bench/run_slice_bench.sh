#!/usr/bin/env bash
# Exact 2-D and 3-D slices of PyTorch-initialised ReLU MLPs (ONNX, written by
# make_slice_models.py): cells, milliseconds and cells/s, medians of REPS
# repetitions (default 5). With OLD=/path/to/an/older/bench_slice, runs that
# binary on the same models too, alternating with this build's one rep at a
# time, checks that both give the same cells bit for bit (fingerprint) and
# prints the table of docs/benchmarks.md (median wall-clock milliseconds of
# one slice). Threads: OMP_NUM_THREADS as set (default all cores); exits 1
# when the two binaries' cells differ. Results in docs/benchmarks.md.
#   [OLD=...] [REPS=5] [OMP_NUM_THREADS=n] tests/bench/run_slice_bench.sh [BUILD_DIR] [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
OUT=${2:-$BUILD/slice_models}
REPS=${REPS:-5}
mkdir -p "$OUT"
/usr/bin/python3 tests/bench/make_slice_models.py "$OUT" > /dev/null
NEW="$BUILD/tests/bench/bench_slice"
for r in $(seq 1 "$REPS"); do
  if [ -n "${OLD:-}" ]; then
    "$OLD" --models "$OUT" --benchmark_filter='slice[23]d/' --benchmark_out="$OUT/old_$r.json" \
      --benchmark_out_format=json > /dev/null 2>&1
  fi
  "$NEW" --models "$OUT" --benchmark_filter='slice[23]d/' --benchmark_out="$OUT/new_$r.json" \
    --benchmark_out_format=json > /dev/null 2>&1
done
/usr/bin/python3 - "$OUT" "$REPS" "${OLD:+old}" <<'PY'
import glob, json, statistics, sys
out, reps, old = sys.argv[1], int(sys.argv[2]), len(sys.argv) > 3 and sys.argv[3] == "old"
def load(which):
    runs = {}
    for r in range(1, reps + 1):
        for b in json.load(open(f"{out}/{which}_{r}.json"))["benchmarks"]:
            name = b["run_name"].split("/")[0] + "/" + b["run_name"].split("/")[1]
            unit = {"ns": 1e-6, "us": 1e-3, "ms": 1, "s": 1e3}[b["time_unit"]]
            runs.setdefault(name, []).append((b["real_time"] * unit, b["cpu_time"] * unit, int(b["cells"]),
                                              int(b["fingerprint"])))
    return runs
new = load("new")
prev = load("old") if old else {}
ok = True
import os
print(f"{reps} repetitions, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; "
      "medians of wall-clock and of CPU (main thread) milliseconds")
if old:
    print("| model | cells | before ms | after ms | ratio | before CPU ms | after CPU ms | CPU ratio | cells/s |")
    print("|---|---|---|---|---|---|---|---|---|")
else:
    print("| model | cells | ms | CPU ms | cells/s |")
    print("|---|---|---|---|---|")
for name, rs in new.items():
    ms = statistics.median(r[0] for r in rs)
    cpu = statistics.median(r[1] for r in rs)
    cells, fp = rs[0][2], rs[0][3]
    same = all(r[2:] == (cells, fp) for r in rs)
    if old:
        before = statistics.median(r[0] for r in prev[name])
        before_cpu = statistics.median(r[1] for r in prev[name])
        same = same and all(r[2:] == (cells, fp) for r in prev[name])
        print(f"| {name.split('/')[1]} | {cells} | {before:.2f} | {ms:.2f} | {before / ms:.2f} | {before_cpu:.2f} | "
              f"{cpu:.2f} | {before_cpu / cpu:.2f} | {cells / ms * 1e3:,.0f} |" + ("" if same else " **results differ**"))
    else:
        print(f"| {name.split('/')[1]} | {cells} | {ms:.2f} | {cpu:.2f} | {cells / ms * 1e3:,.0f} |"
              + ("" if same else " **results differ between repetitions**"))
    ok = ok and same
sys.exit(0 if ok else 1)
PY
