"""``gaitbench evaluate``: a run folder, a checkpoint or an embeddings file -> the protocol's figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from gaitbench.cli._app import command, console
from gaitbench.errors import GaitbenchError
from gaitbench.progress import Bar

BATCH_SIZE = 16


def _progress_factory(progress: Bar):
    def make(description: str, total: int):
        task = progress.add_task(description, total=total)
        return lambda n: progress.advance(task, n)

    return make


def _fmt(x, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _print_result(ev) -> None:
    result = ev.result
    # No vertical rules: 11 views + mean must fit an 80-column terminal.
    console.print(f"[bold]{result.label}[/] (distance: {result.metric})")
    order = ev.results.get("frame_order")
    if order:
        console.print(f"frames of every test sequence in a random order (seed {order['seed']})")
    table = Table(box=None, pad_edge=False, header_style="bold underline")
    if result.rank1_matrix:
        table.add_column("probe", no_wrap=True)
        for v in result.views:
            table.add_column(v, justify="right", no_wrap=True, min_width=4)
        table.add_column("mean", justify="right", style="bold", no_wrap=True, min_width=5)
        for cond, m in result.metrics.items():
            per = m["rank1_per_view"]
            # One decimal per view, as papers print them; the mean keeps two.
            table.add_row(cond, *[_fmt(per[v], 1) for v in result.views], _fmt(m["rank1"]))
    else:
        for key in result.metrics:
            table.add_column(key, justify="right")
        table.add_row(*[_fmt(v) for v in result.metrics.values()])
    console.print(table)
    for line in dropped_lines(result):
        console.print(line, highlight=False)
    if ev.results_path:
        console.print(f"results: {ev.results_path}")


def dropped_lines(result) -> list[str]:
    """One line per kind of test data the protocol could not use as designed (none: no line)."""
    lines = []
    gaps = {c: m for c, m in result.missing_gallery.items() if m["missing"]}
    if gaps:
        how = (
            "left out (--drop-missing)"
            if result.options.get("drop_missing")
            else "counted as misses, as the reference does (--drop-missing: left out)"
        )
        counts = ", ".join(f"{c} {m['missing']:,} of {m['pairs']:,}" for c, m in gaps.items())
        lines.append(f"probe x gallery-view pairs without the probe's subject: {counts}; {how}")
    if result.n_unused:
        lines.append(
            f"test sequences neither probe nor gallery under {result.protocol} (unused): "
            f"{result.n_unused:,}"
        )
    return lines


@command("evaluate")
def evaluate_cmd(
    target: Optional[Path] = typer.Argument(
        None,
        help="Run folder (uses checkpoints/last.pt) or checkpoint file (gaitbench or published).",
    ),
    data: Optional[Path] = typer.Option(
        None, "--data", "-d", help="Store to extract from (default: data/<dataset>-64.h5)."
    ),
    protocol: Optional[str] = typer.Option(
        None,
        "--protocol",
        "-p",
        help="casia-b, oumvlp, grew, gait3d, or selfgait-release (SelfGait's own CASIA-B split "
        "and 30-frame windows, on which its published figures were measured); default: the "
        "dataset's, or selfgait-release for a run trained on that split.",
    ),
    metric: str = typer.Option(
        "euc", "--metric", help="euc (per-part Euclidean, averaged) or cos."
    ),
    model: Optional[str] = typer.Option(
        None,
        "--model",
        help="Published checkpoint: the registered model name (e.g. hstl). Alone (no TARGET): "
        "a model without trainable parameters, e.g. gei, run as registered on --data.",
    ),
    dataset: Optional[str] = typer.Option(
        None, "--dataset", help="Published checkpoint: its dataset (e.g. casia-b)."
    ),
    partition: Optional[str] = typer.Option(
        None, "--partition", help="official, ratio:F or a JSON file (default: the run's)."
    ),
    embeddings: Optional[Path] = typer.Option(
        None, "--embeddings", help="Evaluate a saved embeddings file instead of a model."
    ),
    drop_missing: bool = typer.Option(
        False,
        "--drop-missing",
        help="OU-MVLP variant: leave out probes whose subject is absent from a gallery view (default: count them as misses, as the reference).",
    ),
    submission: Optional[Path] = typer.Option(
        None,
        "--submission",
        help="GREW: write the official server's CSV (probe id + top-20 subject ids) here.",
    ),
    device: str = typer.Option("cpu", "--device", help="auto, cpu, cuda, cuda:N or mps."),
    batch_size: int = typer.Option(
        BATCH_SIZE,
        "--batch-size",
        help="Sequences per forward pass (equal lengths are batched together).",
    ),
    out_dir: Optional[Path] = typer.Option(
        None,
        "--out",
        help="Folder for embeddings and results (default: the run folder; for --model gei "
        "alone, runs/gei-<store file stem>; with --embeddings: the results only, written only "
        "when given).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print only the results JSON on stdout."),
    shuffle_frames: Optional[int] = typer.Option(
        None,
        "--shuffle-frames",
        metavar="SEED",
        help="Diagnostic: every test sequence's frames in a random order (one permutation per "
        "sequence and SEED): how much the model relies on frame order. Writes "
        "results-<protocol>-shuffled.json beside the run's own results.",
    ),
) -> None:
    """Extract test-set embeddings, run the dataset's protocol, print the figures, write results JSON.

    Examples:

        gaitbench evaluate runs/hstl
        gaitbench evaluate HSTL-90000.pt --model hstl --dataset casia-b --data data/casia-b-64.h5
        gaitbench evaluate --embeddings runs/hstl/embeddings-casia-b.h5 --protocol casia-b --json
        gaitbench evaluate runs/hstl-grew --protocol grew --submission grew.csv
        gaitbench evaluate runs/selfgait --protocol selfgait-release
        gaitbench evaluate --model gei --data data/casia-b-64.h5      # the non-learned floor
        gaitbench evaluate runs/hstl --shuffle-frames 7   # frames in a random order
    """
    from gaitbench.evaluation.api import evaluate_file, evaluate_target

    if embeddings is not None:
        if target is not None:
            raise GaitbenchError(
                "pass either a run folder / checkpoint or --embeddings FILE, not both"
            )
        given = {
            "--data": data,
            "--model": model,
            "--dataset": dataset,
            "--partition": partition,
            "--batch-size": batch_size if batch_size != BATCH_SIZE else None,
            "--shuffle-frames": shuffle_frames,
        }
        for option, value in given.items():
            if value is not None:
                raise GaitbenchError(
                    f"{option} has no effect with --embeddings (the embeddings are already "
                    f"extracted): drop it, or evaluate a run folder or checkpoint"
                )
        ev = evaluate_file(
            embeddings, protocol, metric, device, drop_missing, submission, out_dir=out_dir
        )
    elif target is None and model is None:
        raise GaitbenchError(
            "nothing to evaluate: pass a run folder, a checkpoint, --embeddings FILE, or "
            "--model gei --data STORE (the non-learned floor)"
        )
    else:
        with Bar(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            disable=as_json,
        ) as progress:
            ev = evaluate_target(
                target,
                data=data,
                protocol=protocol,
                metric=metric,
                model_name=model,
                dataset=dataset,
                partition=partition,
                device=device,
                batch_size=batch_size,
                drop_missing=drop_missing,
                submission=submission,
                out_dir=out_dir,
                progress=_progress_factory(progress),
                shuffle_frames=shuffle_frames,
            )
    if as_json:
        print(json.dumps(ev.results, indent=1))
        return
    if ev.submission_path:
        console.print(f"GREW submission: {ev.submission_path}")
    if ev.result is not None:
        _print_result(ev)
