"""The synthetic-against-real table from results JSON (see gaitbench/reporting/synth_vs_real.py).

    python3 results/synth-vs-real/compare.py \
        --synthetic results/synth-casia-b/gaitset-tiny.json ... \
        --real results/real-casia-b/gaitset-tiny-s0.json ... --out results/synth-vs-real

Writes OUT/table.md (side by side per model and condition, and Kendall's tau of the models'
order), OUT/table.csv (one row per model and condition) and OUT/agreement.csv, and prints the
markdown.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gaitbench.errors import GaitbenchError
from gaitbench.reporting.synth_vs_real import (
    load,
    one_side_only,
    rank_agreement,
    side_by_side,
    to_markdown,
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Synthetic against real CASIA-B, per model.")
    ap.add_argument("--synthetic", nargs="+", required=True, help="results JSON or folders")
    ap.add_argument("--real", nargs="+", required=True, help="results JSON or folders")
    ap.add_argument("--out", type=Path, required=True, help="folder for the tables")
    args = ap.parse_args(argv)
    try:
        synthetic, real = load(args.synthetic, "synthetic"), load(args.real, "real")
        frame = side_by_side(synthetic, real)
    except GaitbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    agreement = rank_agreement(frame)
    text = to_markdown(frame, agreement, one_side_only(synthetic, real))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "table.md").write_text(text)
    frame.to_csv(args.out / "table.csv", index=False, float_format="%.2f")
    agreement.to_csv(args.out / "agreement.csv", index=False, float_format="%.4f")
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
