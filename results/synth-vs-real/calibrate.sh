#!/usr/bin/env bash
# Calibrating the synthetic walkers against real CASIA-B, one candidate at a time: the default
# synthetic store with some of the generator's knobs replaced (`gaitbench synth --tune`), the GEI
# floor and the tiny models trained on it under the benchmarks' budget (results/budget.sh: the
# same as results/real-casia-b/ and results/synth-casia-b/), and the side-by-side table against
# the real runs of the same models (results/real-casia-b/<model>-s<seed>.json, every seed there;
# a model's seeds are averaged on each side).
# Usage (from the repository root):
#   TUNE=within=1.3,noise=1.5 bash results/synth-vs-real/calibrate.sh WORKDIR [ITERATIONS]
#   TUNE    the candidate: KNOB=VALUE,... over the standard level (`gaitbench synth --help`
#           lists every knob with its standard value; gaitbench/data/synth_body.py describes them)
#   MODELS  "model:seed ..." to train (default: the seven tiny models, seed 0). A cheap screen of a
#           candidate: MODELS="gaitset-tiny:0 hstl-tiny:0" (about 40 minutes on 2 idle cores);
#           the whole set is about 2.5 hours.
#   SYNTH_ARGS  more options for `gaitbench synth`, for a smoke run of this script only (e.g.
#           "--subjects 8 --views 0,90 --frames 20-30"); such a store is not CASIA-B-shaped and
#           its table says nothing about the calibration.
# Writes WORKDIR/<label>/ (the store, runs/, times.tsv; label = the knobs, e.g.
# noise1.5-within1.3) and results/synth-vs-real/calibration/<label>/: every results JSON
# (`synthetic/`), table.md, table.csv, agreement.csv and times.tsv. Resumable: a finished run
# (marker `done`) or evaluation is not redone; an interrupted training is resumed.
set -euo pipefail
: "${TUNE:?set TUNE=KNOB=VALUE,... (e.g. TUNE=within=1.3): the candidate to calibrate}"
BASE=${1:?give a work folder}
N=${2:-400}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
source "$HERE/candidate.sh"   # LABEL, W, STORE, OUT
mkdir -p "$W/runs" "$OUT/synthetic"
source "$HERE/../budget.sh"   # COMMON, timed, milestones, train, train_model

evaluate() {
  local run="$W/runs/$1"
  [ "$run/results-casia-b.json" -nt "$run/checkpoints/last.pt" ] || \
    timed "evaluate $1" gaitbench evaluate "$run" --data "$STORE"
  cp "$run/results-casia-b.json" "$OUT/synthetic/$1.json"
}

# The default store's every other setting (124 subjects, 11 views, 60-100 frames, seed 0).
[ -f "$STORE" ] || timed synth gaitbench synth "$STORE" --tune "$TUNE" ${SYNTH_ARGS:-}
[ -f "$W/runs/gei/results-casia-b.json" ] || \
  timed "evaluate gei" gaitbench evaluate --model gei --data "$STORE" --out "$W/runs/gei"
cp "$W/runs/gei/results-casia-b.json" "$OUT/synthetic/gei.json"

DEFAULT="gaitset-tiny:0 hstl-tiny:0 gaitgl-tiny:0 gaitpart-tiny:0 gaitbase-tiny:0 deepgaitv2-tiny:0 selfgait-tiny:0"
read -r -a RUNS <<< "${MODELS:-$DEFAULT}"
for ms in "${RUNS[@]}"; do
  m=${ms%:*}; s=${ms#*:}
  train_model "$m" "$s" "$m-s$s"
  evaluate "$m-s$s"
done

# Every real seed of each model trained here: compare.py takes the mean over a model's seeds on
# each side (gaitset-tiny's two real seeds differ by 7.7 points on NM at this budget).
REAL=("$ROOT/results/real-casia-b/gei.json")
for j in "$OUT"/synthetic/*-s0.json; do
  m=$(basename "$j" -s0.json)
  for r in "$ROOT/results/real-casia-b/$m"-s[0-9]*.json; do
    if [ -f "$r" ]; then REAL+=("$r"); fi
  done
done
python3 "$HERE/compare.py" --synthetic "$OUT"/synthetic/*.json --real "${REAL[@]}" --out "$OUT"
cp "$TIMES" "$OUT/times.tsv"
