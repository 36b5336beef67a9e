"""Every calibration candidate in one table: how far each lies from real CASIA-B.

    python3 results/synth-vs-real/candidates.py [--out candidates.md]

Reads every ``calibration/<label>/synthetic/`` folder (what `calibrate.sh` and `screen.sh` write;
the label is the knobs tuned over version 1's standard level) and compares it, as `compare.py`
does, with every real run in ``../real-casia-b/`` (a model's seeds averaged on each side). One row
per candidate: its store's fingerprint; how many of its NM / BG / CL figures lie within 5 points
of real and the largest miss; synthetic - real for the floor and each model trained on it (mean
over its seeds, the seed count in brackets); the spread hstl-tiny - gaitset-tiny on NM; and
Kendall's tau of the trained models' order on the mean over conditions (two models or more).
Sorted by how many models were trained on it (a screen trains one or two), then by the share of
figures within, then by the largest miss. Reads results JSON only, in a
second; a folder of results that cannot be compared (another budget, another protocol) is one
error line naming it.

The target (issue 15): the floor and all seven tiny models within 5 points on every condition,
tau at least 0.6. The per-candidate `table.md` has the figures themselves.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pandas as pd

from gaitbench.errors import GaitbenchError
from gaitbench.reporting.synth_vs_real import (
    CONDITIONS,
    FLOORS,
    MEAN,
    TOLERANCE,
    load,
    rank_agreement,
    side_by_side,
    table_script,
)

HERE = Path(__file__).resolve().parent
MODELS = (  # column order: the floor, the two models every candidate screens, then the rest
    "gei",
    "gaitset-tiny",
    "hstl-tiny",
    "gaitgl-tiny",
    "gaitpart-tiny",
    "gaitbase-tiny",
    "deepgaitv2-tiny",
    "selfgait-tiny",
)


def candidate_row(label: str, synthetic: list[dict], real: list[dict]) -> dict:
    """One candidate against the real runs: the figures of its row, and the sort keys."""
    frame = side_by_side(synthetic, real)
    conds = frame[frame.condition.isin(CONDITIONS)]
    within, worst = int(conds["within"].sum()), float(conds["difference"].abs().max())
    nm = frame[frame.condition == "NM"].set_index("model")[["synthetic", "real"]]
    row = {
        "candidate": f"`{label}`",
        "store": synthetic[0]["data"]["fingerprint"],
        "within 5": f"{within} of {len(conds)}",
        "worst": f"{worst:.1f}",
    }
    for model in MODELS:
        part = conds[conds.model == model].set_index("condition")
        if part.empty:
            row[model] = "-"
            continue
        diffs = " / ".join(f"{part.loc[c, 'difference']:+.1f}" for c in CONDITIONS)
        n = int(part["n_synthetic"].iloc[0])
        row[model] = diffs + ("" if model in FLOORS else f" ({n})")
    if {"hstl-tiny", "gaitset-tiny"} <= set(nm.index):
        spread = nm.loc["hstl-tiny"] - nm.loc["gaitset-tiny"]
        row["spread NM"] = f"{spread['synthetic']:.1f} ({spread['real']:.1f})"
    else:
        row["spread NM"] = "-"
    tau = rank_agreement(frame).set_index("condition").loc[MEAN, "tau"]
    row["tau"] = "-" if math.isnan(tau) else f"{tau:.2f}"
    trained = conds[~conds.model.isin(FLOORS)].model.nunique()
    row["_key"] = (-trained, -within / len(conds), worst)
    return row


def candidates_table(calibration: Path, real: list[dict]) -> str:
    rows = []
    for folder in sorted(calibration.glob("*/synthetic")):
        label = folder.parent.name
        try:
            rows.append(candidate_row(label, load([folder], "synthetic"), real))
        except GaitbenchError as exc:
            raise GaitbenchError(f"candidate {label}: {exc}") from None
    if not rows:
        raise GaitbenchError(f"no calibration/<label>/synthetic folders under {calibration}")
    df = pd.DataFrame(rows).sort_values("_key", kind="stable").drop(columns="_key")
    lines = [
        "| " + " | ".join(df.columns) + " |",
        "|---|---|---:|---:|" + "---:|" * (len(df.columns) - 4),
    ]
    lines += ["| " + " | ".join(map(str, r)) + " |" for r in df.itertuples(index=False)]
    lines += [
        "",
        (
            f"synthetic - real, rank-1 points, NM / BG / CL (CASIA-B protocol, identical views "
            f"excluded); within 5 counts the figures within {TOLERANCE:g} points of real CASIA-B "
            "(the floor's and every trained model's); worst is the largest miss; a model's "
            "synthetic side is the mean of the seeds in brackets, its real side the mean of every "
            "real seed in ../real-casia-b/. spread NM: hstl-tiny - gaitset-tiny on NM, synthetic "
            "(real). tau: Kendall's tau-b of the trained models' order on the mean over conditions. "
            f"{len(df)} candidates; the knobs not in a label are version 1's standard level."
        ),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Every calibration candidate against real CASIA-B.")
    ap.add_argument("--calibration", type=Path, default=HERE / "calibration")
    ap.add_argument("--real", type=Path, default=HERE.parent / "real-casia-b")
    ap.add_argument("--out", type=Path, help="also write the table here (markdown)")
    args = ap.parse_args(argv)
    return table_script(
        lambda: candidates_table(args.calibration, load([args.real], "real")), args.out
    )


if __name__ == "__main__":
    raise SystemExit(main())
