"""``gaitbench report``: results JSON -> summary and per-view tables (markdown / CSV / LaTeX) and
plots. Reads results JSON (and runs' metrics logs for the training curves) only."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from gaitbench.errors import GaitbenchError
from gaitbench.paths import atomic_write
from gaitbench.reporting import tables

FORMATS = ("markdown", "csv", "latex")


@dataclass
class Report:
    text: str
    summary: object  # pandas DataFrame
    per_view: dict = field(default_factory=dict)  # protocol -> DataFrame
    plots: list[Path] = field(default_factory=list)


def _plain(caption: str) -> str:
    return re.sub(r"\\(.)", r"\1", caption)


def build_report(
    paths: list[str | os.PathLike] | None = None,
    fmt: str = "markdown",
    published: bool = True,
    plots_dir: str | os.PathLike | None = None,
) -> Report:
    """Tables (and plots when ``plots_dir``) from the results JSON under ``paths``."""
    if fmt not in FORMATS:
        raise GaitbenchError(f"unknown report format {fmt!r}: use one of {', '.join(FORMATS)}")
    results = tables.collect_results(paths)
    pub = tables.load_published() if published else None
    protocols = list(dict.fromkeys(r["protocol"] for r in results))
    summary = tables.summary_frame(results, pub)
    per_view = {
        p: tables.per_view_frame(results, pub, p)
        for p in ("casia-b", "selfgait-release", "oumvlp")
        if p in protocols
    }
    blocks = []
    if fmt == "csv":
        blocks.append(tables.to_csv(summary))
        for p, df in per_view.items():
            blocks.append(f"# {tables.DATASET_NAMES[p]} per view\n" + tables.to_csv(df))
    elif fmt == "latex":
        blocks.append(
            tables.to_latex(summary, tables.summary_caption(protocols), "tab:gaitbench-summary")
        )
        for p, df in per_view.items():
            blocks.append(
                tables.to_latex(df, tables.per_view_caption(p), f"tab:gaitbench-{p}-views")
            )
    else:
        blocks.append(
            "## Summary\n\n"
            + tables.to_markdown(summary)
            + "\n"
            + _plain(tables.summary_caption(protocols))
            + "\n"
        )
        for p, df in per_view.items():
            blocks.append(
                f"## {tables.DATASET_NAMES[p]} per probe view\n\n"
                + tables.to_markdown(df)
                + "\n"
                + _plain(tables.per_view_caption(p))
                + "\n"
            )
    plot_paths: list[Path] = []
    if plots_dir is not None:
        from gaitbench.reporting import plots

        out = Path(plots_dir)
        for p in per_view:
            plot_paths += plots.plot_per_view(results, out, pub, p)
        plot_paths += plots.plot_accuracy_vs_flops(results, out, pub)
        plot_paths += plots.plot_training_curves(results, out)
    return Report("\n".join(blocks), summary, per_view, plot_paths)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write atomically (temp file, rename)."""
    with atomic_write(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def latex_document(table_tex: str) -> str:
    """A minimal standalone document around the tables (what the compile check builds)."""
    return (
        "\\documentclass{article}\n\\usepackage{booktabs}\n\\usepackage[margin=1.5cm,landscape]{geometry}\n"
        "\\begin{document}\n" + table_tex + "\\end{document}\n"
    )
