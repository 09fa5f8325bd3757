#!/usr/bin/env bash
# scripts/reproduce_paper.sh --dry-run on a data folder holding the MNIST
# digits and small synthetic stand-ins for the converted sets (EMNIST
# letters, grey CIFAR-10, CIFAR-10), so that every stage runs once: LeNet and
# the paper's ResNet, Adam and SGD, plain/CEDA/ACET, eval with the paper's
# out-distributions, certify. Checks the files each stage writes.
#   test_reproduce_dry_run.sh SOURCE_DIR BUILD_DIR WORK_DIR
set -euo pipefail
SRC=$1 BUILD=$2 WORK=$3
rm -rf "$WORK"
mkdir -p "$WORK/data"
ln -s "$SRC/data/datasets/mnist" "$WORK/data/mnist"
/usr/bin/python3 - "$WORK/data" <<'PY'
import gzip, os, random, struct, sys
root = sys.argv[1]
random.seed(1)
def idx(path, dims, values):
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">BBBB", 0, 0, 8, len(dims)))
        for d in dims: f.write(struct.pack(">I", d))
        f.write(bytes(values))
def fake(name, shape, train, test, classes):
    d = os.path.join(root, name); os.makedirs(d)
    size = 1
    for s in shape: size *= s
    for split, n in (("train", train), ("t10k", test)):
        idx(f"{d}/{split}-images-idx3-ubyte.gz", [n] + shape, [random.randrange(256) for _ in range(n * size)])
        idx(f"{d}/{split}-labels-idx1-ubyte.gz", [n], [i % classes for i in range(n)])
fake("emnist-letters", [28, 28], 16, 32, 26)
fake("cifar10-gray", [28, 28], 16, 32, 10)
fake("cifar10", [3, 32, 32], 160, 64, 10)
PY
bash "$SRC/scripts/reproduce_paper.sh" --dry-run --build "$BUILD" --out "$WORK/out" --data-dir "$WORK/data" --sets mnist,svhn,cifar10 \
  | tee "$WORK/log.txt"
grep -q "skipping svhn" "$WORK/log.txt"
for set in mnist cifar10; do
  for method in plain ceda acet; do
    test -s "$WORK/out/${set}_$method/model.onnx"
    grep -q '"preset": "paper"' "$WORK/out/${set}_$method/config.json"
    test -s "$WORK/out/${set}_${method}_table2.json"
  done
  test -s "$WORK/out/$set.md"
done
grep -q '"model": "lenet' "$WORK/out/mnist_acet/config.json"
grep -q '"optimizer": "sgd"' "$WORK/out/cifar10_acet/config.json"
grep -q '"model": "resnet-small' "$WORK/out/cifar10_acet/config.json"
grep -q "EMNIST" "$WORK/out/mnist.md"
grep -q "grayCIFAR-10" "$WORK/out/mnist.md"
# A dry run refuses a folder that holds a real run (it would overwrite it).
mkdir -p "$WORK/real" && touch "$WORK/real/.full-run"
if bash "$SRC/scripts/reproduce_paper.sh" --dry-run --build "$BUILD" --out "$WORK/real" --data-dir "$WORK/data" 2> "$WORK/err.txt"; then
  echo "a dry run into a real run's folder was not refused" >&2; exit 1
fi
grep -q "holds a real run" "$WORK/err.txt"
echo "reproduce_paper dry run: every stage ran"
