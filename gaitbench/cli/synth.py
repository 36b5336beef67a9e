"""``gaitbench synth``: render the synthetic CASIA-B-shaped dataset (or a preview sheet of it)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from gaitbench.cli._app import command, console
from gaitbench.data import synth, synth_body
from gaitbench.errors import GaitbenchError
from gaitbench.paths import check_output
from gaitbench.progress import Bar


@command("synth")
def synth_command(
    out: Path | None = typer.Argument(
        None, help="Output: a store file (.h5) for --format store, a folder for --format png."
    ),
    subjects: int = typer.Option(124, "--subjects", help="Number of people, ids 001..N."),
    views: str = typer.Option(
        "0:180:18", "--views", help="START:STOP:STEP (stop included) or 0,90,180."
    ),
    frames: str = typer.Option("60-100", "--frames", help="Frames per sequence, LO-HI."),
    size: int | None = typer.Option(
        None, "--size", help="Aligned frame size of the store: 64 (default) or 128, as prep."
    ),
    seed: int = typer.Option(
        0, "--seed", help="Same seed, same bytes; another seed, other people."
    ),
    fmt: str = typer.Option(
        "store",
        "--format",
        help="store: aligned HDF5 store; png: raw 320x240 CASIA-B tree for `prep`.",
    ),
    difficulty: str = typer.Option(
        "standard",
        "--difficulty",
        help="easy | standard | hard: spread of people, within-person "
        "variation, bag/coat strength and segmentation noise.",
    ),
    tune: str = typer.Option(
        "",
        "--tune",
        help="KNOB=VALUE,... replacing single knobs of the difficulty level, for calibrating "
        "against real data, e.g. within=1.3,noise=1.5. The knobs and their standard values: "
        + ", ".join(f"{k}={v:g}" for k, v in synth_body.DIFFICULTY["standard"].items())
        + " (each is described in gaitbench/data/synth_body.py).",
    ),
    workers: int | None = typer.Option(None, "--workers", help="Processes (default: all cores)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output."),
    preview: Path | None = typer.Option(
        None,
        "--preview",
        help=f"Also (or only, without OUT) write a contact sheet PNG of frames of the first "
        f"{synth.PREVIEW_SUBJECTS} subjects.",
    ),
) -> None:
    """Render a synthetic CASIA-B-shaped silhouette dataset: 3-D walkers, 11 views, nm/bg/cl.

    Examples:

        gaitbench synth data/synth-casia-b.h5                     # the standard synthetic store
        gaitbench synth data/raw/casia-b --format png             # a raw tree for `gaitbench prep`
        gaitbench synth small.h5 --subjects 24 --views 0,90,180 --frames 30-40 --difficulty easy
        gaitbench synth --preview sheet.png --subjects 4
        gaitbench synth harder.h5 --tune within=1.3,noise=1.5    # standard, two knobs replaced
    """
    if size is not None and fmt == "png":
        raise GaitbenchError(
            "--size has no effect with --format png (raw frames are 320x240): "
            "give it to `gaitbench prep` instead"
        )
    spec = synth.SynthSpec(
        subjects=subjects,
        views=synth.parse_views(views),
        frames=synth.parse_frames(frames),
        size=size or 64,
        seed=seed,
        difficulty=difficulty,
        tune=synth.parse_tune(tune),
    )
    if out is None and preview is None:
        raise GaitbenchError("synth needs OUT (a store or folder to write) or --preview OUT.png")
    if out is not None:
        synth.check_output(out, fmt, force)
    if preview is not None:
        check_output(preview)
        shown = min(subjects, synth.PREVIEW_SUBJECTS)
        synth.contact_sheet(preview, spec, subjects=tuple(range(1, shown + 1)))
        of = f" (the first {shown} of {subjects})" if shown < subjects else ""
        console.print(f"preview of {shown} subjects{of} written to [bold]{preview}[/]")
    if out is None:
        return
    n = len(spec.sequences())
    with Bar(
        TextColumn("[bold]synth[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as bar:
        task = bar.add_task(f"{fmt} {out}", total=n)
        result = synth.synthesize(
            out, spec, fmt, workers=workers, force=force, progress=lambda k: bar.advance(task, k)
        )
    console.print(
        f"wrote {result.sequences} sequences ({result.frames} frames) to [bold]{result.path}[/]"
    )
