"""How many labels does pre-training save? Rank-1 against the labelled fraction, with and without
SelfGait pre-training, from fine-tuning runs' results JSON.

Each run folder holds ``results-<protocol>.json`` (``gaitbench evaluate``) and ``selfgait.json``
(written by ``gaitbench train selfgait --stage finetune``: the labelled fraction, the chosen
subjects and the pre-training run it started from, if any). Nothing here re-runs a model.

Runs of one cell (labelled fraction, pre-trained or not) that differ only in their seed are
aggregated: the table gives mean ± sample standard deviation (n seeds), the plot the mean with
the standard deviation as error bars.
"""

from __future__ import annotations

import json
import math
import os
import statistics
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
    (pre-trained, fraction). A row: run (the results file's run name, else the folder's name: never
    a path of the machine that made it), data (the store's provenance from the results file),
    labels, labelled_subjects, train_subjects, pretrained, init, iteration, model,
    rank1 {condition: %}."""
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
                "run": results.get("run") or run.name,
                "data": results.get("data"),
                "labels": float(stage["labels"]),
                "labelled_subjects": len(stage["labelled_subjects"]),
                "train_subjects": int(stage["train_subjects"]),
                "pretrained": stage.get("init") is not None,
                "init": stage.get("init"),
                "iteration": results.get("iteration"),
                "seed": _seed(stage, results),
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
    return {"schema": SCHEMA, "protocol": protocols[0], "runs": rows, "cells": aggregate(rows)}


def _seed(stage: dict[str, Any], results: dict[str, Any]) -> int | None:
    training = results.get("training") or {}
    seed = training.get("seed", stage.get("label_seed"))
    return None if seed is None else int(seed)


def aggregate(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One cell per (labelled fraction, pre-trained): ``n`` runs, their seeds, and per condition
    the mean and sample standard deviation of rank-1 (std None for a single run)."""
    cells: dict[tuple[float, bool], list[dict[str, Any]]] = {}
    for r in rows:
        cells.setdefault((r["labels"], r["pretrained"]), []).append(r)
    out = []
    for (labels, pretrained), runs in sorted(cells.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        conds = [c for c in CONDITIONS if all(c in r["rank1"] for r in runs)]
        mean = {c: statistics.fmean(r["rank1"][c] for r in runs) for c in conds}
        std = {
            c: statistics.stdev(r["rank1"][c] for r in runs) if len(runs) > 1 else None
            for c in conds
        }
        out.append(
            {
                "labels": labels,
                "pretrained": pretrained,
                "n": len(runs),
                "seeds": [r["seed"] for r in runs],
                "labelled_subjects": sorted({r["labelled_subjects"] for r in runs}),
                "train_subjects": runs[0]["train_subjects"],
                "rank1": mean,
                "rank1_std": std,
            }
        )
    return out


def save(data: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write the collected figures atomically (temp file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)
    return path


def _conditions(data: dict[str, Any]) -> list[str]:
    seen = {c for r in data["cells"] for c in r["rank1"]}
    return [c for c in CONDITIONS if c in seen] + sorted(seen - set(CONDITIONS))


def _cell(mean: float | None, std: float | None) -> str:
    if mean is None:
        return "-"
    return f"{mean:.1f}" if std is None else f"{mean:.1f} ± {std:.1f}"


def table(data: dict[str, Any], fmt: str = "markdown") -> str:
    """One row per labelled fraction; rank-1 per condition from scratch and pre-trained (mean ±
    std over seeds where there are several), and the gain of the means."""
    if "cells" not in data:  # a file written before seeds were aggregated
        data = {**data, "cells": aggregate(data["runs"])}
    conds = _conditions(data)
    by = {(c["labels"], c["pretrained"]): c for c in data["cells"]}
    fractions = sorted({c["labels"] for c in data["cells"]})
    header = ["labels", "subjects", "seeds (scratch/pre)"]
    for c in conds:
        header += [f"{c} scratch", f"{c} pre-trained", f"{c} gain"]
    body = []
    for f in fractions:
        scratch, pre = by.get((f, False)), by.get((f, True))
        any_cell = scratch or pre
        subjects = "/".join(map(str, any_cell["labelled_subjects"]))
        seeds = "/".join(str(x["n"]) for x in (scratch, pre) if x)
        cells = [f"{f:g}", f"{subjects} of {any_cell['train_subjects']}", seeds]
        for c in conds:
            s = scratch["rank1"].get(c) if scratch else None
            p = pre["rank1"].get(c) if pre else None
            gain = p - s if s is not None and p is not None else None
            cells += [
                _cell(s, scratch["rank1_std"].get(c) if scratch else None),
                _cell(p, pre["rank1_std"].get(c) if pre else None),
                "-" if gain is None else f"{gain:+.1f}",
            ]
        body.append(cells)
    if fmt == "csv":
        return "\n".join(",".join(row) for row in [header, *body]) + "\n"
    if fmt == "latex":
        lines = [
            r"\begin{tabular}{" + "l" * 3 + "r" * (len(header) - 3) + "}",
            r"\toprule",
            " & ".join(header) + r" \\",
            r"\midrule",
        ]
        lines += [" & ".join(row).replace("±", r"$\pm$") + r" \\" for row in body]
        return "\n".join([*lines, r"\bottomrule", r"\end{tabular}"]) + "\n"
    if fmt != "markdown":
        raise GaitbenchError(f"unknown table format {fmt!r}: markdown, csv or latex")
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] * 3 + ["---:"] * (len(header) - 3)) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines) + "\n"


def data_kind(data: dict[str, Any]) -> str:
    """What the runs were evaluated on, for a title: "real data", "synthetic walkers", "mixed
    data" (real and synthetic runs together) or "data of unrecorded kind" (older results)."""
    kinds = {(r.get("data") or {}).get("kind") for r in data["runs"]}
    if kinds == {"real"}:
        return "real data"
    if kinds == {"synthetic"}:
        return "synthetic walkers"
    return "mixed data" if {"real", "synthetic"} <= kinds else "data of unrecorded kind"


def plot(
    data: dict[str, Any], out_dir: str | os.PathLike, stem: str = "label_efficiency"
) -> list[Path]:
    """Rank-1 (%) against the labelled fraction: one colour per condition, solid = pre-trained,
    dashed = from scratch; mean over seeds, error bars one standard deviation. PNG and PDF."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5.2, 4.2))
    colours = dict(zip(CONDITIONS, ("tab:blue", "tab:orange", "tab:green"), strict=True))
    for cond in _conditions(data):
        for pretrained, style, word in ((True, "-", "pre-trained"), (False, "--", "scratch")):
            rows = sorted(
                (r for r in data["cells"] if r["pretrained"] == pretrained and cond in r["rank1"]),
                key=lambda r: r["labels"],
            )
            if rows:
                xs, ys = [r["labels"] for r in rows], [r["rank1"][cond] for r in rows]
                colour = colours.get(cond)
                ax.plot(xs, ys, style, marker="o", ms=4, color=colour, label=f"{cond} {word}")
                ax.errorbar(
                    xs,
                    ys,
                    yerr=[r["rank1_std"][cond] or 0.0 for r in rows],
                    fmt="none",
                    capsize=2,
                    lw=0.8,
                    color=colour,
                )
    fractions = sorted({r["labels"] for r in data["cells"]})
    ax.set_xscale("log")
    ax.set_xticks(fractions, [f"{f:g}" for f in fractions])
    ax.minorticks_off()
    ax.set_xlabel("fraction of training subjects labelled")
    ax.set_ylabel("rank-1 (%), identical views excluded")
    model = data["runs"][0].get("model") or "selfgait"
    ax.set_title(
        f"{model}: label efficiency, {data_kind(data)} ({data['protocol']} protocol)", fontsize=9
    )
    ax.grid(alpha=0.3)
    if not math.isnan(ax.get_ylim()[0]):
        ax.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.2))
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
