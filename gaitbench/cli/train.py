"""``gaitbench train``: a registered model, its published recipe, one command."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

from gaitbench.cli._app import command, console
from gaitbench.progress import Bar


@command("train")
def train_command(
    model: str = typer.Argument(
        ..., help="Registered model (gaitbench models lists them), e.g. hstl."
    ),
    dataset: Optional[str] = typer.Option(
        None,
        "--dataset",
        help="casia-b (default), oumvlp, grew or gait3d: picks the recipe and default store "
        "(on --resume: the run's).",
    ),
    data: Optional[Path] = typer.Option(
        None,
        "--data",
        "-d",
        help="Store to train on (default: data/<dataset>-64.h5, under $GAITBENCH_DATA).",
    ),
    recipe: Optional[Path] = typer.Option(
        None, "--recipe", help="Recipe YAML (default: baselines/<model>_<dataset>.yaml)."
    ),
    iterations: Optional[int] = typer.Option(
        None, "--iterations", "-n", help="Total iterations (default: the recipe's)."
    ),
    overrides: list[str] = typer.Option(
        [], "--set", help="Override a recipe key, e.g. --set optimizer.lr=3e-4 (repeatable)."
    ),
    out: Optional[Path] = typer.Option(
        None,
        "--out",
        "-o",
        help="Run folder (default: runs/<model>-<dataset>, under $GAITBENCH_RUNS).",
    ),
    resume: bool = typer.Option(
        False,
        "--resume",
        help="Continue from the run's newest readable checkpoint, with the run's settings "
        "(only train.iterations, save/log/eval intervals, keep_last and data.workers may change).",
    ),
    save_every: Optional[int] = typer.Option(
        None, "--save-every", help="Checkpoint every N iterations (default: the recipe's)."
    ),
    device: str = typer.Option(
        "cpu",
        "--device",
        help="auto, cpu, cuda, cuda:N or mps (under torchrun, cuda: each rank's local GPU).",
    ),
    seed: Optional[int] = typer.Option(
        None, "--seed", help="Seed of initialisation and batches (default: the recipe's)."
    ),
    partition: Optional[str] = typer.Option(
        None,
        "--partition",
        help="official (default), ratio:F, selfgait-release (the SelfGait release's split of "
        "CASIA-B sequences, 30-frame windows) or a JSON file of train/test ids.",
    ),
    compile: bool = typer.Option(False, "--compile", help="torch.compile the model."),
    precision: Optional[str] = typer.Option(
        None,
        "--precision",
        help="auto (default: bf16 where the CPU or GPU has it, else the recipe's fp16 AMP on a "
        "GPU and fp32 on a CPU), fp32, bf16 or fp16 (with a loss scaler). Recorded in config.yaml.",
    ),
    tensorboard: bool = typer.Option(
        False, "--tensorboard", help="Also log to RUN/tensorboard (needs tensorboard)."
    ),
    stage: Optional[str] = typer.Option(
        None, "--stage", help="SelfGait only: pretrain (no labels) or finetune."
    ),
    init: Optional[Path] = typer.Option(
        None, "--init", help="SelfGait finetune: the pretrain RUN folder to start from."
    ),
    labels: float = typer.Option(
        1.0,
        "--labels",
        help="SelfGait finetune: fraction of training subjects whose labels are used.",
    ),
    pretext: Optional[str] = typer.Option(
        None, "--pretext", help="SelfGait pretrain: two-view (default) or next-frame."
    ),
    name: Optional[str] = typer.Option(
        None, "--name", help="The run's name in results files (default: the run folder's name)."
    ),
) -> None:
    """Train MODEL with its paper's recipe; writes config.yaml, checkpoints/ and metrics.jsonl.

    Ctrl-C saves a checkpoint and exits; --resume continues bit-exactly. Under torchrun every
    process trains one shard of each batch (DDP).

    Examples:

        gaitbench train hstl                                    # data/casia-b-64.h5 -> runs/hstl-casia-b
        gaitbench train gaitgl --dataset oumvlp --device cuda
        gaitbench train gaitset -n 2000 --set optimizer.lr=0.05 --out runs/gaitset-short
        gaitbench train hstl --out runs/hstl-casia-b --resume
        gaitbench train hstl-tiny --precision fp32 -n 200       # no autocast
        torchrun --nproc_per_node 4 -m gaitbench train hstl --device cuda
        gaitbench train selfgait --stage pretrain --out runs/sg-pre
        gaitbench train selfgait --stage finetune --init runs/sg-pre --labels 0.1
    """
    from gaitbench.training.launch import train_model
    from gaitbench.training.trainer import training_notes

    main_rank = int(os.environ.get("RANK", "0")) == 0
    bar = Bar(
        TextColumn("[bold]train[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}  lr {task.fields[lr]}  {task.fields[speed]} it/s"),
        TimeRemainingColumn(),
        console=console,
        disable=not main_rank,
    )
    task = None

    def on_start(resolved, store, run_dir) -> None:
        nonlocal task
        if main_rank:
            console.print(
                f"[bold]{resolved.model.name}[/] on {store} -> {run_dir}  ({resolved.source or 'custom recipe'})"
            )
            for note in training_notes(resolved, store):
                console.print(note, highlight=False)
        task = bar.add_task(
            resolved.model.name, total=resolved.train.iterations, loss="-", lr="-", speed="-"
        )

    def progress(iteration: int, log: dict | None) -> None:
        fields = {}
        if log is not None:
            fields = {
                "loss": f"{log['loss']:.4f}",
                "lr": f"{log['lr']:.2e}",
                "speed": f"{log['it_per_s']:.2f}",
            }
        bar.update(task, completed=iteration, **fields)
        if log is not None and log.get("collapse_warning"):
            console.print(f"[yellow]warning:[/] {log['collapse_warning']}")

    options = dict(
        dataset=dataset,
        data=data,
        recipe=recipe,
        iterations=iterations,
        overrides=overrides,
        out=out,
        resume=resume,
        save_every=save_every,
        device=device,
        seed=seed,
        partition=partition,
        compile=compile,
        precision=precision,
        tensorboard=tensorboard,
        progress=progress,
        on_start=on_start,
        name=name,
    )
    with bar:
        if stage is not None or init is not None or labels != 1.0 or pretext is not None:
            from gaitbench.training.selfsup import train_selfgait

            result = train_selfgait(
                model,
                stage=stage or "finetune",
                init=init,
                labels=labels,
                label_seed=seed or 0,
                pretext=pretext,
                **options,
            )
        else:
            result = train_model(model, **options)
    if not main_rank:
        return
    for path, reason in result.skipped:
        console.print(f"[yellow]skipped corrupt checkpoint[/] {path}: {reason}")
    if result.resumed_from:
        console.print(f"resumed from {result.resumed_from}")
    if result.interrupted:
        console.print(
            f"interrupted at iteration {result.iteration}; saved {result.checkpoint}; "
            f"continue with --resume"
        )
        raise typer.Exit(130)
    console.print(f"done: iteration {result.iteration}, checkpoint {result.checkpoint}")
