#!/usr/bin/env bash
# Side-by-side benchmark of local affine maps: PyTorch's
# torch.autograd.functional.jacobian against Tessera, on the same ONNX models
# (exported by the PyTorch script), in one run. Results in docs/benchmarks.md.
#   tests/bench/run_affine_bench.sh [BUILD_DIR] [OUT_DIR]
# With OLD_BENCH=/path/to/an/older/bench_affine_map, that binary (e.g. built
# at an earlier commit) runs on the same models in the same run, alternating
# with the current one ROUNDS times (default 3; the median of the rounds'
# medians is reported), and the table gains a "before" column.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
OUT=${2:-$BUILD/bench_models}
ROUNDS=${ROUNDS:-3}
mkdir -p "$OUT"
/usr/bin/python3 tests/bench/torch_jacobian_bench.py "$OUT" > "$OUT/torch.json"
run() {  # run BINARY JSON
  "$1" --models "$OUT" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
    --benchmark_out="$2" --benchmark_out_format=json | grep -E "median|Benchmark"
}
if [ -n "${OLD_BENCH:-}" ]; then
  for r in $(seq 1 "$ROUNDS"); do
    run "$OLD_BENCH" "$OUT/tessera_old_$r.json"
    run "$BUILD/tests/bench/bench_affine_map" "$OUT/tessera_$r.json"
  done
else
  ROUNDS=1
  run "$BUILD/tests/bench/bench_affine_map" "$OUT/tessera_1.json"
fi
/usr/bin/python3 - "$OUT" "$ROUNDS" "${OLD_BENCH:+old}" <<'PY'
import json, statistics, sys
out, rounds, with_old = sys.argv[1], int(sys.argv[2]), len(sys.argv) > 3 and sys.argv[3] == "old"
t = json.load(open(f"{out}/torch.json"))
def medians(prefix):
    runs = []
    for r in range(1, rounds + 1):
        b = json.load(open(f"{out}/{prefix}_{r}.json"))
        runs.append({x["run_name"]: x["real_time"] * {"us": 1, "ms": 1e3, "ns": 1e-3}[x["time_unit"]]
                     for x in b["benchmarks"] if x.get("aggregate_name") == "median"})
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}
med = medians("tessera")
old = medians("tessera_old") if with_old else None
print(f"torch {t['torch_version']}, {t['threads']} thread(s), BLAS {t.get('blas')}; Tessera: median of {rounds} round(s)")
for key, model in (("mlp", "mlp_784_256_256_10"), ("lenet", "lenet")):
    tm = t["models"][model]
    ours = med[f"output_map/{key}"]
    before = f" (before {old[f'forward/{key}']:.0f} us)" if old else ""
    print(f"{key:6s} forward: torch {tm['forward_us']:.0f} us, tessera {med[f'forward/{key}']:.0f} us{before}")
    before = f" | before {old[f'output_map/{key}']:.0f} us ({tm['jacobian_us']/old[f'output_map/{key}']:.1f}x)" if old else ""
    print(f"{key:6s} V(x),a(x): tessera {ours:.0f} us | torch jacobian {tm['jacobian_us']:.0f} us "
          f"({tm['jacobian_us']/ours:.1f}x) | vectorized {tm['jacobian_vectorized_us']:.0f} us "
          f"({tm['jacobian_vectorized_us']/ours:.1f}x){before}")
    print(f"{key:6s} all layers: tessera {med[f'all_layer_maps/{key}']/1e3:.1f} ms"
          + (f" (before {old[f'all_layer_maps/{key}']/1e3:.1f} ms)" if old else ""))
    print(f"{key:6s} batch of 64: tessera {med[f'output_map_batch64/{key}/real_time']/1e3:.1f} ms"
          + (f" (before {old[f'output_map_batch64/{key}/real_time']/1e3:.1f} ms)" if old else ""))
PY
