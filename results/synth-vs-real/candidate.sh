# Sourced by screen.sh and calibrate.sh once TUNE (KNOB=VALUE,...) and BASE (a work folder) are set:
# where a calibration candidate lives, so that calibrate.sh reuses the store screen.sh rendered.
#   LABEL  the knobs, e.g. cover1.75-garment2
#   W      BASE/LABEL (the store, runs/, the screen's tables)
#   STORE  W/synth-casia-b.h5
#   OUT    results/synth-vs-real/calibration/LABEL (what is committed)
# The knobs are checked (SynthSpec) before anything is made: an unknown one is one error line.
LABEL=$(python3 -c "import sys
from gaitbench.data.synth import SynthSpec, parse_tune
from gaitbench.errors import GaitbenchError
try:
    tune = SynthSpec(tune=parse_tune(sys.argv[1])).tune
except GaitbenchError as exc:
    sys.exit(f'error: {exc}')
print('-'.join(f'{k}{v:g}' for k, v in tune))" "$TUNE")
W="$BASE/$LABEL"
STORE="$W/synth-casia-b.h5"
OUT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/calibration/$LABEL"
