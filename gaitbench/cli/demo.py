"""``gaitbench demo``: synthetic walkers -> prep -> train -> evaluate -> report, in minutes on a CPU."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from gaitbench.cli._app import command, console


@command("demo")
def demo_cmd(
    out: Path = typer.Option(
        Path("demo"), "--out", "-o", help="Folder for everything the demo writes."
    ),
    quick: bool = typer.Option(
        False, "--quick", help="Smaller set and shorter training (about 1 minute on 2 cores)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace an earlier demo folder."),
    workers: Optional[int] = typer.Option(
        None, "--workers", help="Processes for synth and prep (default: all cores)."
    ),
) -> None:
    """Run the whole pipeline on a synthetic CASIA-B-shaped set and print the results table.

    Renders raw silhouettes, aligns them with `prep casia-b`, trains HSTL, GaitSet and GaitGL (tiny
    variants, short schedules), evaluates them with the CASIA-B protocol and writes the report
    (markdown, CSV, LaTeX, plots). About 6 minutes on a 2-core CPU; --quick about 1.

    Examples:

        gaitbench demo
        gaitbench demo --quick --out /tmp/demo
        gaitbench demo --out demo --force      # run again into the same folder
    """
    from gaitbench.demo import run_demo

    run_demo(out, quick=quick, force=force, workers=workers, console=console)
