#!/usr/bin/env bash
# Last-layer Laplace: what the posterior costs in `certify` (the network
# alone against its Laplace version, 1000 uniform-noise rays, both cores,
# hyperfine medians of whole commands, model loading included), what
# `tessera laplace` costs to fit (the shipped MNIST MLP, full and K-FAC;
# the paper's LeNet on Fashion-MNIST, K-FAC), and certify on that LeNet.
#   tests/bench/run_laplace_bench.sh [BUILD (build)] [OUT (/tmp/laplace_bench)]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
OUT=${2:-/tmp/laplace_bench}
mkdir -p "$OUT"
T="$BUILD/cli/tessera"
M=data/models/trained
median() { /usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print(" ".join("%.3f" % x["median"] for x in r))' "$1"; }

echo "== certify --noise uniform --count 1000: network, then its Laplace version (median s)"
for m in mnist_plain moons_plain; do
  box=$([ "$m" = moons_plain ] && echo "-3:3" || echo "0:1")
  hyperfine -N -w 1 -r 7 --export-json "$OUT/certify_$m.json" \
    "$T certify $M/$m.onnx --noise uniform --count 1000 --box $box --progress off" \
    "$T certify $M/$m.laplace.onnx --noise uniform --count 1000 --box $box --progress off" >/dev/null
  echo "$m $(median "$OUT/certify_$m.json")"
done

echo "== tessera laplace on the MNIST MLP (median s): full, K-FAC"
hyperfine -N -w 1 -r 5 --export-json "$OUT/fit_mnist.json" \
  "$T laplace $M/mnist_plain.onnx --data mnist --structure full --progress off --out $OUT/full.onnx" \
  "$T laplace $M/mnist_plain.onnx --data mnist --structure kronecker --progress off --out $OUT/kfac.onnx" >/dev/null
echo "mnist_mlp $(median "$OUT/fit_mnist.json")"

echo "== the paper's LeNet on Fashion-MNIST (60 000 images), K-FAC: fit, then certify 20 noise rays with and without"
/usr/bin/time -f "fit wall %e s, max RSS %M KiB" "$T" laplace $M/lenet/fmnist_plain.onnx --data fmnist --progress off \
  --out "$OUT/lenet.laplace.onnx" | grep -E "^(covariance|chosen|written)"
for model in $M/lenet/fmnist_plain.onnx "$OUT/lenet.laplace.onnx"; do
  /usr/bin/time -f "$(basename "$model"): certify 20 noise rays, wall %e s" \
    "$T" certify "$model" --noise uniform --count 20 --progress off > "$OUT/certify_$(basename "$model").txt"
done
grep -E "^(regions computed|Laplace)" "$OUT/certify_lenet.laplace.onnx.txt"
