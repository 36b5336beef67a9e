#!/usr/bin/env bash
# Screening a calibration candidate without training anything: render the default synthetic store
# with some knobs replaced (`gaitbench synth --tune`), then the two training-free measurements
# that the real store has too: GEI + PCA + LDA (gei_lda.py; the real figures are in gei_lda.md)
# and GEI nearest neighbour in the probe's own view and across views (gei_views.py; gei_views.md).
# A candidate worth the 2.5 hours of calibrate.sh closes the GEI+PCA+LDA gap at 300-600
# components and keeps the floor (other views) near real CASIA-B's 23.4 / 16.2 / 6.6.
# Usage (from the repository root):
#   TUNE=garment=2 bash results/synth-vs-real/screen.sh WORKDIR
# Writes WORKDIR/<label>/synth-casia-b.h5 (the store calibrate.sh then reuses; label = the knobs,
# e.g. garment2) and results/synth-vs-real/calibration/<label>/screen.md (both tables, the
# commands, times.tsv). Resumable: an existing store is not rendered again.
set -euo pipefail
: "${TUNE:?set TUNE=KNOB=VALUE,... (e.g. TUNE=garment=2): the candidate to screen}"
BASE=${1:?give a work folder}
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/candidate.sh"   # LABEL, W, STORE, OUT
mkdir -p "$W" "$OUT"
TIMES="$OUT/times.tsv"; touch "$TIMES"
source "$HERE/../timing.sh"   # timed

[ -f "$STORE" ] || timed synth gaitbench synth "$STORE" --tune "$TUNE"
timed gei_lda python3 "$HERE/gei_lda.py" "$STORE" --pca 150,300,600 --out "$W/gei_lda.md"
timed gei_views python3 "$HERE/gei_views.py" "$STORE" --out "$W/gei_views.md"
{
  echo "# Screen of the candidate $TUNE (generator knobs over the standard level)"
  echo
  python3 -c "import json, sys; from gaitbench.data.store import Store, provenance
s = Store(sys.argv[1]); p = provenance(s)
print(f'Store: {p[\"kind\"]}, {p[\"fingerprint\"]}, generator {json.dumps(p[\"generator\"])}; no training, CPU.')" "$STORE"
  echo
  echo "GEI + PCA + LDA (\`gei_lda.py\`; real CASIA-B's rows: \`../../gei_lda.md\`):"
  echo
  cat "$W/gei_lda.md"
  echo
  echo "GEI nearest neighbour, same view and other views (\`gei_views.py\`; real: \`../../gei_views.md\`):"
  echo
  cat "$W/gei_views.md"
  echo
  echo "Made by \`TUNE=$TUNE bash results/synth-vs-real/screen.sh WORKDIR\`; wall seconds in \`times.tsv\`."
} > "$OUT/screen.md"
echo "screen written to $OUT/screen.md"
