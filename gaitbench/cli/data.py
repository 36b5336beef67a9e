"""``gaitbench prep``, ``gaitbench info`` and ``gaitbench export``: thin wrappers over gaitbench.data."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from gaitbench.cli._app import command, console, err_console
from gaitbench.data.export import export_store, store_info
from gaitbench.data.prep import prep
from gaitbench.progress import Bar


def _bar(disable: bool = False) -> Bar:
    return Bar(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=disable,
    )


def _bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


@command("prep")
def prep_command(
    dataset: str = typer.Argument(
        ..., help="casia-b | oumvlp | grew | gait3d (the raw layout and the official split)."
    ),
    raw: Path | None = typer.Argument(
        None, help="Raw silhouette folder (default: $GAITBENCH_DATA/raw/DATASET)."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Store to write (default: $GAITBENCH_DATA/DATASET-SIZE.h5)."
    ),
    size: int = typer.Option(64, "--size", help="Aligned frame size, 64 or 128."),
    workers: int | None = typer.Option(None, "--workers", help="Processes (default: all cores)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing store."),
    layout: str | None = typer.Option(
        None,
        "--layout",
        help="Read RAW as another layout, e.g. `opengait` for a pretreated pkl tree.",
    ),
) -> None:
    """Align raw silhouettes exactly as OpenGait's pretreatment does and write one HDF5 store.

    Unreadable frames are skipped and counted, empty sequences left out and counted; an
    interrupted or failed prep leaves no store behind.

    Examples:

        gaitbench prep casia-b /datasets/CASIA-B --out data/casia-b-64.h5
        gaitbench prep oumvlp /datasets/OUMVLP --size 128 --workers 16
        gaitbench prep casia-b /datasets/CASIA-B-pkl --layout opengait   # an OpenGait pkl tree
        gaitbench prep grew                      # reads $GAITBENCH_DATA/raw/grew
    """
    with _bar() as bar:
        task = bar.add_task(f"[bold]prep[/] {dataset}", total=None)
        summary = prep(
            dataset,
            raw,
            out,
            size=size,
            workers=workers,
            force=force,
            layout=layout,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    table = Table(title=f"prep {dataset} -> {summary.store}", show_header=False)
    rows = [
        ("sequences written", f"{summary.sequences:,}"),
        ("frames kept", f"{summary.frames_kept:,}"),
        ("frames dropped (too few pixels / no centre)", f"{summary.frames_dropped:,}"),
        ("unreadable frames (skipped)", f"{summary.unreadable_frames:,}"),
        ("sequences with no valid frame (skipped)", f"{summary.empty_sequences:,}"),
        ("sequences with fewer than 5 frames", f"{summary.short_sequences:,}"),
        ("store size", _bytes(summary.bytes)),
        ("time", f"{summary.seconds:.1f} s ({summary.raw_frames / summary.seconds:,.0f} frames/s)"),
    ]
    if summary.damaged_files:  # only a pkl tree has sequence files that can be damaged
        rows.insert(-2, ("damaged pkl files (skipped)", f"{summary.damaged_files:,}"))
    if summary.grid_cells is not None:  # subject x condition x view datasets
        rows[-2:-2] = _grid_rows(summary)
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    labels = {
        "unreadable": "unreadable or corrupt PNG, skipped",
        "empty": "no valid frame, sequence skipped",
        "short": "fewer than 5 frames",
        "damaged": "damaged pkl file (truncated or not a pickle), sequence skipped",
    }
    for kind, examples in summary.examples.items():
        for example in examples:
            err_console.print(f"[yellow]warning:[/] {labels[kind]}: {example}", highlight=False)


def _grid_rows(summary) -> list[tuple[str, str]]:
    """The subject x condition x view grid's gaps: how many sequences are absent, and whose."""
    who = summary.incomplete_subjects
    shown = ", ".join(who[:6]) + (f" +{len(who) - 6:,} more" if len(who) > 6 else "")
    return [
        (
            "sequences absent from the full grid",
            f"{summary.absent_sequences:,} of {summary.grid_cells:,}",
        ),
        ("incomplete subjects", f"{len(who):,} ({shown})" if who else "0"),
    ]


def _info_json(info) -> dict:
    prov = info.provenance
    attrs = {k: v for k, v in info.attrs.items() if k not in ("partition", "generator")}
    attrs.update(fingerprint=prov["fingerprint"], kind=prov["kind"])
    return {
        **attrs,
        "fingerprint_source": prov["fingerprint_source"],
        "generator": prov["generator"],
        "partition": json.loads(info.attrs["partition"]) if info.attrs.get("partition") else None,
        "file": info.path.name,
        "subjects": info.subjects,
        "sequences": info.sequences,
        "frames": info.frames,
        "bytes": info.bytes,
        "frames_per_sequence": info.length_stats,
        "short_sequences": info.short_sequences,
        "per_condition_view": {
            str(c): {str(v): int(n) for v, n in row.items()}
            for c, row in info.per_condition.iterrows()
        },
    }


def _attr(key: str, value) -> str:
    """A store attribute as one cell; a partition as its counts, not its id lists."""
    if key == "partition":
        try:
            split = json.loads(value)
            return ", ".join(f"{len(ids)} {name}" for name, ids in split.items()) + " subjects"
        except (TypeError, ValueError, AttributeError):
            pass
    return str(value)


@command("info")
def info_command(
    store: Path = typer.Argument(..., help="A gaitbench store (.h5)."),
    as_json: bool = typer.Option(
        False, "--json", help="Print the attributes (with fingerprint and kind) and counts as JSON."
    ),
) -> None:
    """Summarise a store: subjects, sequences per condition and view, frame counts, attributes
    (with its fingerprint, the content hash results files name it by, and real or synthetic).

    Examples:

        gaitbench info data/casia-b-64.h5
        gaitbench info data/casia-b-64.h5 --json
    """
    # A store written before fingerprints has its fingerprint computed now (seconds).
    with _bar(disable=as_json) as bar:
        task = None

        def tick(done: int, total: int) -> None:
            nonlocal task
            if task is None:
                task = bar.add_task("fingerprint (not stored: computing)", total=total)
            bar.update(task, completed=done)

        info = store_info(store, tick)
    if as_json:
        print(json.dumps(_info_json(info), indent=1))
        return
    head = Table(title=str(info.path), show_header=False)
    head.add_row("subjects", f"{info.subjects:,}")
    head.add_row("sequences", f"{info.sequences:,}")
    head.add_row("frames", f"{info.frames:,}")
    head.add_row("file size", _bytes(info.bytes))
    prov = info.provenance
    shown = dict(info.attrs, kind=prov["kind"], fingerprint=prov["fingerprint"])
    if prov["fingerprint_source"] == "computed":
        shown["fingerprint"] += " (computed now: the store predates stored fingerprints)"
    for key in sorted(shown):
        if key in ("subjects", "sequences", "frames"):  # shown above
            continue
        head.add_row(key, _attr(key, shown[key]))
    console.print(head)
    if info.length_stats:
        s = info.length_stats
        lengths = Table(title="frames per sequence")
        for name in ("min", "p5", "median", "mean", "p95", "max"):
            lengths.add_column(name, justify="right")
        lengths.add_row(
            *(
                f"{s[k]:g}" if isinstance(s[k], int) else f"{s[k]:.1f}"
                for k in ("min", "p5", "median", "mean", "p95", "max")
            )
        )
        console.print(lengths)
        console.print(f"sequences with fewer than 5 frames: {info.short_sequences:,}")
    grid = info.per_condition
    if len(grid):
        counts = Table(title="sequences per condition (rows) and view (columns)")
        counts.add_column("condition")
        views = list(grid.columns)
        shown = views[:16]
        for view in shown:
            counts.add_column(str(view), justify="right")
        if len(views) > len(shown):
            counts.add_column(f"+{len(views) - len(shown)} views", justify="right")
        for cond, row in list(grid.iterrows())[:40]:
            cells = [str(int(row[v])) for v in shown]
            if len(views) > len(shown):
                cells.append(str(int(row[views[len(shown) :]].sum())))
            counts.add_row(str(cond), *cells)
        console.print(counts)
        if len(grid) > 40:
            console.print(f"... and {len(grid) - 40} more conditions")


@command("export")
def export_command(
    store: Path = typer.Argument(..., help="A gaitbench store (.h5)."),
    out: Path = typer.Argument(
        ..., help="OUT.npz for --format npz, a folder for --format opengait."
    ),
    fmt: str = typer.Option("npz", "--format", help="npz | opengait (an OpenGait pkl tree)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing OUT."),
) -> None:
    """Export a store's sequences: one array per sequence keyed SUBJECT__CONDITION__VIEW.

    Examples:

        gaitbench export data/casia-b-64.h5 casia-b.npz
        gaitbench export data/casia-b-64.h5 opengait-tree/ --format opengait   # for OpenGait
    """
    with _bar() as bar:
        task = bar.add_task(f"[bold]export[/] {fmt}", total=None)
        path = export_store(
            store,
            out,
            fmt,
            force=force,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    console.print(f"exported {store} -> [bold]{path}[/] ({fmt})")
