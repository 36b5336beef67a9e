"""``gaitbench report``: results JSON -> summary and per-view tables (markdown / CSV / LaTeX) and
plots. Reads results JSON (and runs' metrics logs for the training curves) only; the rules the
tables follow are in `gaitbench.reporting.tables`."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from gaitbench.errors import GaitbenchError
from gaitbench.paths import atomic_write
from gaitbench.reporting import tables
from gaitbench.reporting.tables import DATASET_NAMES, VIEW_PROTOCOLS

FORMATS = ("markdown", "csv", "latex")
EXTENSIONS = {"markdown": "md", "csv": "csv", "latex": "tex"}


@dataclass
class Section:
    kind: str  # summary, per_view or published
    table: tables.Table
    label: str  # LaTeX label and file-name stem


@dataclass
class Report:
    text: str
    summary: pd.DataFrame  # every group's summary, with a "data" column naming the group
    per_view: dict = field(default_factory=dict)  # group title -> DataFrame
    plots: list[Path] = field(default_factory=list)
    tidy: pd.DataFrame | None = None
    sections: list[Section] = field(default_factory=list)
    n_results: int = 0
    skipped: int = 0


def _plain(caption: str) -> str:
    return re.sub(r"\\(.)", r"\1", caption.replace("$\\pm$", "±"))


def build_report(
    paths: list[str | os.PathLike] | None = None,
    fmt: str = "markdown",
    published: bool = True,
    plots_dir: str | os.PathLike | None = None,
    per_seed: bool = False,
) -> Report:
    """Tables (and plots when ``plots_dir``) from the results JSON under ``paths``."""
    if fmt not in FORMATS:
        raise GaitbenchError(f"unknown report format {fmt!r}: use one of {', '.join(FORMATS)}")
    collected = tables.collect(paths)
    pub = tables.load_published() if published else None
    groups = tables.group_results(collected.results)

    sections: list[Section] = []
    rows_by_group = []
    shown: set[tuple] = set()
    for g in groups:
        rows = tables.rows_of(g, per_seed)
        rows_by_group.append((g, rows))
        beside = []
        if g.kind == "real":
            beside = [p for p in tables.published_rows(pub, g.dataset) if p.protocol == g.protocol]
            shown |= {(p.model, p.dataset, p.protocol) for p in beside}
        caption = tables.summary_caption(g, rows + beside)
        sections.append(
            Section(
                "summary",
                tables.summary_table(rows + beside, g.protocol, g.title, caption),
                f"tab:summary-{g.slug}",
            )
        )
        if g.protocol in VIEW_PROTOCOLS:
            sections.append(
                Section(
                    "per_view",
                    tables.per_view_table(rows + beside, g.title, tables.per_view_caption(g)),
                    f"tab:views-{g.slug}",
                )
            )
    # Published rows not shown beside results on their own data and protocol: one labelled block
    # per dataset, with each row's protocol.
    all_pub: list[tables.Row] = []
    for dataset in dict.fromkeys(g.dataset for g in groups):
        rows = tables.published_rows(pub, dataset)
        all_pub += rows
        rest = [p for p in rows if (p.model, p.dataset, p.protocol) not in shown]
        if rest and dataset in tables.HEADLINE:
            t = tables.summary_table(
                rest,
                dataset,
                f"Published figures, real {DATASET_NAMES.get(dataset, dataset)}",
                tables.published_caption(dataset),
            )
            t.frame.insert(3, "protocol", [p.protocol for p in rest])
            t.std.insert(3, "protocol", None)
            t.frame = t.frame.drop(columns=["run", "n", "iterations", "distance"])
            t.std = t.std.drop(columns=["run", "n", "iterations", "distance"])
            sections.append(Section("published", t, f"tab:published-{dataset}"))

    tidy = tables.tidy_frame(rows_by_group, all_pub)
    text = render(sections, tidy, fmt)
    summary = pd.concat(
        [
            s.table.frame.assign(data=s.table.title)[["data", *s.table.frame.columns]]
            for s in sections
            if s.kind == "summary"
        ],
        ignore_index=True,
    )
    per_view = {s.table.title: s.table.frame for s in sections if s.kind == "per_view"}

    plot_paths: list[Path] = []
    if plots_dir is not None:
        from gaitbench.reporting import plots

        out = Path(plots_dir)
        per_protocol = {}
        for g in groups:
            per_protocol[g.protocol] = per_protocol.get(g.protocol, 0) + 1
        for g in groups:
            if g.protocol in VIEW_PROTOCOLS:
                stem = f"rank1_per_view_{g.protocol}"
                if per_protocol[g.protocol] > 1:
                    stem += f"_{g.slug.split('-', 2)[-1] if '-' in g.slug else g.kind}"
                plot_paths += plots.plot_per_view(
                    g.results,
                    out,
                    pub if g.kind == "real" else None,
                    g.protocol,
                    stem=stem,
                    title=_short_title(g),
                )
        plot_paths += plots.plot_accuracy_vs_flops(collected.results, out, pub)
        plot_paths += plots.plot_training_curves(collected.results, out)
    return Report(
        text,
        summary,
        per_view,
        plot_paths,
        tidy,
        sections,
        len(collected.results),
        collected.skipped,
    )


def _short_title(g: tables.Group) -> str:
    name = DATASET_NAMES.get(g.protocol, g.protocol)
    if g.kind == "synthetic":
        return f"synthetic walkers, {name} protocol"
    if g.kind == "unknown":
        return f"{name} protocol (data not recorded)"
    return name


def render(sections: list[Section], tidy: pd.DataFrame, fmt: str, kinds=None) -> str:
    """The sections (of ``kinds``, default all) in one format; CSV is the one tidy table."""
    if fmt == "csv":
        return tables.to_csv(tidy)
    chosen = [s for s in sections if kinds is None or s.kind in kinds]
    blocks = []
    for s in chosen:
        t = s.table
        if fmt == "latex":
            blocks.append(tables.to_latex(t, s.label))
            continue
        head = {"summary": "##", "per_view": "###", "published": "##"}[s.kind]
        title = t.title + (": per probe view" if s.kind == "per_view" else "")
        blocks.append(
            f"{head} {title}\n\n" + tables.to_markdown(t) + "\n" + _plain(t.caption) + "\n"
        )
    return "\n".join(blocks)


def write_tables(report: Report, out_dir: str | os.PathLike) -> list[Path]:
    """``--out DIR``: summary and per-view tables as separate files in every format
    (summary.md / .tex / .csv, per_view.md / .tex / .csv) and the tidy table (results.csv)."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise GaitbenchError(
            f"--out {out} is a file: give a folder, or a file name ending .md, .csv or .tex"
        )
    written = []
    for kind, stem in ((("summary", "published"), "summary"), (("per_view",), "per_view")):
        chosen = [s for s in report.sections if s.kind in kind]
        if not chosen:
            continue
        for fmt in ("markdown", "latex"):
            written.append(
                write_text(out / f"{stem}.{EXTENSIONS[fmt]}", render(chosen, report.tidy, fmt))
            )
        frames = [
            s.table.frame.assign(data=s.table.title)[["data", *s.table.frame.columns]]
            for s in chosen
        ]
        written.append(
            write_text(out / f"{stem}.csv", tables.to_csv(pd.concat(frames, ignore_index=True)))
        )
    written.append(write_text(out / "results.csv", tables.to_csv(report.tidy)))
    return written


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
