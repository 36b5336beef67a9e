"""Trained on one store, tested on another: rank-1 NM / BG / CL with the fingerprints of both.

    python3 results/synth-vs-real/cross_domain.py LABEL=RESULTS.json ... [--out FILE.md]

Each results file is what `gaitbench evaluate RUN --data STORE --out DIR` writes: its `data`
block names the store it was tested on, its `training` block the store the run was trained on
(`data_fingerprint`), so a model trained on a synthetic store and tested on real CASIA-B (or the
reverse) says so itself. The table lists, per file: the model, the seed, both fingerprints, the
test store's kind, and the protocol's figures (identical views excluded). Reads results JSON
only; a second.

Why: if one model beats another by more on synthetic walkers than on real CASIA-B, the excess
is either in what the synthetic test set offers (a model trained on real data would also find
it there) or in what training on the walkers teaches (it would then carry over to a real test
set); the four train / test pairings of each model tell the two apart.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gaitbench.errors import GaitbenchError
from gaitbench.evaluation.results import load_results
from gaitbench.reporting.synth_vs_real import CONDITIONS, table_script


def row(spec: str) -> dict[str, str]:
    """``LABEL=results.json`` -> one table row."""
    label, sep, file = spec.partition("=")
    if not sep or not label or not file:
        raise GaitbenchError(f"{spec!r} is not LABEL=RESULTS.json")
    res = load_results(file)  # a missing or unreadable file: one line naming it
    try:
        figures = " / ".join(f"{res['metrics'][c]['rank1']:.1f}" for c in CONDITIONS)
        return {
            "run": label,
            "model": res["model"],
            "seed": str(res["training"]["seed"]),
            "trained on": res["training"]["data_fingerprint"],
            "tested on": f"{res['data']['fingerprint']} ({res['data']['kind']})",
            "NM / BG / CL": figures,
        }
    except (KeyError, TypeError) as exc:
        raise GaitbenchError(
            f"{file}: not a CASIA-B results file of a trained run ({exc}); "
            "pass what `gaitbench evaluate RUN --data STORE --out DIR` wrote"
        ) from None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", metavar="LABEL=RESULTS.json")
    ap.add_argument("--out", type=Path, help="write the markdown table here (else stdout)")
    args = ap.parse_args(argv)
    return table_script(lambda: table([row(spec) for spec in args.runs]), args.out)


def table(rows: list[dict[str, str]]) -> str:
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r[h] for h in head) + " |" for r in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
