#!/usr/bin/env bash
# Sets shared between MPI ranks (cli/distributed.hpp) give the output of one
# process, byte for byte (bound: field for field, but for its timings); a
# failing or killed rank ends the job with an error; a time limit gives a
# marked partial result. Run over loopback with Open MPI's mpirun, one to
# four ranks (oversubscribed on a small machine).
#   check_mpi.sh CASE TESSERA SOURCE_DIR WORK_DIR
set -uo pipefail
case_name=$1 T=$2 SRC=$3 W=$4
mkdir -p "$W"
cd "$SRC"
# CI containers run as root, which mpirun refuses unless told.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# No progress bars, no colour: outputs are compared as text.
MPI=(mpirun --oversubscribe --bind-to none)
fail() { echo "FAIL: $*"; exit 1; }
same() {  # same FILE_A FILE_B WHAT
  cmp -s "$1" "$2" || { diff <(head -c 3000 "$1") <(head -c 3000 "$2") | head -20; fail "$3: $1 and $2 differ"; }
  echo "ok: $3"
}
# Runs `tessera ARGS` alone and under mpirun -np 1, 2 and 4; compares the
# outputs (stdout, and the file named by OUTFILE when set).
compare_runs() {  # compare_runs NAME ARGS...
  local name=$1; shift
  "$T" "$@" > "$W/$name.alone" || fail "$name: one process failed (status $?)"
  if [ -n "${OUTFILE:-}" ]; then cp "$OUTFILE" "$W/$name.alone.file"; fi
  for np in 1 2 4; do
    "${MPI[@]}" -np $np "$T" "$@" > "$W/$name.np$np" 2> "$W/$name.np$np.err" || { cat "$W/$name.np$np.err"; fail "$name: -np $np failed"; }
    if [ "${JSON_MINUS_TIMES:-0}" = 1 ]; then
      /usr/bin/python3 - "$W/$name.alone" "$W/$name.np$np" <<'EOF' || fail "$name: -np $np differs from one process"
import json, sys
def strip(x):  # per-box and summary timings differ from run to run
    if isinstance(x, dict): return {k: strip(v) for k, v in x.items() if k != "seconds"}
    if isinstance(x, list): return [strip(v) for v in x]
    return x
a, b = (strip(json.load(open(f))) for f in sys.argv[1:])
if a != b:
    for k in a:
        if a.get(k) != b.get(k): print("field", k, "differs")
    sys.exit(1)
n = len(a.get("bounds", a.get("certificates", [])))
assert n > 0, "nothing to compare"
EOF
      echo "ok: $name -np $np (JSON equal but for timings)"
    else
      same "$W/$name.alone" "$W/$name.np$np" "$name -np $np"
    fi
    if [ -n "${OUTFILE:-}" ]; then same "$W/$name.alone.file" "$OUTFILE" "$name -np $np: $OUTFILE"; fi
    # Rank 0 says how the set was shared; the shares add up to the set.
    if [ $np -gt 1 ] && [ -n "${SHARED:-}" ]; then
      line=$(grep "shared by $np ranks" "$W/$name.np$np.err") || { cat "$W/$name.np$np.err"; fail "$name: no word of the shares"; }
      total=$(echo "$line" | sed 's/.*: //' | tr ',' '\n' | awk '{ s += $1 } END { print s }')
      [ "$total" = "$SHARED" ] || fail "$name: the shares ($line) do not add up to $SHARED"
    fi
  done
}

case $case_name in
  certify)
    SHARED=30 compare_runs certify_json certify data/models/mnist_cnn.onnx --noise uniform --count 30 --json
    compare_runs certify_text certify data/models/mnist_cnn.onnx --noise uniform --count 30
    compare_runs certify_full certify data/models/toy2d.onnx --noise uniform --count 40 --full --json
    # The Laplace posterior's fields.
    compare_runs certify_laplace certify data/models/trained/mnist_plain.laplace.onnx --noise uniform --count 12 --json
    ;;
  bound)
    SHARED=10 JSON_MINUS_TIMES=1 OUTFILE="$W/argmax.txt" compare_runs bound_exact bound data/models/trained/mnist_plain.onnx \
      --noise uniform --count 10 --eps 0.01 --method exact --json --argmax-out "$W/argmax.txt"
    JSON_MINUS_TIMES=1 compare_runs bound_crown bound data/models/trained/mnist_acet.onnx --noise uniform --count 10 \
      --eps 0.1 --method crown --json
    ;;
  ray)
    # Pairs of random images: 16 segments through the CNN.
    awk 'BEGIN { srand(5); for (r = 0; r < 32; ++r) { for (i = 0; i < 784; ++i) printf "%.6f ", rand(); print "" } }' > "$W/rows.txt"
    head -16 "$W/rows.txt" > "$W/from.txt"
    tail -16 "$W/rows.txt" > "$W/to.txt"
    for format in --json --csv ""; do
      SHARED=16 compare_runs "ray${format:-_text}" ray data/models/mnist_cnn.onnx --from "$W/from.txt" --to "$W/to.txt" $format
    done
    ;;
  eval)
    # --threads 1: LibTorch's reductions may group sums by thread count.
    SHARED=26 compare_runs eval_json eval data/models/trained/moons_plain.onnx data/models/trained/moons_acet.onnx --data moons \
      --names plain,acet --count 200 --adv-noise-steps 10 --adv-sample-steps 10 --threads 1 --json --progress off
    compare_runs eval_markdown eval data/models/trained/moons_plain.onnx data/models/trained/moons_acet.onnx --data moons \
      --count 200 --adv-noise-steps 10 --adv-sample-steps 10 --threads 1 --progress off
    ;;
  errors)
    # A command that does not share its work is refused, by rank 0.
    "${MPI[@]}" -np 2 "$T" slice data/models/toy2d.onnx > "$W/slice.out" 2> "$W/slice.err"
    status=$?
    [ $status -ne 0 ] || fail "slice under mpirun -np 2 succeeded"
    grep -q "tessera slice (rank 0 of 2): error: tessera slice does not share its work between MPI ranks" "$W/slice.err" ||
      { cat "$W/slice.err"; fail "slice: no one-line refusal"; }
    echo "ok: slice refused under mpirun (status $status)"
    # One rank fails alone (here: given a threshold out of range, through
    # mpirun's MPMD syntax): the job ends with that rank's message.
    "${MPI[@]}" -np 1 "$T" certify data/models/mnist_cnn.onnx --noise uniform --count 200 : \
      -np 1 "$T" certify data/models/mnist_cnn.onnx --noise uniform --count 200 --threshold 1.5 \
      > "$W/one.out" 2> "$W/one.err"
    status=$?
    [ $status -ne 0 ] || fail "a failing rank did not fail the job"
    grep -q "tessera certify (rank 1 of 2): error: the threshold must lie strictly between 0 and 1" "$W/one.err" ||
      { cat "$W/one.err"; fail "no message from the failing rank"; }
    [ ! -s "$W/one.out" ] || fail "a failed job printed a report"
    echo "ok: one failing rank ends the job with its message (status $status)"
    # Programs that write one file or run folder refuse to run as several
    # ranks (train without --distributed, laplace).
    if "$T" train --help > /dev/null 2>&1; then  # (a build with the training module)
      "${MPI[@]}" -np 2 "$T" train --data moons --epochs 1 --out "$W/two_copies" > "$W/train.out" 2> "$W/train.err"
      [ $? -ne 0 ] || fail "train without --distributed ran as two ranks"
      grep -q "error: started as 2 processes (mpirun, srun): add --distributed" "$W/train.err" ||
        { cat "$W/train.err"; fail "train: no refusal"; }
      [ ! -e "$W/two_copies/checkpoint.pt" ] || fail "train: a refused run wrote a checkpoint"
      echo "ok: train without --distributed refuses two ranks"
    fi
    # A time limit stops every rank: rank 0 writes the marked partial result, status 4.
    "${MPI[@]}" -np 2 "$T" bound data/models/mnist_mlp.onnx --noise uniform --count 4 --eps 0.01 --method exact --json \
      --time-limit 3 > "$W/partial.json" 2> "$W/partial.err"
    status=$?
    [ $status -eq 4 ] || { cat "$W/partial.err"; fail "time limit: status $status, not 4"; }
    /usr/bin/python3 -c "
import json, sys
j = json.load(open('$W/partial.json'))
assert j['set_complete'] is False, j['set_complete']
assert 'time limit of 3 s reached' in j['stop_reason'], j['stop_reason']
assert j['bounds'], 'no box started'
assert all(not b['complete'] for b in j['bounds']), 'a stopped box claims completeness'
" || fail "time limit: the partial result is not marked"
    echo "ok: --time-limit under mpirun gives a marked partial result, status 4"
    ;;
  killed)
    # A rank killed mid-set ends the job with an error instead of a hang.
    "${MPI[@]}" -np 2 "$T" bound data/models/mnist_mlp.onnx --noise uniform --count 4 --eps 0.01 --method exact --json \
      --time-limit 120 > "$W/killed.out" 2> "$W/killed.err" &
    job=$!
    victim=""
    for _ in $(seq 1 200); do
      for p in $(pgrep -f "tessera bound data/models/mnist_mlp.onnx"); do
        tr '\0' '\n' < /proc/$p/environ 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1" && victim=$p
      done
      [ -n "$victim" ] && break
      sleep 0.1
    done
    [ -n "$victim" ] || { kill $job; fail "rank 1 never started"; }
    sleep 1
    kill -9 "$victim"
    start=$(date +%s)
    wait $job
    status=$?
    took=$(( $(date +%s) - start ))
    [ $status -ne 0 ] || fail "the job survived a killed rank"
    grep -qi "signal 9\|killed" "$W/killed.err" || { cat "$W/killed.err"; fail "no word of the killed rank"; }
    [ ! -s "$W/killed.out" ] || fail "a job with a killed rank printed a result"
    echo "ok: a killed rank ends the job (status $status, ${took} s after the kill)"
    ;;
  train)
    # Data-parallel training (LibTorch c10d, Gloo over loopback): two
    # processes with the same global batch follow one process's loss curve
    # to float32 rounding; a run stopped as two processes resumes as one;
    # a killed process ends the other with an error, and --resume goes on.
    free_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
    A=(--data moons --model mlp:32,32 --epochs 3 --batch-size 64 --quiet --progress off --threads 1)
    curves_agree() {  # curves_agree RUN_A RUN_B TOLERANCE
      /usr/bin/python3 - "$1/log.json" "$2/log.json" "$3" <<'EOF' || fail "the loss curves of $1 and $2 differ"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
tol = float(sys.argv[3])
assert len(a) == len(b) == 3, (len(a), len(b))
for x, y in zip(a, b):
    for k in ("loss", "clean_loss", "noise_loss", "train_accuracy", "noise_mmc"):
        assert abs(x[k] - y[k]) <= tol, (x["epoch"], k, x[k], y[k])
print("largest loss difference", max(abs(x["loss"] - y["loss"]) for x, y in zip(a, b)))
EOF
    }
    for method in plain ceda acet; do
      rm -rf "$W/one_$method" "$W/two_$method"
      "$T" train "${A[@]}" --method $method --out "$W/one_$method" || fail "train $method: one process failed"
      port=$(free_port)
      (export WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port
       RANK=1 "$T" train "${A[@]}" --method $method --out "$W/two_$method" --distributed > "$W/r1.log" 2>&1 &
       RANK=0 "$T" train "${A[@]}" --method $method --out "$W/two_$method" --distributed > "$W/r0.log" 2>&1
       status=$?; wait; exit $status) || { cat "$W/r0.log" "$W/r1.log"; fail "train $method: two processes failed"; }
      curves_agree "$W/one_$method" "$W/two_$method" 1e-6
      echo "ok: train $method: two processes follow one process's curve"
    done
    # Launched by mpirun (its rank variables), stopped after 40 batches,
    # resumed as one process: the curve of one uninterrupted process.
    rm -rf "$W/mpi_ceda"
    "${MPI[@]}" -np 2 -x MASTER_ADDR=127.0.0.1 -x MASTER_PORT=$(free_port) "$T" train "${A[@]}" --method ceda \
      --out "$W/mpi_ceda" --distributed --stop-after-batches 40 > "$W/stop.log" 2>&1
    status=$?
    [ $status -eq 4 ] || { cat "$W/stop.log"; fail "stopped run: status $status, not 4"; }
    "$T" train --resume --out "$W/mpi_ceda" --quiet --progress off --threads 1 || fail "resume as one process failed"
    curves_agree "$W/one_ceda" "$W/mpi_ceda" 1e-6
    echo "ok: a run stopped as two processes (mpirun) resumes as one"
    # A process killed mid-run: the other ends with a one-line error.
    rm -rf "$W/killed"
    B=(--data moons --model mlp:64,64 --method plain --epochs 50 --synthetic-size 50000,500 --quiet --progress off --threads 1)
    port=$(free_port)
    WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port RANK=0 "$T" train "${B[@]}" --out "$W/killed" --distributed > "$W/k0.log" 2>&1 &
    p0=$!
    WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port RANK=1 "$T" train "${B[@]}" --out "$W/killed" --distributed > "$W/k1.log" 2>&1 &
    p1=$!
    for _ in $(seq 1 300); do [ -f "$W/killed/checkpoint.pt" ] && break; sleep 0.1; done
    [ -f "$W/killed/checkpoint.pt" ] || { kill $p0 $p1; fail "no checkpoint after 30 s"; }
    # The tessera-train process of rank 1 (tessera train execs it).
    kill -9 $p1
    wait $p0
    status=$?
    [ $status -ne 0 ] || fail "rank 0 went on after rank 1 was killed"
    grep -q "tessera train (rank 0 of 2): error: --distributed: lost contact with the other processes" "$W/k0.log" ||
      { cat "$W/k0.log"; fail "no one-line error from rank 0"; }
    "$T" train --resume --out "$W/killed" --epochs 2 --quiet --progress off || fail "resume after the kill failed"
    [ -f "$W/killed/model.onnx" ] || fail "the resumed run wrote no model"
    echo "ok: a killed process ends the run with an error; --resume finishes it"
    # Bad environments are refused in one line.
    out=$(env -u WORLD_SIZE -u OMPI_COMM_WORLD_SIZE -u SLURM_NTASKS "$T" train "${A[@]}" --out "$W/bad" --distributed 2>&1)
    echo "$out" | grep -q "error: --distributed: WORLD_SIZE is not set" || fail "no refusal without WORLD_SIZE: $out"
    out=$(WORLD_SIZE=2 RANK=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=1 "$T" train "${A[@]}" --out "$W/bad" --distributed 2>&1)
    echo "$out" | grep -q "error: --distributed: RANK='2' is not a whole number in \[0, 1\]" || fail "bad RANK accepted: $out"
    echo "ok: bad launch environments are refused"
    ;;
  without_mpi)
    # A tessera built with -DTESSERA_MPI=OFF, launched as two ranks, would
    # have each compute the whole set: it refuses, naming the fix.
    "${MPI[@]}" -np 2 "$T" certify data/models/toy2d.onnx --noise uniform --count 5 > "$W/off.out" 2> "$W/off.err"
    status=$?
    [ $status -ne 0 ] || fail "a build without MPI ran as two ranks"
    grep -q "launched as 2 MPI processes, but this tessera was built without MPI" "$W/off.err" ||
      { cat "$W/off.err"; fail "no refusal message"; }
    echo "ok: a build without MPI refuses two ranks (status $status)"
    ;;
  *) fail "unknown case $case_name" ;;
esac
