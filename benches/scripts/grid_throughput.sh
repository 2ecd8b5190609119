#!/usr/bin/env bash
# Grid throughput on this machine: the survey slice in benches/grids/ with
# N workers × (cores / N) threads, alternating the layouts, twice. Prints the
# training time `latentdyn ablate` reports for each. Needs the study's files
# (LATENTDYN_STUDY_DATASETS) and a release build (cargo xtask setup; cargo
# build --release -p latentdyn). Run it on an otherwise idle machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
exe=${LATENTDYN:-$root/target/release/latentdyn}
grid=$root/benches/grids/throughput-slice.toml
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for rep in 1 2; do
  for workers in 2 1; do
    line=$("$exe" ablate --grid "$grid" --out "$out/w$workers-r$rep" --workers "$workers" \
      --datasets "$root/datasets" \
      | grep "cells, .* failed, in")
    echo "workers=$workers round=$rep: $line"
  done
done
