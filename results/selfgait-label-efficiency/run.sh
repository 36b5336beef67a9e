#!/usr/bin/env bash
# SelfGait label efficiency on real CASIA-B: does label-free pre-training save labels?
# Usage (from the repository root): bash results/selfgait-label-efficiency/run.sh WORKDIR [STORE]
#   STORE: the full CASIA-B store (default WORKDIR/casia-b-real.h5), made with
#   `gaitbench prep casia-b PKL_TREE --layout opengait --out STORE` from OpenGait's pkl tree (see
#   ../shared/real/README.md). Never copy silhouettes, or images made from them, into the repo.
#
# For each seed: label-free pre-training on the 74 training subjects (official split, 8,107
# sequences; no label is read), then fine-tuning with FRACTIONS of the training subjects labelled
# (a seeded subset: the same subjects for both arms of a seed), from the pre-trained weights
# (continuing pre-training's SGD, as the release) and from scratch (a fresh SGD), at the same
# fine-tuning budget; each fine-tuned run is evaluated on the standard protocol (50 test
# subjects, 5,485 sequences, every frame). Everything else is the released recipe
# (gaitbench/recipes/selfgait_casia-b.yaml): SGD lr 0.03, momentum 0.9, weight decay 4e-4, batch-
# all triplet loss with margin 0.2, per-frame flips, 30-frame clips.
#
# Budget (environment variables; defaults are the proposed study):
#   MODEL=selfgait-tiny PRE_ITERS=500 FT_ITERS=1200 P=4 K=8 FRAMES=30 SEEDS="0 1"
#   (FT_ITERS chosen by the pilot in README.md: at 200 the from-scratch arm did not rise)
#   FRACTIONS="0.1 0.25 0.5 1.0" ARMS="pre scratch" WORKERS=1 OUT=<this folder>
#   (SEEDS, FRACTIONS and ARMS select a part of the study, so that parts can run as separate
#   processes on one WORKDIR; never two processes on the same run. The table, report and
#   comparisons are of the part run: run once more with the defaults to write the whole study's.)
#   P x K clips per iteration in both stages (P <= 7: 10 % of 74 subjects labels 7).
#
# Resumable: a run is done when it holds the marker file `done`, an interrupted one is resumed,
# an evaluation is skipped when its results are newer than the run's checkpoint. Wall seconds per
# command go to WORKDIR/times.tsv. Runs are WORKDIR/runs/<configuration>/s<seed> (configurations
# pretrain, ft-pre-<fraction>, ft-scratch-<fraction>); their results JSON, stage records, metrics
# logs and configs are copied to OUT/runs/ in the same layout. OUT then gets the label-efficiency
# table (table.md, mean +- std over seeds), its JSON and plot, the report of every run
# (report.md, figures/), and compare-<fraction>.json: `gaitbench compare` of the from-scratch and
# the pre-trained seeds of each fraction (pre-trained minus scratch, paired bootstrap over probes
# and seeds, 95 % interval, p-value).
set -euo pipefail
W=$(mkdir -p "${1:?give a work folder}" && cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
STORE=$(realpath "${2:-$W/casia-b-real.h5}")
MODEL=${MODEL:-selfgait-tiny}
PRE_ITERS=${PRE_ITERS:-500}
FT_ITERS=${FT_ITERS:-1200}
P=${P:-4}
K=${K:-8}
FRAMES=${FRAMES:-30}
SEEDS=${SEEDS:-"0 1"}
FRACTIONS=${FRACTIONS:-"0.1 0.25 0.5 1.0"}
ARMS=${ARMS:-"pre scratch"}
WORKERS=${WORKERS:-1}
OUT=$(mkdir -p "${OUT:-$HERE}" && cd "${OUT:-$HERE}" && pwd)
[ -f "$STORE" ] || { echo "store $STORE not found: make it with gaitbench prep (see the header)" >&2; exit 2; }
for arm in $ARMS; do
  case $arm in pre|scratch) ;; *) echo "ARMS: unknown arm '$arm': give pre, scratch or both" >&2; exit 2;; esac
done

# Runs live under WORKDIR/runs and are named relative to WORKDIR, so the stage records
# (selfgait.json's init) hold no absolute path of this machine.
cd "$W"
mkdir -p runs
TIMES="$W/times.tsv"; touch "$TIMES"
source "$HERE/../timing.sh"   # timed
COMMON=(--data "$STORE" --set data.ids_per_batch="$P" --set data.seqs_per_id="$K"
        --set data.frames="$FRAMES" --set data.workers="$WORKERS" --set train.log_every=10
        --set train.save_every=50)

# train NAME ARGS...: gaitbench train ARGS --out runs/NAME, skipped when done, resumed when interrupted
# (NAME is <configuration>/s<seed>)
train() {
  local name=$1; shift
  local run="runs/$name" res=()
  [ -f "$run/done" ] && return 0
  [ -f "$run/checkpoints/last.pt" ] && res=(--resume)
  timed "train $name" gaitbench train "$@" --out "$run" --name "${name/\//-}" "${res[@]}"
  touch "$run/done"
}

# evaluate NAME: the standard protocol on runs/NAME (skipped when already newer than its checkpoint)
evaluate() {
  local run="runs/$1"
  [ "$run/results-casia-b.json" -nt "$run/checkpoints/last.pt" ] || \
    timed "evaluate $1" gaitbench evaluate "$run" --data "$STORE" --batch-size 64
}

# keep NAME: copy the run's small records to OUT/runs/NAME (no checkpoints, no embeddings)
keep() {
  local file
  mkdir -p "$OUT/runs/$1"
  for file in results-casia-b.json selfgait.json metrics.jsonl config.yaml; do
    [ -f "runs/$1/$file" ] && cp "runs/$1/$file" "$OUT/runs/$1/$file"
  done
  return 0
}

FINETUNED=()
for s in $SEEDS; do
  pre="pretrain/s$s"
  train "$pre" "$MODEL" --stage pretrain -n "$PRE_ITERS" --seed "$s" "${COMMON[@]}"
  keep "$pre"
  for f in $FRACTIONS; do
    for arm in $ARMS; do
      name="ft-$arm-$f/s$s"
      init=(); [ "$arm" = pre ] && init=(--init "runs/$pre")
      train "$name" "$MODEL" --stage finetune "${init[@]}" --labels "$f" -n "$FT_ITERS" \
        --seed "$s" "${COMMON[@]}"
      evaluate "$name"
      keep "$name"
      FINETUNED+=("$OUT/runs/$name")
    done
  done
done

gaitbench report --label-efficiency "${FINETUNED[@]}" --plots "$OUT" --out "$OUT/table.md"
gaitbench report "$OUT/runs" --plots "$OUT/figures" --out "$OUT/report.md"
[ "$ARMS" = "pre scratch" ] && for f in $FRACTIONS; do
  gaitbench compare "$OUT/runs/ft-scratch-$f" "$OUT/runs/ft-pre-$f" --json > "$OUT/compare-$f.json"
done
cp "$TIMES" "$OUT/times.tsv"
echo "study written to $OUT"
