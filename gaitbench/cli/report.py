"""``gaitbench report``: results JSON -> paper tables (markdown / CSV / LaTeX) and plots."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from gaitbench.cli._app import command, console, err_console
from gaitbench.errors import GaitbenchError

TABLE_SUFFIXES = (".md", ".csv", ".tex", ".txt")


@command("report")
def report_cmd(
    paths: Optional[list[Path]] = typer.Argument(
        None, help="Results JSON files or folders (runs) holding them; default: results/."
    ),
    latex: bool = typer.Option(
        False, "--latex", help="LaTeX tables (booktabs, best value in bold)."
    ),
    csv: bool = typer.Option(
        False, "--csv", help="One tidy long-format CSV table (one value per line)."
    ),
    markdown: bool = typer.Option(False, "--markdown", help="Markdown tables (the default)."),
    out: Optional[Path] = typer.Option(
        None,
        "--out",
        "-o",
        help="A folder: summary and per-view tables in every format (summary.md/.tex/.csv, "
        "per_view.md/.tex/.csv, results.csv); or a .md/.csv/.tex file: the tables as printed.",
    ),
    per_seed: bool = typer.Option(
        False, "--per-seed", help="One row per seed instead of mean ± std over seeds."
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
        gaitbench report results/ --csv --no-published     # one tidy table for pandas
        gaitbench report runs/ --out tables/               # every table in every format
        gaitbench report runs/ --per-seed                  # seeds one by one
    """
    from gaitbench.paths import check_output
    from gaitbench.reporting.report import build_report, write_tables, write_text

    # --out FILE.md/.csv/.tex (or with --label-efficiency): the tables as printed; else a folder.
    out_file = out is not None and (label_efficiency or out.suffix.lower() in TABLE_SUFFIXES)
    if out is not None:
        check_output(out, folder=not out_file)
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
        per_seed=per_seed,
    )
    err_console.print(
        f"{report.n_results} results files read; {report.skipped} other JSON files skipped",
        highlight=False,
    )
    if out is not None and out_file:
        write_text(out, report.text)
        console.print(f"tables: {out}")
    elif out is not None:
        if chosen:
            raise GaitbenchError(
                f"--out {out} is a folder, which gets every format: drop --{chosen[0]}, or give "
                f"a file name (e.g. {out}.{'tex' if chosen[0] == 'latex' else chosen[0][:3]})"
            )
        for p in write_tables(report, out):
            console.print(f"table: {p}")
    else:
        print(report.text, end="")
    for p in report.plots:
        console.print(f"plot: {p}")
