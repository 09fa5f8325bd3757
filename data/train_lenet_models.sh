#!/usr/bin/env bash
# Trains the paper's LeNet (conv 32, conv 64, dense 1024) plain, CEDA and ACET
# with `tessera train --preset paper --seed 1` on the CPU and copies the
# models and their logs to data/models/trained/lenet/. Each run resumes from
# its checkpoint when interrupted (run the script again).
#
# Shortened for two CPU cores (docs/results.md, "The LeNet models"): the
# paper's schedule is 100 epochs for every method; here plain and CEDA get
# all 100 (about 22 and 45 minutes on the npm digits), ACET's 40-step attack
# makes an epoch about 7 minutes, so it gets ACET_EPOCHS (default 10: about
# 70 minutes) with the rate drops at 50/75/90 % of those. Fashion-MNIST
# (60 000 images; 59 904 per epoch after the partial batch) gets fewer
# epochs, sized so that the three trainings and their evaluation fit one
# session (tests/bench/run_paper_train_bench.sh: plain 557, CEDA 377, ACET 19
# images/s): plain FMNIST_PLAIN_EPOCHS (10, ~18 min), CEDA
# FMNIST_CEDA_EPOCHS (6, ~16 min), ACET FMNIST_ACET_EPOCHS (1) over the first
# FMNIST_ACET_IMAGES training images (15000, ~13 min; -1: all 60 000, ~52 min
# per epoch).
#   data/train_lenet_models.sh [BUILD_DIR] [RUNS_DIR] [SETS]   (SETS: mnist, fmnist or "mnist fmnist")
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
RUNS=${2:-$BUILD/lenet_runs}
SETS=${3:-mnist fmnist}
ACET_EPOCHS=${ACET_EPOCHS:-10}
OUT=data/models/trained/lenet
mkdir -p "$OUT" "$RUNS"
T="$BUILD/cli/tessera"
epochs() {  # data method
  case "$1:$2" in
    mnist:acet) echo "$ACET_EPOCHS" ;;
    mnist:*) echo 100 ;;
    fmnist:plain) echo "${FMNIST_PLAIN_EPOCHS:-10}" ;;
    fmnist:ceda) echo "${FMNIST_CEDA_EPOCHS:-6}" ;;
    fmnist:acet) echo "${FMNIST_ACET_EPOCHS:-1}" ;;
  esac
}
train_limit() {  # data method
  case "$1:$2" in
    fmnist:acet) echo "${FMNIST_ACET_IMAGES:-15000}" ;;
    *) echo -1 ;;
  esac
}
for d in $SETS; do
  for method in plain ceda acet; do
    run="$RUNS/${d}_$method"
    if [ ! -f "$run/model.onnx" ]; then
      if [ -f "$run/checkpoint.pt" ]; then
        "$T" train --resume --out "$run" --progress off
      else
        "$T" train --data "$d" --method "$method" --preset paper --epochs "$(epochs "$d" "$method")" \
          --train-limit "$(train_limit "$d" "$method")" --seed 1 --device cpu \
          --progress off --out "$run"
      fi
    fi
    cp "$run/model.onnx" "$OUT/${d}_$method.onnx"
    cp "$run/log.csv" "$OUT/${d}_$method.log.csv"
    cp "$run/config.json" "$OUT/${d}_$method.config.json"
  done
done
ls -la "$OUT"
