#!/usr/bin/env bash
# How far does a CPU budget go on real CASIA-B? gaitset-tiny (the fastest model), rank-1 NM / BG /
# CL after 200, 400, 800, 1,600 and 3,200 iterations, as ONE training run whose checkpoints at
# those iterations are each evaluated.
# Usage (from the repository root): bash results/real-casia-b/learning_curve.sh WORKDIR [PKL_TREE]
#   WORKDIR/casia-b-real.h5 is the store results/real-casia-b/run.sh makes; without it, PKL_TREE
#   (the OpenGait pkl tree of CASIA-B) is prepped into it.
# Writes WORKDIR/runs/gaitset-tiny-curve-s0/ (resumed when interrupted), one evaluation folder
# per point (curve-<iteration>/), WORKDIR/times.tsv lines, copies each results JSON here as
# learning-curve/gaitset-tiny-<iteration>.json and draws learning_curve.png / .pdf.
#
# Budget per iteration as run.sh: P x K = 8 x 4 clips of 30 frames, CPU, official split, seed 0.
# The schedule is the recipe's (GaitSet, OpenGait configs/gaitset/gaitset.yaml: SGD lr 0.1,
# milestones 10k/20k/30k of 40k) scaled to the whole run's 3,200 iterations, i.e. the learning
# rate drops tenfold at 800, 1,600 and 2,400. A point is therefore that run's checkpoint, not a
# separate run of that length: the 400-iteration point has not had run.sh's decays at 100/200/300.
# About 1.5 to 2 hours of training and 5 evaluations of 5 to 10 minutes on 2 cores; use `nice`.
set -euo pipefail
W=${1:?give a work folder}
RAW=${2:-}
HERE=$(cd "$(dirname "$0")" && pwd)
# The points, ascending, each a multiple of the first (the checkpoint interval); POINTS="..."
# in the environment replaces them (e.g. POINTS="2 4" for a smoke run).
read -r -a POINTS <<< "${POINTS:-200 400 800 1600 3200}"
N=${POINTS[-1]}
for it in "${POINTS[@]}"; do
  (( it % POINTS[0] == 0 )) || { echo "point $it is not a multiple of ${POINTS[0]}" >&2; exit 1; }
done
STORE="$W/casia-b-real.h5"
RUN="$W/runs/gaitset-tiny-curve-s0"
mkdir -p "$W/runs" "$HERE/learning-curve"
source "$HERE/../budget.sh"   # COMMON, timed, milestones

if [ ! -f "$STORE" ]; then
  [ -n "$RAW" ] || { echo "no store $STORE: pass the pkl tree as the second argument" >&2; exit 1; }
  timed prep gaitbench prep casia-b "$RAW" --layout opengait --out "$STORE"
fi

MILESTONES=$(milestones gaitset-tiny "$N")

if [ ! -f "$RUN/done" ]; then
  res=(); if [ -f "$RUN/checkpoints/last.pt" ]; then res=(--resume); fi
  # A checkpoint every 200 iterations, all kept (3,200 / 200 = 16): the points are among them.
  timed "train gaitset-tiny-curve-s0" gaitbench train gaitset-tiny -n "$N" --seed 0 "${COMMON[@]}" \
    --set train.save_every="${POINTS[0]}" --set train.keep_last=$((N / POINTS[0])) \
    --set "scheduler.milestones=$MILESTONES" --out "$RUN" "${res[@]}"
  touch "$RUN/done"
fi

for it in "${POINTS[@]}"; do
  ckpt="$RUN/checkpoints/iter-$(printf %07d "$it").pt"
  out="$RUN/curve-$it"
  [ "$out/results-casia-b.json" -nt "$ckpt" ] || \
    timed "evaluate gaitset-tiny-curve-s0 @$it" gaitbench evaluate "$ckpt" --data "$STORE" --out "$out"
  cp "$out/results-casia-b.json" "$HERE/learning-curve/gaitset-tiny-$it.json"
done

FLOOR=(); if [ -f "$HERE/gei.json" ]; then FLOOR=(--floor "$HERE/gei.json"); fi
python3 "$HERE/plot_learning_curve.py" "$HERE"/learning-curve/gaitset-tiny-*.json "${FLOOR[@]}" \
  --out "$HERE/learning_curve"
