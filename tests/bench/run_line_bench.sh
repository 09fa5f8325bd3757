#!/usr/bin/env bash
# Side-by-side benchmark of exact line traversal (docs/benchmarks.md):
#  1. tests/bench/torch_line_bench.py exports two MLPs and the paper's LeNet
#     (torch.manual_seed(0)), writes 100 segment ends uniform in [0,1]^784
#     and walks every MLP segment naively in float64 (one fresh forward pass
#     per crossing);
#  2. bench_line walks the same segments in-process on one thread,
#     incrementally and freshly (5 repetitions, medians);
#  3. the crossing counts of both are compared segment by segment;
#  4. hyperfine times `tessera ray --from FILE --to FILE` (all 100 pairs, all
#     cores) against one `tessera ray` process per pair.
#   tests/bench/run_line_bench.sh [BUILD_DIR] [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
OUT=${2:-$BUILD/line_bench}
mkdir -p "$OUT"
/usr/bin/python3 tests/bench/torch_line_bench.py "$OUT"
OMP_NUM_THREADS=1 "$BUILD/tests/bench/bench_line" --models "$OUT" --benchmark_filter=mlp --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true --benchmark_out="$OUT/tessera.json" --benchmark_out_format=json \
  | grep -E "median|Benchmark"
# The paper's LeNet: one segment, once (a fresh walk takes minutes).
OMP_NUM_THREADS=1 "$BUILD/tests/bench/bench_line" --models "$OUT" --benchmark_filter=lenet \
  --benchmark_out="$OUT/tessera_lenet.json" --benchmark_out_format=json | grep -E "lenet|Benchmark"
/usr/bin/python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
naive = json.load(open(f"{out}/naive.json"))
b = json.load(open(f"{out}/tessera.json"))
med = {r["run_name"]: r for r in b["benchmarks"] if r.get("aggregate_name") == "median"}
print(f"torch {naive['torch_version']}, naive walk in float64 on {naive['threads']} thread(s)")
for model, m in naive["models"].items():
    ours = json.load(open(f"{out}/tessera_counts_{model}.json"))
    same = ours[:len(m["crossings"])] == m["crossings"]
    inc = med[f"segments/{model}/incremental/real_time"]
    fresh = med[f"segments/{model}/fresh/real_time"]
    print(f"{model}: {m['total']} crossings in {naive['segments']} segments; counts identical to the naive walk: {same}")
    print(f"  naive PyTorch float64   {m['crossings_per_s']:10.0f} crossings/s")
    print(f"  Tessera fresh           {fresh['crossings_per_s']:10.0f} crossings/s")
    print(f"  Tessera incremental     {inc['crossings_per_s']:10.0f} crossings/s "
          f"({inc['crossings_per_s'] / fresh['crossings_per_s']:.1f}x fresh, "
          f"{inc['crossings_per_s'] / m['crossings_per_s']:.0f}x naive)")
    if not same:
        sys.exit(1)
lenet = {r["run_name"]: r for r in json.load(open(f"{out}/tessera_lenet.json"))["benchmarks"]}
for kind in ("incremental", "fresh"):
    r = lenet.get(f"segments/lenet_paper/{kind}/real_time")
    if r:
        print(f"lenet_paper {kind}: {r['crossings']:.0f} crossings, {r['crossings_per_s']:.0f} crossings/s")
PY
if command -v hyperfine >/dev/null; then
  EXE="$BUILD/cli/tessera"
  M="$OUT/mlp_784_256x2_10.onnx"
  mkdir -p "$OUT/pairs"
  /usr/bin/python3 - "$OUT" <<'PY'
import sys
out = sys.argv[1]
for name in ("from", "to"):
    for i, line in enumerate(open(f"{out}/{name}.txt")):
        open(f"{out}/pairs/{name}{i}.txt", "w").write(line)
PY
  hyperfine --warmup 1 --runs 5 --export-json "$OUT/hyperfine.json" \
    -n "one process, 100 pairs" "$EXE ray $M --from $OUT/from.txt --to $OUT/to.txt --json > /dev/null" \
    -n "100 processes" "for i in \$(seq 0 99); do $EXE ray $M --from $OUT/pairs/from\$i.txt --to $OUT/pairs/to\$i.txt --json > /dev/null; done"
fi
