"""``gaitbench report``: results JSON -> paper tables (markdown / CSV / LaTeX) and plots."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from gaitbench.cli._app import command, console
from gaitbench.errors import GaitbenchError


@command("report")
def report_cmd(
    paths: Optional[list[Path]] = typer.Argument(
        None, help="Results JSON files or folders (runs) holding them; default: results/."
    ),
    latex: bool = typer.Option(
        False, "--latex", help="LaTeX tables (booktabs, best value in bold)."
    ),
    csv: bool = typer.Option(False, "--csv", help="CSV tables."),
    markdown: bool = typer.Option(False, "--markdown", help="Markdown tables (the default)."),
    out: Optional[Path] = typer.Option(
        None, "--out", "-o", help="Write the tables here instead of printing them."
    ),
    plots: Optional[Path] = typer.Option(
        None, "--plots", help="Also draw the plots (PNG and PDF) into this folder."
    ),
    published: bool = typer.Option(
        True, "--published/--no-published", help="Add published figures as rows marked 'published'."
    ),
    label_efficiency: bool = typer.Option(
        False,
        "--label-efficiency",
        help="PATHS are SelfGait fine-tuning runs: rank-1 against the labelled fraction, with and without pre-training (JSON and plot into --plots).",
    ),
) -> None:
    """Summary and per-view tables, and plots, from results JSON only.

    Examples:

        gaitbench report                                   # markdown, everything under results/
        gaitbench report runs/hstl runs/gaitset --latex --out table.tex --plots figures
        gaitbench report results/ --csv --no-published
    """
    from gaitbench.paths import check_output
    from gaitbench.reporting.report import build_report, write_text

    if out is not None:
        check_output(out)
    if plots is not None:
        check_output(plots, folder=True)
    chosen = [name for name, on in (("latex", latex), ("csv", csv), ("markdown", markdown)) if on]
    if len(chosen) > 1:
        raise GaitbenchError(
            f"pick one output format, not {' and '.join('--' + c for c in chosen)}"
        )
    if label_efficiency:
        from gaitbench.reporting.label_efficiency import label_efficiency_report

        text, written = label_efficiency_report(
            list(paths or []), chosen[0] if chosen else "markdown", plots
        )
        if out is not None:
            write_text(out, text)
            console.print(f"table: {out}")
        else:
            print(text, end="")
        for p in written:
            console.print(f"wrote: {p}")
        return
    report = build_report(
        [str(p) for p in paths] if paths else None,
        chosen[0] if chosen else "markdown",
        published,
        plots,
    )
    if out is not None:
        write_text(out, report.text)
        console.print(f"tables: {out}")
    else:
        print(report.text, end="")
    for p in report.plots:
        console.print(f"plot: {p}")
