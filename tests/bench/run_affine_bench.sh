#!/usr/bin/env bash
# Side-by-side benchmark of local affine maps: PyTorch's
# torch.autograd.functional.jacobian against Tessera, on the same ONNX models
# (exported by the PyTorch script), in one run. Results in docs/benchmarks.md.
#   tests/bench/run_affine_bench.sh [BUILD_DIR] [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
OUT=${2:-$BUILD/bench_models}
mkdir -p "$OUT"
/usr/bin/python3 tests/bench/torch_jacobian_bench.py "$OUT" > "$OUT/torch.json"
"$BUILD/tests/bench/bench_affine_map" --models "$OUT" --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true --benchmark_out="$OUT/tessera.json" --benchmark_out_format=json \
  | grep -E "median|Benchmark"
/usr/bin/python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
t = json.load(open(f"{out}/torch.json"))
b = json.load(open(f"{out}/tessera.json"))
med = {r["run_name"]: r["real_time"] * {"us": 1, "ms": 1e3, "ns": 1e-3}[r["time_unit"]]
       for r in b["benchmarks"] if r.get("aggregate_name") == "median"}
print(f"torch {t['torch_version']}, {t['threads']} thread(s)")
for key, model in (("mlp", "mlp_784_256_256_10"), ("lenet", "lenet")):
    tm = t["models"][model]
    ours = med[f"output_map/{key}"]
    print(f"{key:6s} forward: torch {tm['forward_us']:.0f} us, tessera {med[f'forward/{key}']:.0f} us")
    print(f"{key:6s} V(x),a(x): tessera {ours:.0f} us | torch jacobian {tm['jacobian_us']:.0f} us "
          f"({tm['jacobian_us']/ours:.1f}x) | vectorized {tm['jacobian_vectorized_us']:.0f} us "
          f"({tm['jacobian_vectorized_us']/ours:.1f}x)")
    print(f"{key:6s} all layers: tessera {med[f'all_layer_maps/{key}']/1e3:.1f} ms")
PY
