"""How many labels does pre-training save? Rank-1 against the labelled fraction, with and without
SelfGait pre-training, from fine-tuning runs' results JSON.

Each run folder holds ``results-<protocol>.json`` (``gaitbench evaluate``) and ``selfgait.json``
(written by ``gaitbench train selfgait --stage finetune``: the labelled fraction, the chosen
subjects and the pre-training run it started from, if any). Nothing here re-runs a model.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from gaitbench.errors import GaitbenchError

SCHEMA = "gaitbench-label-efficiency/1"
STAGE_FILE = (
    "selfgait.json"  # the name `gaitbench.training.selfsup` writes (reporting imports no training)
)
CONDITIONS = ("NM", "BG", "CL")


def _results_file(run: Path) -> Path:
    found = sorted(run.glob("results-*.json"))
    if not found:
        raise GaitbenchError(f"{run} has no results-*.json: run `gaitbench evaluate {run}` first")
    return found[0]


def collect(runs: list[str | os.PathLike]) -> dict[str, Any]:
    """Fine-tuning run folders -> ``{"schema", "protocol", "runs": [row, ...]}``, rows sorted by
    (pre-trained, fraction). A row: run, labels, labelled_subjects, train_subjects, pretrained,
    init, iteration, model, rank1 {condition: %}."""
    rows = []
    for run in map(Path, runs):
        stage_path = run / STAGE_FILE
        if not stage_path.is_file():
            raise GaitbenchError(
                f"{stage_path} not found: pass folders of `gaitbench train selfgait --stage finetune` runs"
            )
        stage = json.loads(stage_path.read_text())
        if stage.get("stage") != "finetune":
            raise GaitbenchError(
                f"{run} is a SelfGait {stage.get('stage')} run: pass fine-tuning runs (they have labels)"
            )
        results = json.loads(_results_file(run).read_text())
        rank1 = {c: float(m["rank1"]) for c, m in results["metrics"].items() if "rank1" in m}
        rows.append(
            {
                "run": str(run),
                "labels": float(stage["labels"]),
                "labelled_subjects": len(stage["labelled_subjects"]),
                "train_subjects": int(stage["train_subjects"]),
                "pretrained": stage.get("init") is not None,
                "init": stage.get("init"),
                "iteration": results.get("iteration"),
                "model": results.get("model"),
                "protocol": results["protocol"],
                "rank1": rank1,
            }
        )
    if not rows:
        raise GaitbenchError("no runs given: pass the fine-tuning run folders to compare")
    protocols = sorted({r["protocol"] for r in rows})
    if len(protocols) > 1:
        raise GaitbenchError(
            f"runs mix protocols {protocols}: compare runs of one dataset at a time"
        )
    rows.sort(key=lambda r: (r["pretrained"], r["labels"], r["run"]))
    return {"schema": SCHEMA, "protocol": protocols[0], "runs": rows}


def save(data: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write the collected figures atomically (temp file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)
    return path


def _conditions(data: dict[str, Any]) -> list[str]:
    seen = {c for r in data["runs"] for c in r["rank1"]}
    return [c for c in CONDITIONS if c in seen] + sorted(seen - set(CONDITIONS))


def table(data: dict[str, Any], fmt: str = "markdown") -> str:
    """One row per labelled fraction; rank-1 per condition from scratch and pre-trained, and the gain."""
    conds = _conditions(data)
    by = {(r["labels"], r["pretrained"]): r for r in data["runs"]}
    fractions = sorted({r["labels"] for r in data["runs"]})
    header = ["labels", "subjects"]
    for c in conds:
        header += [f"{c} scratch", f"{c} pre-trained", f"{c} gain"]
    body = []
    for f in fractions:
        scratch, pre = by.get((f, False)), by.get((f, True))
        any_row = scratch or pre
        cells = [f"{f:g}", f"{any_row['labelled_subjects']}/{any_row['train_subjects']}"]
        for c in conds:
            s = scratch["rank1"].get(c) if scratch else None
            p = pre["rank1"].get(c) if pre else None
            gain = p - s if s is not None and p is not None else None
            cells += [
                "-" if v is None else (f"{v:+.1f}" if k == 2 else f"{v:.1f}")
                for k, v in enumerate((s, p, gain))
            ]
        body.append(cells)
    if fmt == "csv":
        return "\n".join(",".join(row) for row in [header, *body]) + "\n"
    if fmt == "latex":
        lines = [
            r"\begin{tabular}{" + "l" * 2 + "r" * (len(header) - 2) + "}",
            r"\toprule",
            " & ".join(header) + r" \\",
            r"\midrule",
        ]
        lines += [" & ".join(row) + r" \\" for row in body]
        return "\n".join([*lines, r"\bottomrule", r"\end{tabular}"]) + "\n"
    if fmt != "markdown":
        raise GaitbenchError(f"unknown table format {fmt!r}: markdown, csv or latex")
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] * 2 + ["---:"] * (len(header) - 2)) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines) + "\n"


def plot(
    data: dict[str, Any], out_dir: str | os.PathLike, stem: str = "label_efficiency"
) -> list[Path]:
    """Rank-1 (%) against the labelled fraction: one colour per condition, solid = pre-trained,
    dashed = from scratch. PNG and PDF."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    colours = dict(zip(CONDITIONS, ("tab:blue", "tab:orange", "tab:green"), strict=True))
    for cond in _conditions(data):
        for pretrained, style, word in ((True, "-", "pre-trained"), (False, "--", "scratch")):
            rows = sorted(
                (r for r in data["runs"] if r["pretrained"] == pretrained and cond in r["rank1"]),
                key=lambda r: r["labels"],
            )
            if rows:
                ax.plot(
                    [r["labels"] for r in rows],
                    [r["rank1"][cond] for r in rows],
                    style,
                    marker="o",
                    ms=4,
                    color=colours.get(cond),
                    label=f"{cond} {word}",
                )
    fractions = sorted({r["labels"] for r in data["runs"]})
    ax.set_xscale("log")
    ax.set_xticks(fractions, [f"{f:g}" for f in fractions])
    ax.minorticks_off()
    ax.set_xlabel("fraction of training subjects labelled")
    ax.set_ylabel("rank-1 (%), identical views excluded")
    model = data["runs"][0].get("model") or "selfgait"
    ax.set_title(f"{model}: label efficiency ({data['protocol']} protocol)", fontsize=9)
    ax.grid(alpha=0.3)
    if not math.isnan(ax.get_ylim()[0]):
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    paths = []
    for ext in ("png", "pdf"):
        p = out_dir / f"{stem}.{ext}"
        tmp = p.with_name(f".{p.stem}.{os.getpid()}.tmp.{ext}")
        fig.savefig(tmp, dpi=150)
        tmp.replace(p)
        paths.append(p)
    plt.close(fig)
    return paths


def label_efficiency_report(
    runs: list[str | os.PathLike], fmt: str = "markdown", out_dir: str | os.PathLike | None = None
) -> tuple[str, list[Path]]:
    """Table text, and (with ``out_dir``) the collected JSON and the plot written there."""
    data = collect(runs)
    text = table(data, fmt)
    written: list[Path] = []
    if out_dir is not None:
        written.append(save(data, Path(out_dir) / "label_efficiency.json"))
        written += plot(data, out_dir)
    return text, written
