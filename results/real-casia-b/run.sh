#!/usr/bin/env bash
# Real CASIA-B: every model family under the CPU budget and commands of results/synth-casia-b/,
# two seeds for gaitset-tiny, gaitpart-tiny and hstl-tiny, and the non-learned GEI floor.
# Usage (from the repository root): bash results/real-casia-b/run.sh WORKDIR PKL_TREE [ITERATIONS]
#   PKL_TREE: CASIA-B as OpenGait's pretreatment writes it (<id>/<type>-<nn>/<view>/<view>.pkl),
#   e.g. the public copy `yaowentao1105/CASIA-B` (see ../shared/real/README.md). Never copy the
#   silhouettes, or any image made from them, into this repository.
# Writes WORKDIR/casia-b-real.h5 (unless it exists), WORKDIR/runs/<model>-s<seed>/ (a run is done
# when it holds the marker file `done`; an interrupted one is resumed), WORKDIR/runs/gei/,
# WORKDIR/times.tsv (wall seconds per command), and copies each results JSON here as
# <model>-s<seed>.json (gei.json for the floor), then renders the tables and plots.
#
# The budget, the same for every model: ITERATIONS (default 400) iterations of P x K = 8 x 4
# clips of the recipe's frame count, on the CPU, official split (74 training subjects, 8,107
# sequences; 50 test subjects, 5,485 sequences). Everything else is the model's published CASIA-B
# recipe, with the learning-rate milestones scaled by ITERATIONS / the recipe's iterations.
# SelfGait spends half the budget on label-free pre-training and half on fine-tuning from it.
# Heavy: about 12 to 25 minutes per training and 5 to 10 per evaluation on 2 cores (measured on
# the synthetic store, results/synth-casia-b/times.tsv); run it under `nice`.
set -euo pipefail
W=${1:?give a work folder}
RAW=${2:?give the OpenGait pkl tree of CASIA-B}
N=${3:-400}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$W/runs"
STORE="$W/casia-b-real.h5"
source "$HERE/../budget.sh"   # COMMON, timed, milestones, train, train_model

registered() { python3 -c "import sys; from gaitbench.models import list_models; sys.exit('$1' not in list_models())"; }

# train NAME ARGS...: gaitbench train ARGS --out runs/NAME, skipped when done, resumed when interrupted
# evaluate NAME: the protocol on runs/NAME (skipped when its results are newer than its checkpoint)
evaluate() {
  local run="$W/runs/$1"
  [ "$run/results-casia-b.json" -nt "$run/checkpoints/last.pt" ] || \
    timed "evaluate $1" gaitbench evaluate "$run" --data "$STORE"
  cp "$run/results-casia-b.json" "$HERE/$1.json"
}

[ -f "$STORE" ] || timed prep gaitbench prep casia-b "$RAW" --layout opengait --out "$STORE"

# The non-learned floor: no training, no checkpoint.
[ -f "$W/runs/gei/results-casia-b.json" ] || \
  timed "evaluate gei" gaitbench evaluate --model gei --data "$STORE" --out "$W/runs/gei"
cp "$W/runs/gei/results-casia-b.json" "$HERE/gei.json"

# MODEL:SEED pairs, in order; MODELS="..." in the environment replaces them (e.g. MODELS="hstl-tiny:0"
# to run one; the tables are rendered from every results JSON here either way).
DEFAULT="gaitset-tiny:0 gaitpart-tiny:0 gaitgl-tiny:0 gaitset-tiny:1 gaitpart-tiny:1 hstl-tiny:0 hstl-tiny:1 gaitbase-tiny:0"
if registered deepgaitv2-tiny; then DEFAULT+=" deepgaitv2-tiny:0"; fi
read -r -a MODELS <<< "${MODELS:-$DEFAULT selfgait-tiny:0}"
for ms in "${MODELS[@]}"; do
  m=${ms%:*}; s=${ms#*:}
  train_model "$m" "$s" "$m-s$s"
  evaluate "$m-s$s"
done

cd "$HERE"
J=(gei.json)
for f in hstl-tiny gaitset-tiny gaitpart-tiny gaitgl-tiny gaitbase-tiny deepgaitv2-tiny selfgait-tiny; do
  for j in "$f"-s*.json; do if [ -f "$j" ]; then J+=("$j"); fi; done
done
gaitbench report "${J[@]}" --out table.md --plots .
cat >> table.md <<EOF

Published rows are full-size models trained with their papers' full budgets (the recipes in
gaitbench/recipes: GaitSet 40,000 iterations of 8 x 16 sequences, GaitPart 120,000 of 8 x 16,
GaitGL 80,000 of 8 x 8, GaitBase 60,000 of 8 x 16, HSTL 90,000 of 8 x 8, on GPUs; DeepGaitV2
has no published CASIA-B figure). The rows of
this benchmark are tiny variants after $N iterations of 8 x 4 sequences on a 2-core CPU, and the
GEI floor has no training at all: the gap to a published row is budget and width, not a failed
reproduction.
EOF
gaitbench report "${J[@]}" --latex --out table.tex
gaitbench report "${J[@]}" --csv --out table.csv
cp "$TIMES" "$HERE/times.tsv"
