# Sourced by the results/*/ scripts once TIMES (a TSV file) is set:
#   timed NAME CMD...   runs CMD and appends "NAME<TAB>wall seconds" to $TIMES
timed() { local name=$1; shift; local t0=$SECONDS; "$@"; echo -e "$name\t$((SECONDS - t0))" >> "$TIMES"; }
