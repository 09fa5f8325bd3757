#!/usr/bin/env bash
# The paper's Table 1 protocol end to end (Hein et al., CVPR 2019), with
# Tessera's exact far-away rows and the Table 2 analogue beside it:
#   for every in-distribution set that is available (the MNIST digits always;
#   SVHN, CIFAR-10, CIFAR-100 once `tessera data` has converted them), train
#   plain, CEDA and ACET with --preset paper, evaluate the three models with
#   `tessera eval --preset paper` on every out-distribution of the paper that
#   is available (EMNIST letters and grey CIFAR-10 for MNIST, ...), and
#   certify 1000 uniform-noise rays of each model.
#
# Meant for a CUDA machine: the full schedule is 100 epochs per model (on two
# CPU cores, the MNIST ACET model alone would take about a day).
# Interrupted runs resume where they stopped: run the script again.
#
#   scripts/reproduce_paper.sh [--dry-run] [--build DIR] [--out DIR] [--device auto|cpu|cuda|cuda:N]
#                              [--data-dir DIR] [--sets mnist,svhn,cifar10,cifar100]
#
# --out defaults to runs/paper (runs/paper-dry-run for --dry-run); a dry run
# and a real run never share a folder.
# --dry-run: one batch of every stage on the CPU (one epoch of 128 training
# images per model, 8 points per out-distribution, 2 PGD steps, 2 rays for at
# most 10 s), to
# check that everything is in place before renting a GPU; part of the tests.
set -euo pipefail
CALLER=$(pwd)
cd "$(dirname "$0")/.."
ROOT=$(pwd)
absolute() { case "$1" in /*) echo "$1" ;; *) echo "$CALLER/$1" ;; esac; }

DRY=0
BUILD=$ROOT/build
OUT=""
DEVICE=auto
DATA_DIR=""
SETS="mnist,svhn,cifar10,cifar100"
usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1 ;;
    --build) BUILD=$(absolute "$2"); shift ;;
    --out) OUT=$(absolute "$2"); shift ;;
    --device) DEVICE=$2; shift ;;
    --data-dir) DATA_DIR=$(absolute "$2"); shift ;;
    --sets) SETS=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "reproduce_paper.sh: error: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

# A dry run never shares a folder with a real one: its one-batch models
# would pass for finished ones, and its --overwrite would lose real
# checkpoints. Each kind marks its folder and refuses the other kind's.
[ -n "$OUT" ] || OUT=$ROOT/runs/$([ "$DRY" = 1 ] && echo paper-dry-run || echo paper)
MARK=$([ "$DRY" = 1 ] && echo .dry-run || echo .full-run)
OTHER=$([ "$DRY" = 1 ] && echo .full-run || echo .dry-run)
if [ -e "$OUT/$OTHER" ]; then
  echo "reproduce_paper.sh: error: $OUT holds a $([ "$DRY" = 1 ] && echo real || echo dry) run; choose another --out" >&2
  exit 1
fi

T="$BUILD/cli/tessera"
[ -x "$T" ] || { echo "reproduce_paper.sh: error: $T not found; build first (bash scripts/setup.sh)" >&2; exit 1; }
[ -x "$BUILD/training/tessera-train" ] || [ -x "$BUILD/cli/tessera-train" ] ||
  { echo "reproduce_paper.sh: error: this build has no training module (tessera-train); configure with -DTESSERA_BUILD_TRAINING=ON" >&2; exit 1; }
DATA_ARGS=()
if [ -n "$DATA_DIR" ]; then
  [ -d "$DATA_DIR" ] || { echo "reproduce_paper.sh: error: --data-dir $DATA_DIR is not a folder" >&2; exit 1; }
  DATA_ARGS=(--data-dir "$DATA_DIR")
fi
DD=${DATA_DIR:-${TESSERA_DATA_DIR:-$ROOT/data/datasets}}
present() { [ "$1" = mnist ] && [ -d "$DD/mnist" ] || [ -f "$DD/$1/t10k-images-idx3-ubyte.gz" ] || [ -f "$DD/$1/t10k-images-idx3-ubyte" ]; }

TRAIN_EXTRA=()
EVAL_EXTRA=()
CERT_COUNT=1000
CERT_TIME=3600
if [ "$DRY" = 1 ]; then
  DEVICE=cpu
  TRAIN_EXTRA=(--epochs 1 --train-limit 128 --test-limit 128)
  EVAL_EXTRA=(--count 8 --test-count 64 --adv-noise-steps 2 --adv-sample-steps 2)
  CERT_COUNT=2
  CERT_TIME=10
fi
mkdir -p "$OUT"
touch "$OUT/$MARK"
echo "reproduce_paper: output in $OUT, device $DEVICE$([ "$DRY" = 1 ] && echo ', dry run (one batch per stage)')"

IFS=, read -r -a WANT <<< "$SETS"
done_sets=()
for set in "${WANT[@]}"; do
  if ! present "$set"; then
    echo "reproduce_paper: skipping $set: not in $DD (convert it: tessera data $set --in DOWNLOAD_DIR --out $DD/$set)"
    continue
  fi
  for method in plain ceda acet; do
    run="$OUT/${set}_$method"
    if [ -f "$run/model.onnx" ] && [ "$DRY" = 0 ]; then
      echo "reproduce_paper: $run is done"
      continue
    fi
    if [ -f "$run/checkpoint.pt" ] && [ "$DRY" = 0 ]; then
      "$T" train --resume --out "$run" --device "$DEVICE" --progress off
    else
      "$T" train --data "$set" --method "$method" --preset paper --device "$DEVICE" --progress off --overwrite --quiet \
        "${DATA_ARGS[@]}" "${TRAIN_EXTRA[@]}" --out "$run"
    fi
    echo "reproduce_paper: trained $run"
  done
  "$T" eval "$OUT/${set}"_{plain,ceda,acet}/model.onnx --data "$set" --preset paper --names plain,ceda,acet \
    --device "$DEVICE" --progress off "${DATA_ARGS[@]}" "${EVAL_EXTRA[@]}" \
    --markdown "$OUT/$set.md" --csv "$OUT/$set.csv" --json "$OUT/$set.json" > /dev/null
  echo "reproduce_paper: wrote $OUT/$set.md"
  for method in plain ceda acet; do
    # Certify runs on the CPU; rays through the ResNet take long, so each
    # model gets a time limit and a marked partial result (exit 4) is kept.
    rc=0
    "$T" certify "$OUT/${set}_$method/model.onnx" --noise uniform --count "$CERT_COUNT" --box 0:1 --json --progress off \
      --time-limit "$CERT_TIME" > "$OUT/${set}_${method}_table2.json" || rc=$?
    if [ "$rc" = 4 ]; then
      echo "reproduce_paper: certify of ${set}_$method stopped at --time-limit $CERT_TIME s; the JSON is partial (set_complete false)"
    elif [ "$rc" != 0 ]; then
      exit "$rc"
    fi
  done
  echo "reproduce_paper: wrote $OUT/${set}_*_table2.json"
  done_sets+=("$set")
done
if [ ${#done_sets[@]} -eq 0 ]; then
  echo "reproduce_paper.sh: error: no data set available in $DD" >&2
  exit 1
fi
echo "reproduce_paper: done (${done_sets[*]})"
