#!/usr/bin/env bash
# The SelfGait label-efficiency benchmark on a small synthetic store, CPU only.
# Usage: bash results/selfgait-label-efficiency/run.sh WORKDIR   (from the repository root)
# Writes WORKDIR/le40.h5, WORKDIR/runs/*, and WORKDIR/times.tsv (wall seconds per command).
set -euo pipefail
W=${1:?give a work folder}
mkdir -p "$W/runs"
TIMES="$W/times.tsv"; : > "$TIMES"
timed() { local name=$1; shift; local t0=$SECONDS; "$@"; echo -e "$name\t$((SECONDS - t0))" >> "$TIMES"; }
export OMP_NUM_THREADS=2
STORE="$W/synth24.h5"
COMMON=(--data "$STORE" --set data.workers=0 --set data.frames=8 --set train.log_every=10)
FT=(--set data.ids_per_batch=2 --set data.seqs_per_id=4 --set optimizer.lr=0.001)

[ -f "$STORE" ] || timed synth gaitbench synth "$STORE" --subjects 24 --views 0:180:60 --frames 20-30 --workers 2
timed pretrain gaitbench train selfgait-tiny --stage pretrain -n 60 "${COMMON[@]}" \
  --set data.ids_per_batch=2 --set data.seqs_per_id=4 --out "$W/runs/pretrain"
for f in 0.1 0.25 1.0; do
  timed "finetune-pre-$f" gaitbench train selfgait-tiny --stage finetune --init "$W/runs/pretrain" --labels $f \
    -n 40 "${COMMON[@]}" "${FT[@]}" --out "$W/runs/ft-pre-$f"
  timed "finetune-scratch-$f" gaitbench train selfgait-tiny --stage finetune --labels $f \
    -n 40 "${COMMON[@]}" "${FT[@]}" --out "$W/runs/ft-scratch-$f"
done
for r in "$W"/runs/ft-*; do
  timed "evaluate-$(basename "$r")" gaitbench evaluate "$r" --data "$STORE"
done
