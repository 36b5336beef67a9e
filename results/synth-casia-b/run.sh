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
set -euo pipefail
W=${1:?give a work folder}
N=${2:-400}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$W/runs"
STORE="$W/synth-casia-b.h5"
source "$HERE/../budget.sh"   # COMMON, timed, milestones

[ -f "$STORE" ] || timed synth gaitbench synth "$STORE"   # the defaults: 124 subjects, 11 views, 10 sequences

for m in hstl-tiny gaitset-tiny gaitpart-tiny gaitgl-tiny gaitbase-tiny deepgaitv2-tiny; do
  [ -f "$W/runs/$m/checkpoints/last.pt" ] || timed "train $m" gaitbench train "$m" -n "$N" "${COMMON[@]}" \
    --set "scheduler.milestones=$(milestones "$m" "$N")" --out "$W/runs/$m"
  [ "$W/runs/$m/results-casia-b.json" -nt "$W/runs/$m/checkpoints/last.pt" ] || \
    timed "evaluate $m" gaitbench evaluate "$W/runs/$m" --data "$STORE"
  cp "$W/runs/$m/results-casia-b.json" "$HERE/$m.json"
done

m=selfgait-tiny
H=$((N / 2))
[ -f "$W/runs/$m-pretrain/checkpoints/last.pt" ] || timed "pretrain $m" gaitbench train "$m" --stage pretrain \
  -n "$H" "${COMMON[@]}" --out "$W/runs/$m-pretrain"
[ -f "$W/runs/$m/checkpoints/last.pt" ] || timed "finetune $m" gaitbench train "$m" --stage finetune \
  --init "$W/runs/$m-pretrain" -n "$H" "${COMMON[@]}" --set "scheduler.milestones=$(milestones "$m" "$H")" \
  --out "$W/runs/$m"
[ "$W/runs/$m/results-casia-b.json" -nt "$W/runs/$m/checkpoints/last.pt" ] || \
  timed "evaluate $m" gaitbench evaluate "$W/runs/$m" --data "$STORE"
cp "$W/runs/$m/results-casia-b.json" "$HERE/$m.json"

# Control for SelfGait: the same fine-tuning (recipe, iterations, milestones) from a random
# initialisation instead of the pre-trained backbone. Not part of the tables below.
c=selfgait-tiny-scratch
[ -f "$W/runs/$c/checkpoints/last.pt" ] || timed "finetune $c" gaitbench train "$m" --stage finetune \
  -n "$H" "${COMMON[@]}" --set "scheduler.milestones=$(milestones "$m" "$H")" --out "$W/runs/$c"
[ "$W/runs/$c/results-casia-b.json" -nt "$W/runs/$c/checkpoints/last.pt" ] || \
  timed "evaluate $c" gaitbench evaluate "$W/runs/$c" --data "$STORE"
mkdir -p "$HERE/control"
cp "$W/runs/$c/results-casia-b.json" "$HERE/control/$c.json"

cd "$HERE"
J=(hstl-tiny.json gaitset-tiny.json gaitpart-tiny.json gaitgl-tiny.json gaitbase-tiny.json deepgaitv2-tiny.json selfgait-tiny.json)
gaitbench report "${J[@]}" --out table.md --plots .
gaitbench report "${J[@]}" --latex --out table.tex
gaitbench report "${J[@]}" --csv --out table.csv
cp "$TIMES" "$HERE/times.tsv"
