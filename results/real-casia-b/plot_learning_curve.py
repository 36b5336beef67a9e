"""The learning curve: rank-1 NM / BG / CL against training iterations, from results JSON only.

    python3 results/real-casia-b/plot_learning_curve.py learning-curve/*.json --floor gei.json \
        --out learning_curve

Each results file is one checkpoint's evaluation (its ``iteration``); ``--floor`` adds the GEI
floor as dashed lines. Writes OUT.png and OUT.pdf (one plot) and OUT.md (the figures as a table),
and prints the table.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402

CONDITIONS = ("NM", "BG", "CL")


def load_points(paths: list[Path]) -> list[tuple[int, dict[str, float]]]:
    """(iteration, {condition: rank-1}) per results file, sorted by iteration."""
    points = []
    for path in paths:
        r = json.loads(path.read_text())
        if not str(r.get("schema", "")).startswith("gaitbench-results/"):
            raise SystemExit(
                f"{path} is not gaitbench results JSON: pass `gaitbench evaluate` output"
            )
        iteration = r.get("iteration")
        if iteration is None:
            raise SystemExit(f"{path} names no iteration: evaluate a checkpoint of the run")
        points.append((int(iteration), {c: r["metrics"][c]["rank1"] for c in CONDITIONS}))
    return sorted(points)


def table(points: list[tuple[int, dict[str, float]]], floor: dict[str, float] | None) -> str:
    lines = ["| iterations | " + " | ".join(CONDITIONS) + " |", "|---:|---:|---:|---:|"]
    for it, m in points:
        lines.append(f"| {it:,} | " + " | ".join(f"{m[c]:.1f}" for c in CONDITIONS) + " |")
    if floor:
        lines.append("| GEI floor | " + " | ".join(f"{floor[c]:.1f}" for c in CONDITIONS) + " |")
    return "\n".join(lines) + "\n"


def plot(points, floor, out: Path, title: str) -> list[Path]:
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    xs = [it for it, _ in points]
    for cond, colour in zip(CONDITIONS, ("tab:blue", "tab:orange", "tab:green")):
        ax.plot(xs, [m[cond] for _, m in points], marker="o", color=colour, label=cond)
        if floor:
            ax.axhline(floor[cond], ls="--", lw=1, color=colour, label=f"{cond} GEI floor")
    ax.set_xscale("log", base=2)
    ax.set_xticks(xs, [f"{x:,}" for x in xs])
    ax.minorticks_off()
    ax.set_xlabel("training iterations (8 x 4 sequences, 30-frame clips)")
    ax.set_ylabel("rank-1 (%), identical views excluded")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    # Below the axes: inside, it would sit on the NM line whatever its corner.
    ax.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.2))
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for ext in ("png", "pdf"):
        path = out.with_suffix(f".{ext}")
        fig.savefig(path, dpi=150, bbox_inches="tight")
        written.append(path)
    plt.close(fig)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("results", nargs="+", type=Path, help="results JSON, one per checkpoint")
    ap.add_argument("--floor", type=Path, help="the GEI floor's results JSON (dashed lines)")
    ap.add_argument("--out", type=Path, required=True, help="OUT -> OUT.png, OUT.pdf, OUT.md")
    ap.add_argument("--title", default="gaitset-tiny on real CASIA-B, CPU budget")
    args = ap.parse_args(argv)
    points = load_points(args.results)
    floor = _floor(args.floor) if args.floor else None
    text = table(points, floor)
    args.out.with_suffix(".md").write_text(text)
    plot(points, floor, args.out, args.title)
    sys.stdout.write(text)
    return 0


def _floor(path: Path) -> dict[str, float]:
    r = json.loads(path.read_text())
    return {c: r["metrics"][c]["rank1"] for c in CONDITIONS}


if __name__ == "__main__":
    raise SystemExit(main())
