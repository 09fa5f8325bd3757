#!/usr/bin/env bash
# The Python module against C++ (docs/benchmarks.md, "The Python module"):
# 1. cost per call: bench_calls (the library calls, Google Benchmark, median
#    of 5 repetitions) against python_bench.py (timeit medians) on the same
#    inputs; 2. batch certify: rays per second of one tessera.certify call on
#    COUNT noise inputs against `tessera certify --noise uniform --count
#    COUNT --box 0:1 --json` (hyperfine, which includes loading the model).
#   tests/bench/run_python_bench.sh [BUILD_DIR] [COUNT]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
COUNT=${2:-1000}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
"$BUILD/tests/bench/bench_calls" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
  --benchmark_format=json > "$OUT/cpp.json" 2>/dev/null
PYTHONPATH="$BUILD/python" /usr/bin/python3 tests/bench/python_bench.py . "$COUNT" > "$OUT/py.json"
for m in mnist_mlp trained/mnist_ceda trained/moons_plain; do
  hyperfine -N --warmup 1 --runs 5 --export-json "$OUT/cli_${m//\//_}.json" \
    "$BUILD/cli/tessera certify data/models/$m.onnx --noise uniform --count $COUNT --box 0:1 --json --progress off" >/dev/null
done
/usr/bin/python3 - "$OUT" "$COUNT" <<'PY'
import json, sys
out, count = sys.argv[1], int(sys.argv[2])
cpp = {b["run_name"]: b["real_time"] for b in json.load(open(f"{out}/cpp.json"))["benchmarks"] if b.get("aggregate_name") == "median"}
py = json.load(open(f"{out}/py.json"))
print("| call | C++ (µs, median) | Python (µs, median) | overhead (µs) | ratio |")
print("|---|---|---|---|---|")
for key, t in py["per_call_us"].items():
    what, name = key.split("/")
    c = cpp[f"BM_{what.capitalize()}/{name}"]
    print(f"| {what} {name} | {c:.1f} | {t:.1f} | {t - c:.1f} | {t / c:.2f} |")
print()
print(f"| model | CLI rays/s ({count} rays, with loading) | Python rays/s (one call) | Python with load | ratio Python / CLI |")
print("|---|---|---|---|---|")
for m, b in py["batch"].items():
    cli = json.load(open(f"{out}/cli_{m.replace('/', '_')}.json"))["results"][0]["median"]
    print(f"| {m} | {count / cli:.0f} | {b['rays_per_s']:.0f} | {b['rays_per_s_with_load']:.0f} | {b['rays_per_s_with_load'] / (count / cli):.2f} |")
PY
