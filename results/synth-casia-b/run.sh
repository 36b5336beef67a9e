#!/usr/bin/env bash
# The synthetic CASIA-B benchmark: every model family, one CPU budget, the CASIA-B protocol.
# Usage (from the repository root): bash results/synth-casia-b/run.sh WORKDIR [ITERATIONS]
# Writes WORKDIR/synth-casia-b.h5 (unless it exists), WORKDIR/runs/<model>/, WORKDIR/times.tsv
# (wall seconds per command; a rerun skips the runs and evaluations already done), and copies each results JSON to results/synth-casia-b/<model>.json.
#
# The budget, the same for every model: ITERATIONS (default 400) iterations of P x K = 8 x 4
# clips of the recipe's frame count (30), on the CPU. Everything else is the model's published
# CASIA-B recipe (optimizer, learning rate, weight decay, losses, sampler), with the learning-rate
# milestones scaled by ITERATIONS / the recipe's iterations. SelfGait spends half the budget on
# label-free pre-training (two-view pretext) and half on fine-tuning from it.
# MODELS="m1 m2 ..." in the environment trains only those (default: all seven); the tables are
# drawn from every model's results JSON here, rerun or not. A run folder holding the marker
# `done` is not retrained; one interrupted is resumed from its checkpoint.
set -euo pipefail
W=${1:?give a work folder}
N=${2:-400}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$W/runs"
STORE="$W/synth-casia-b.h5"
source "$HERE/../budget.sh"   # COMMON, timed, milestones, train, train_model

[ -f "$STORE" ] || timed synth gaitbench synth "$STORE"   # the defaults: 124 subjects, 11 views, 10 sequences

# evaluate NAME: the CASIA-B protocol on WORKDIR/runs/NAME (skipped when newer than its checkpoint)
evaluate() {
  local run="$W/runs/$1"
  [ "$run/results-casia-b.json" -nt "$run/checkpoints/last.pt" ] || \
    timed "evaluate $1" gaitbench evaluate "$run" --data "$STORE"
}

read -r -a RUNS <<< "${MODELS:-hstl-tiny gaitset-tiny gaitpart-tiny gaitgl-tiny gaitbase-tiny deepgaitv2-tiny selfgait-tiny}"
for m in "${RUNS[@]}"; do
  train_model "$m" 0 "$m"   # the recipes' seed
  evaluate "$m"
  cp "$W/runs/$m/results-casia-b.json" "$HERE/$m.json"
  if [ "$m" = selfgait-tiny ]; then
    # Control for SelfGait: the same fine-tuning (recipe, iterations, milestones) from a random
    # initialisation instead of the pre-trained backbone. Not part of the tables below.
    c=selfgait-tiny-scratch
    H=$((N / 2))
    train "$c" "$m" --stage finetune -n "$H" --seed 0 "${COMMON[@]}" \
      --set "scheduler.milestones=$(milestones "$m" "$H")"
    evaluate "$c"
    mkdir -p "$HERE/control"
    cp "$W/runs/$c/results-casia-b.json" "$HERE/control/$c.json"
  fi
done
cd "$HERE"
J=(hstl-tiny.json gaitset-tiny.json gaitpart-tiny.json gaitgl-tiny.json gaitbase-tiny.json deepgaitv2-tiny.json selfgait-tiny.json)
gaitbench report "${J[@]}" --out table.md --plots .
gaitbench report "${J[@]}" --latex --out table.tex
gaitbench report "${J[@]}" --csv --out table.csv
cp "$TIMES" "$HERE/times.tsv"
