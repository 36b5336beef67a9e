# The CPU budget that results/real-casia-b/ and results/synth-casia-b/ share, in one place.
# Sourced by their scripts once W (the work folder), STORE and N (iterations) are set:
#   COMMON                  the options every training of those benchmarks takes: P x K = 8 x 4
#                           clips, one loader worker, a checkpoint at the last iteration, a log
#                           line every 20, fp32 without channels-last (the settings of the first
#                           runs, kept so that every row is trained alike)
#   timed NAME CMD...       runs CMD and appends "NAME<TAB>wall seconds" to $W/times.tsv
#   milestones MODEL ITERS  the model's CASIA-B recipe milestones scaled by ITERS / the recipe's
#                           iterations, as a YAML list for --set scheduler.milestones=...
#   train NAME ARGS...      `gaitbench train ARGS --out $W/runs/NAME`, timed; skipped when the run
#                           holds the marker `done`, resumed when it has a checkpoint but no marker
#   train_model MODEL SEED NAME  MODEL under this budget with SEED as runs/NAME: N iterations,
#                           the recipe's milestones scaled; selfgait-tiny: N/2 label-free
#                           pre-training (runs/NAME with MODEL-pretrain for MODEL), then N/2
#                           fine-tuning from it
TIMES="$W/times.tsv"
mkdir -p "$W"; touch "$TIMES"
COMMON=(--data "$STORE" --set data.ids_per_batch=8 --set data.seqs_per_id=4 --set data.workers=1
        --set train.save_every="$N" --set train.log_every=20
        --precision fp32 --set train.channels_last=false)

source "$(dirname "${BASH_SOURCE[0]}")/timing.sh"   # timed

milestones() {
  python3 - "$1" "$2" <<'PY'
import sys
from gaitbench.training.config import find_recipe, load_recipe
r = load_recipe(find_recipe(sys.argv[1], "casia-b"))
n = int(sys.argv[2])
print("[" + ",".join(str(max(1, round(m * n / r.train.iterations))) for m in r.scheduler.milestones) + "]")
PY
}

train() {
  local name=$1; shift
  local run="$W/runs/$name" res=()
  [ -f "$run/done" ] && return 0
  [ -f "$run/checkpoints/last.pt" ] && res=(--resume)
  timed "train $name" gaitbench train "$@" --out "$run" "${res[@]}"
  touch "$run/done"
}

train_model() {
  local m=$1 s=$2 name=$3
  if [ "$m" = selfgait-tiny ]; then
    local h=$((N / 2)) pre=${name/$m/$m-pretrain}
    train "$pre" "$m" --stage pretrain -n "$h" --seed "$s" "${COMMON[@]}"
    train "$name" "$m" --stage finetune --init "$W/runs/$pre" -n "$h" --seed "$s" "${COMMON[@]}" \
      --set "scheduler.milestones=$(milestones "$m" "$h")"
  else
    train "$name" "$m" -n "$N" --seed "$s" "${COMMON[@]}" \
      --set "scheduler.milestones=$(milestones "$m" "$N")"
  fi
}
