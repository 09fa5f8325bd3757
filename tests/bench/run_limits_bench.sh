#!/usr/bin/env bash
# Bounded, cancellable work (the hardening issue, round 2), measured:
#  1. what polling the stop flag costs on ordinary work: the same commands
#     with this build and with a baseline build from before the change
#     (BASE, optional), side by side with hyperfine;
#  2. a slice whose first layer cuts one cell into millions of pieces, with
#     --max-regions 1000 (the baseline ignored the limit inside a cut: it is
#     given 60 s);
#  3. how long Ctrl-C takes to end each long command (signal to exit, five
#     runs each, median), with the paper's LeNet and a 784-6x200-10 MLP.
#   tests/bench/run_limits_bench.sh [BUILD (build)] [BASE_BUILD (none)] [OUT (/tmp/limits_bench)]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
BASE=${2:-}
OUT=${3:-/tmp/limits_bench}
mkdir -p "$OUT"
T="$BUILD/cli/tessera"
command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)"; exit 1; }

echo "== 1. cost of the stop checks on ordinary work"
cmds=(
  "slice data/models/toy2d.onnx --window -3:3:-3:3"
  "slice data/models/mnist_mlp.onnx --input data/inputs/noise.pgm"
  "slice data/models/mnist_cnn.onnx --input data/inputs/noise.pgm --window -0.05:0.05:-0.05:0.05"
  "slice data/models/mnist_mlp.onnx --dims 3 --input data/inputs/noise.pgm --box -5:5:-5:5:-5:5"
  "certify data/models/mnist_mlp.onnx --noise uniform --count 200"
  "region data/models/mnist_mlp.onnx --input data/inputs/seven.pgm"
)
for c in "${cmds[@]}"; do
  args=(--warmup 1 --runs 7 --style basic --export-json "$OUT/h.json" -n "now" "$T $c > /dev/null")
  [ -n "$BASE" ] && args+=(-n "before" "$BASE/cli/tessera $c > /dev/null")
  hyperfine "${args[@]}" 2>&1 | grep -E "±|faster|slower" || true
  /usr/bin/python3 - "$OUT/h.json" "$c" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
med = {x["command"]: x["median"] for x in r}
line = "  ".join(f"{k} {v*1e3:.1f} ms" for k, v in med.items())
if len(med) == 2:
    now, before = med["now"], med["before"]
    line += f"  (now/before {now/before:.3f})"
print(f"MEDIAN {sys.argv[2]}: {line}")
PY
done

echo "== 2. --max-regions 1000 on a slice whose first cut makes millions of pieces"
c="slice data/models/mnist_cnn.onnx --input data/inputs/seven.pgm --max-regions 1000"
s=$(date +%s.%N); "$T" $c > /dev/null || true; e=$(date +%s.%N)
echo "now:    $(echo "$e - $s" | bc) s"
if [ -n "$BASE" ]; then
  s=$(date +%s.%N); timeout 60 "$BASE/cli/tessera" $c > /dev/null || true; e=$(date +%s.%N)
  echo "before: $(echo "$e - $s" | bc) s (stopped by timeout 60 if 60)"
fi

echo "== 3. Ctrl-C: signal to exit (median of 5)"
/usr/bin/python3 - "$T" "$OUT" <<'PY'
import os, signal, statistics, subprocess, sys, time
tessera, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, ".")
lenet, mlp = os.path.join(out, "lenet.onnx"), os.path.join(out, "mlp6x200.onnx")
if not os.path.exists(lenet):
    subprocess.run(["/usr/bin/python3", "tests/stress/make_real_models.py", out], check=True, capture_output=True)
    os.replace(os.path.join(out, "lenet_paper.onnx"), lenet)
    os.replace(os.path.join(out, "mlp_9x200.onnx"), mlp)
cases = [
    ("slice CNN through a digit", ["slice", "data/models/mnist_cnn.onnx", "--input", "data/inputs/seven.pgm"]),
    ("3-D slice CNN", ["slice", "data/models/mnist_cnn.onnx", "--dims", "3", "--input", "data/inputs/seven.pgm"]),
    ("region 9x200 MLP", ["region", mlp, "--input", "data/inputs/seven.pgm"]),
    ("certify set, LeNet", ["certify", lenet, "--noise", "uniform", "--count", "500"]),
    ("ray, LeNet", ["ray", lenet, "--input", "data/inputs/seven.pgm", "--alpha0", "1e-9"]),
]
for name, args in cases:
    times = []
    for delay in (0.8, 1.1, 1.4, 1.7, 2.0):
        p = subprocess.Popen([tessera] + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        t = time.monotonic()
        p.send_signal(signal.SIGINT)
        p.wait()
        times.append(time.monotonic() - t)
        assert p.returncode == 4, (name, p.returncode)
    print(f"{name:28s} median {statistics.median(times)*1e3:6.1f} ms, max {max(times)*1e3:6.1f} ms")
PY
