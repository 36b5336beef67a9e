"""``gaitbench models``, ``gaitbench complexity`` and ``gaitbench convert``."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from gaitbench.cli._app import command, console
from gaitbench.errors import GaitbenchError


@command("models")
def models_cli() -> None:
    """List every registered model with its dataset variants and parameter count.

    Examples:

        gaitbench models
    """
    from gaitbench.reporting.complexity import model_table

    table = Table(title="gaitbench models")
    for col in ("model", "datasets", "published", "params"):
        table.add_column(col, justify="right" if col == "params" else "left")
    for row in model_table():
        datasets = "any" if row["datasets"] == ["*"] else ", ".join(row["datasets"])
        params = f"{row['params']:,}"
        if row["params_dataset"] not in ("casia-b", "*"):
            params += f" ({row['params_dataset']})"
        table.add_row(row["model"], datasets, "yes" if row["published"] else "", params)
    console.print(table)


def _check_dataset(dataset: str) -> None:
    """A dataset some registered model has a variant for (a tiny variant takes any of them)."""
    from gaitbench.models import ANY_DATASET, get_entry, list_models
    from gaitbench.paths import DATASETS

    known = set(DATASETS)
    for name in list_models():
        known.update(get_entry(name).datasets())
    known.discard(ANY_DATASET)
    if dataset not in known:
        raise GaitbenchError(
            f"unknown --dataset {dataset!r}: choose one of {', '.join(sorted(known))}"
        )


@command("complexity")
def complexity_cli(
    model: str = typer.Argument(..., help="Registered model name (see `gaitbench models`)."),
    dataset: str = typer.Option("casia-b", "--dataset", "-d", help="Dataset variant."),
    frames: int = typer.Option(30, "--frames", min=1, help="Frames of the 64x44 input sequence."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Parameters and fvcore FLOPs for one FRAMES x 64 x 44 sequence, with the convention.

    Examples:

        gaitbench complexity hstl
        gaitbench complexity gaitgl --dataset oumvlp --json
    """
    from gaitbench.reporting.complexity import complexity

    _check_dataset(dataset)
    with console.status(f"tracing {model} ({dataset})"):
        result = complexity(model, dataset=dataset, frames=frames)
    if as_json:
        print(json.dumps(result))
        return
    table = Table(title=f"{model} ({dataset}), input {result['input']}", show_header=False)
    table.add_row("parameters", f"{result['params']:,}")
    table.add_row("FLOPs", f"{result['flops']:,} ({result['flops'] / 1e9:.2f} G)")
    for op, n in result["flops_by_operator"].items():
        table.add_row(f"  {op}", f"{n:,}")
    table.add_row("convention", result["convention"])
    table.add_row("skipped", ", ".join(f"{k} x{v}" for k, v in result["skipped"].items()) or "-")
    console.print(table)


@command("convert")
def convert_cli(
    checkpoint: Path = typer.Argument(..., help="Official HSTL / OpenGait checkpoint (.pt)."),
    model: str = typer.Option(..., "--model", "-m", help="Registered model name."),
    dataset: str = typer.Option("casia-b", "--dataset", "-d", help="Dataset variant."),
    out: Path = typer.Option(..., "--out", "-o", help="gaitbench checkpoint to write."),
    num_classes: int = typer.Option(
        None, "--num-classes", help="Classifier width, if not the variant's published one."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite OUT."),
) -> None:
    """Load a published checkpoint strictly and write it as a gaitbench checkpoint.

    Examples:

        gaitbench convert HSTL-80000.pt --model hstl --dataset casia-b --out hstl-casia-b.pt
        gaitbench evaluate hstl-casia-b.pt --data data/casia-b-64.h5
    """
    from gaitbench.models.published import convert_checkpoint

    _check_dataset(dataset)
    with console.status(f"converting {checkpoint}"):
        ckpt = convert_checkpoint(checkpoint, model, dataset, out, num_classes, force)
    console.print(
        f"wrote {out}: {model} ({dataset}), {len(ckpt['model'])} entries, "
        f"iteration {ckpt['iteration']}"
    )
