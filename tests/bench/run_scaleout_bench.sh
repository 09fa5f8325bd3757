#!/usr/bin/env bash
# Scale-out on one machine: sets shared between MPI ranks (certify, bound,
# eval) and data-parallel training, against one process using every core.
# Ranks beyond the cores are oversubscribed (--oversubscribe): they show the
# cost of the sharing itself (the queue, the gathering, MPI's start-up), not
# a speed-up. Medians of 3 runs (hyperfine), side by side in one run.
#   tests/bench/run_scaleout_bench.sh [BUILD (build)] [OUT (/tmp/scaleout_bench)]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
OUT=${2:-/tmp/scaleout_bench}
mkdir -p "$OUT"
T="$(realpath "$BUILD/cli/tessera")"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPI="mpirun --oversubscribe --bind-to none"
echo "machine: $(nproc) cores, $(date -u +%F)"
bench() {  # bench NAME 'ARGS' RANKS...  (RANKS: 1t = one process with one thread)
  local name=$1 args=$2; shift 2
  local cmds=(-n "one process, $(nproc) threads" "$T $args")
  for np in "$@"; do
    if [ "$np" = 1t ]; then
      cmds+=(-n "one process, 1 thread" "$T $args --threads 1")
    else
      local per=$(( $(nproc) / np )); [ $per -ge 1 ] || per=1
      cmds+=(-n "$np ranks, $per thread(s) each" "$MPI -np $np $T $args")
    fi
  done
  hyperfine --runs 3 --style none --export-json "$OUT/$name.json" "${cmds[@]}" > /dev/null 2>&1
  /usr/bin/python3 - "$OUT/$name.json" "$name" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
base = r[0]["median"]
for x in r:
    print("| %s | %s | %.3f | %.2f |" % (sys.argv[2], x["command"], x["median"], base / x["median"]))
PY
}
echo "| set | run | median s | speed-up |"
echo "|---|---|---|---|"
L=data/models/trained/lenet/fmnist_plain.onnx
bench "certify: LeNet, 48 noise rays" "certify $L --noise uniform --count 48 --json" 1t 1 2 4
bench "certify: toy 2-D, 20000 cheap rays" "certify data/models/toy2d.onnx --noise uniform --count 20000 --json" 1t 2 4 8
bench "bound: crown, MNIST MLP, 200 balls" "bound data/models/trained/mnist_plain.onnx --noise uniform --count 200 --eps 0.01 --method crown --json" 1t 2
bench "eval: moons, 2 models, 13 rows" "eval data/models/trained/moons_plain.onnx data/models/trained/moons_acet.onnx --data moons --count 1000 --adv-noise-steps 100 --progress off --json" 1t 2
# Training: the paper's LeNet on 6000 Fashion-MNIST images, one epoch, one
# process on both cores against two processes on one core each (the same
# global batch of 128).
A=(--data fmnist --model lenet --method plain --epochs 1 --batch-size 128 --train-limit 6000 --test-limit 1000 --quiet --progress off)
if [ -d /usr/share/datasets/fashion-mnist ] || [ -n "${TESSERA_DATA_DIR:-}" ]; then
  rm -rf "$OUT/train1" "$OUT/train2"
  s=$(date +%s.%N); "$T" train "${A[@]}" --out "$OUT/train1" > /dev/null; one=$(echo "$(date +%s.%N) - $s" | bc)
  port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  s=$(date +%s.%N)
  $MPI -np 2 -x MASTER_ADDR=127.0.0.1 -x MASTER_PORT=$port "$T" train "${A[@]}" --out "$OUT/train2" --distributed > /dev/null
  two=$(echo "$(date +%s.%N) - $s" | bc)
  /usr/bin/python3 - "$one" "$two" "$OUT" <<'PY'
import json, sys
one, two, out = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
a = json.load(open(out + "/train1/log.json"))[0]; b = json.load(open(out + "/train2/log.json"))[0]
print("| train: LeNet, 1 epoch of 6000 FMNIST images | one process (2 threads) | %.2f | 1.00 |" % one)
print("| train: LeNet, 1 epoch of 6000 FMNIST images | 2 processes --distributed (1 thread each) | %.2f | %.2f |" % (two, one / two))
print("\ntraining loss one process %.7f, two processes %.7f (difference %.2g); images/s %.0f vs %.0f"
      % (a["loss"], b["loss"], a["loss"] - b["loss"], a["images_per_second"], b["images_per_second"]))
PY
fi
