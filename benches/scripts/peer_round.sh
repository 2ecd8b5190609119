#!/usr/bin/env bash
# Our step and epoch benches against the PyTorch reference, alternated twice
# in one session on this machine, then the ratio tables:
#   ours train_step, PyTorch step + valid, ours epoch,
#   ours train_step, PyTorch step + valid  ->  peer_ratios.py
# Usage: benches/scripts/peer_round.sh OUTDIR
# Needs: a libtorch (cargo xtask setup); a Python with torch and torchdyn
# for the reference (PEER_PYTHON, default python3); the reference script
# (PEER_BENCH, default ../shared/reference/peer_step_bench.py); the arneodo
# dataset in datasets/ (any `latentdyn train --data arneodo` makes it).
# Threads: LATENTDYN_BENCH_THREADS (default 2) on both sides. Run it on an
# otherwise idle machine: every ratio is taken within this one session.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: peer_round.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
py=${PEER_PYTHON:-python3}
peer=${PEER_BENCH:-$root/../shared/reference/peer_step_bench.py}
[ -f "$peer" ] || { echo "peer_round: no reference script at $peer (set PEER_BENCH)" >&2; exit 1; }
peer=$(realpath "$peer")
threads=${LATENTDYN_BENCH_THREADS:-2}
export LATENTDYN_BENCH_THREADS=$threads
# The batch both sides time: the arneodo dataset's first 650 trials.
npz=$root/datasets/Arneodo10_2000S_70T_35P_0seed_poisson.npz
[ -f "$npz" ] || { echo "peer_round: no $npz (run latentdyn train --data arneodo once)" >&2; exit 1; }
cd "$root"
# Runs one step of the session into $out/$1, or shows why it failed.
step() {
  local file=$1
  shift
  "$@" >"$out/$file" 2>&1 || { echo "peer_round: $* failed:" >&2; tail -20 "$out/$file" >&2; exit 1; }
}
# Build first, so that compilation is not inside the timed session.
step build.txt cargo xtask bench --bench train_step --bench epoch --no-run
for round in 1 2; do
  echo "round $round: ours, train step ($(date +%T))"
  step "ours_step_$round.txt" cargo xtask bench --bench train_step
  echo "round $round: PyTorch, step and validation ($(date +%T))"
  step "peer_$round.txt" "$py" "$peer" --threads "$threads" --steps 20 --warmup 3 \
    --npz "$npz" --valid --json "$out/peer_$round.json"
  if [ "$round" = 1 ]; then
    echo "round $round: ours, epoch ($(date +%T))"
    step "ours_epoch_$round.txt" cargo xtask bench --bench epoch
  fi
done
python3 "$root/benches/scripts/peer_ratios.py" "$out"
