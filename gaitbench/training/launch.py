"""What ``gaitbench train`` does before the loop: resolve the recipe and its overrides, check the
store and the model against each other, then hold the run folder (`run_folder`) and `train`.

Everything a user can get wrong is checked here, before the first line of output and before
anything is written; `gaitbench.training.trainer` is left the loop itself.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

import torch

from gaitbench.device import resolve_device
from gaitbench.errors import GaitbenchError
from gaitbench.models.base import check_frame_size
from gaitbench.paths import check_output
from gaitbench.training import run_folder
from gaitbench.training.config import Recipe
from gaitbench.training.runinfo import set_run_name
from gaitbench.training.trainer import (
    TrainResult,
    check_batch_fits,
    store_partition,
    train,
    training_split,
)


def refuse_parameter_free(name: str, dataset: str) -> None:
    """A model with nothing to train (``gei``) is evaluated directly, never trained."""
    from gaitbench.models import create

    with torch.device("meta"):  # no memory, no initialisation: only the parameter list matters
        model = create(name, dataset=dataset)
    if not any(p.requires_grad for p in model.parameters()):
        raise GaitbenchError(
            f"model {name!r} has no trainable parameters, so there is nothing to train: "
            f"evaluate it directly with `gaitbench evaluate --model {name} --data STORE`"
        )


def train_model(
    model: str,
    *,
    dataset: str | None = None,
    data: str | Path | None = None,
    recipe: str | Path | None = None,
    iterations: int | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    out: str | Path | None = None,
    resume: bool = False,
    save_every: int | None = None,
    device: str = "cpu",
    seed: int | None = None,
    partition: str | None = None,
    compile: bool = False,
    precision: str | None = None,
    tensorboard: bool = False,
    progress: Callable[[int, dict | None], None] | None = None,
    on_start: Callable[[Recipe, Path, Path], None] | None = None,
    runner: Callable[..., TrainResult] | None = None,
    name: str | None = None,
) -> TrainResult:
    """What ``gaitbench train`` does: resolve the recipe, store and run folder, then `train`.

    The recipe is ``--recipe``, else (on ``--resume``) the run's own ``config.yaml``, else the
    published ``baselines/<model>_<dataset>.yaml``; explicit options override it in the order
    recipe < ``--set`` < the named options (a key given both ways is refused). ``dataset``
    defaults to casia-b, or on ``--resume`` to the run's. The run folder is locked while the
    run lives, and a resume must keep the run's settings (see `gaitbench.training.run_folder`).
    ``on_start(recipe, store, run_dir)`` is called once everything is resolved and checked (the
    CLI prints a header there). ``runner`` replaces `train` with a function of the same
    signature (SelfGait's pretrain / finetune stages). ``name``: the run's name in
    its results files (default: the run folder's name), kept in ``RUN/run.json``.
    """
    from gaitbench.data.store import Store
    from gaitbench.models import create, get_entry
    from gaitbench.paths import default_store, runs_root
    from gaitbench.training.config import find_recipe, load_recipe

    get_entry(model)  # an unknown name fails here, listing the registered models
    refuse_parameter_free(model, dataset or "casia-b")
    device = resolve_device(device)
    if name is not None and not name.strip():
        raise GaitbenchError("--name is empty: give the run a name, or leave --name out")
    run_dir = Path(out) if out is not None else runs_root() / f"{model}-{dataset or 'casia-b'}"
    if resume and not run_folder.has_checkpoint(run_dir):
        raise run_folder.nothing_to_resume(run_dir)
    own_config = run_dir / run_folder.CONFIG_NAME
    if recipe is not None:
        path = Path(recipe)
    elif resume and own_config.is_file():
        path = own_config
    else:
        path = find_recipe(model, dataset or "casia-b")
    named = {"model.name": ("MODEL", model)}
    if dataset is not None or not resume:
        named["dataset"] = ("--dataset", dataset or "casia-b")
    for key, option, value in (
        ("train.iterations", "--iterations", iterations),
        ("train.save_every", "--save-every", save_every),
        ("train.seed", "--seed", seed),
        ("data.partition", "--partition", partition),
        ("train.compile", "--compile", True if compile else None),
        ("train.precision", "--precision", precision),
    ):
        if value is not None:
            named[key] = (option, value)
    for item in overrides:
        key = item.partition("=")[0].strip()
        if key in named:
            raise GaitbenchError(
                f"--set {item!r} and {named[key][0]} both set {key}: give it once, "
                f"as {named[key][0]}"
            )
    resolved = load_recipe(
        path, [*overrides, *(f"{key}={value}" for key, (_, value) in named.items())]
    )

    store = Path(data) if data is not None else default_store(resolved.dataset)
    if not store.is_file():
        hint = "" if data is not None else " (the default store; $GAITBENCH_DATA moves it)"
        raise GaitbenchError(
            f"store {store} not found{hint}: make it with `gaitbench prep {resolved.dataset} "
            f"RAW_DIR` or `gaitbench synth {store}`, or pass --data"
        )
    with Store(store) as opened:  # a truncated or foreign file fails here, before any output
        # and so do a partition that does not fit it and a batch with more subjects than it has
        _, _, classes = training_split(opened, store_partition(resolved, opened))
        check_batch_fits(resolved, len(classes), store)
        size = opened.size
    # So do model arguments the constructor does not take and frames the model cannot take.
    check_frame_size(create(model, resolved.dataset, **resolved.model.args), size, str(store))
    check_output(run_dir, folder=True)
    # Every rank of a torchrun job trains into the same folder; rank 0 holds its lock.
    main_rank = int(os.environ.get("RANK", "0")) == 0
    with run_folder.locked(run_dir) if main_rank else nullcontext():
        if resume:
            run_folder.check_resume(run_dir, resolved)
        else:
            run_folder.refuse_existing_run(run_dir)
        if on_start is not None:
            on_start(resolved, store, run_dir)
        if name is not None and main_rank:
            set_run_name(run_dir, name)
        return (runner or train)(
            resolved,
            store,
            run_dir,
            device=device,
            resume=resume,
            progress=progress,
            tensorboard=tensorboard,
        )
