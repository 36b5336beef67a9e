"""Official HSTL / OpenGait checkpoints <-> gaitbench models, through explicit name tables.

Each model module with published weights defines ``PUBLISHED_NAMES``: pairs (our state-dict
prefix, the reference's prefix). An entry of ours is renamed by its longest matching prefix
(no match: the name is the same in both). Nothing is guessed: after renaming, the checkpoint
must hold exactly our entries, with our shapes, or loading fails naming the first entry (in the
checkpoint's order) that does not fit.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

import gaitbench
from gaitbench.errors import GaitbenchError
from gaitbench.models.base import create, get_entry
from gaitbench.paths import atomic_write


def name_table(name: str) -> tuple[tuple[str, str], ...]:
    """The (ours, reference) prefix table of registered model `name`."""
    entry = get_entry(name)
    table = getattr(sys.modules[entry.builder.__module__], "PUBLISHED_NAMES", None)
    if not entry.published or table is None:
        raise GaitbenchError(
            f"model {name!r} has no published checkpoint format; models that "
            "have one: " + ", ".join(n for n in _published_models())
        )
    return tuple(table)


def _published_models() -> list[str]:
    from gaitbench.models.base import list_models

    return [n for n in list_models() if get_entry(n).published]


def reference_name(ours: str, table: tuple[tuple[str, str], ...]) -> str:
    """Our state-dict name -> the reference's, by the longest matching prefix of `table`."""
    best = max(
        (pair for pair in table if ours.startswith(pair[0])), key=lambda p: len(p[0]), default=None
    )
    return ours if best is None else best[1] + ours[len(best[0]) :]


def reference_names(model: nn.Module, name: str) -> dict[str, str]:
    """{reference name: our name} for every state-dict entry of `model` (one to one)."""
    table = name_table(name)
    mapping: dict[str, str] = {}
    for ours in model.state_dict():
        ref = reference_name(ours, table)
        if ref in mapping:  # a table bug, not a user error
            raise ValueError(
                f"name table of {name!r} maps {mapping[ref]!r} and {ours!r} both to {ref!r}"
            )
        mapping[ref] = ours
    return mapping


def _shape(t: Tensor) -> str:
    return "x".join(map(str, t.shape)) or "scalar"


def convert_state_dict(
    reference: dict[str, Tensor], model: nn.Module, name: str, dataset: str
) -> dict[str, Tensor]:
    """Rename a published state dict to `model`'s names, checking every entry and shape."""
    mapping = reference_names(model, name)
    ours = model.state_dict()
    what = f"model {name!r} ({dataset})"
    for ref, value in reference.items():
        if ref not in mapping:
            raise GaitbenchError(
                f"checkpoint entry {ref!r} does not belong to {what}: is it a checkpoint of "
                "another model or dataset variant? (pass the matching --model / --dataset)"
            )
        target = ours[mapping[ref]]
        if tuple(value.shape) != tuple(target.shape):
            raise GaitbenchError(
                f"checkpoint entry {ref!r} has shape {_shape(value)} but {what} needs "
                f"{_shape(target)}: pass the matching --dataset (or --num-classes)"
            )
    missing = [ref for ref in mapping if ref not in reference]
    if missing:
        raise GaitbenchError(
            f"checkpoint lacks entry {missing[0]!r} of {what} "
            f"({len(missing)} missing): pass the matching --model / --dataset"
        )
    return {mapping[ref]: value for ref, value in reference.items()}


def read_checkpoint(path: str | os.PathLike) -> dict[str, Tensor]:
    """The state dict of a published checkpoint file (``{"model": state_dict, ...}`` or a bare
    state dict), read with ``weights_only=True``."""
    path = Path(path)
    if not path.is_file():
        raise GaitbenchError(f"checkpoint {path} not found: check the path")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is a bad file for the user
        raise GaitbenchError(
            f"checkpoint {path} cannot be read as a torch checkpoint "
            f"({type(exc).__name__}): is the file complete?"
        ) from None
    state = data.get("model", data) if isinstance(data, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise GaitbenchError(
            f"checkpoint {path} holds no state dict under 'model': "
            "expected an official HSTL / OpenGait checkpoint"
        )
    return state


def load_published(
    path: str | os.PathLike, name: str, dataset: str = "casia-b", num_classes: int | None = None
) -> nn.Module:
    """Build `name` in its `dataset` variant, load an official checkpoint strictly, eval mode.

    The class count is read from the checkpoint where the variant's differs only there
    (`num_classes` forces it).
    """
    name_table(name)  # a model without a published format fails before the file is read
    state = read_checkpoint(path)
    model = create(name, dataset=dataset, num_classes=num_classes)
    model.load_state_dict(convert_state_dict(state, model, name, dataset), strict=True)
    return model.eval()


def convert_checkpoint(
    path: str | os.PathLike,
    name: str,
    dataset: str,
    out: str | os.PathLike,
    num_classes: int | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Write a published checkpoint as a gaitbench checkpoint (atomically) and return it.

    The result holds `model`, `iteration`, `model_name`, `model_args`, `gaitbench_version` and
    `source`, and rebuilds with `gaitbench.models.build_from_checkpoint`.
    """
    out = Path(out)
    if out.exists() and not force:
        raise GaitbenchError(f"{out} exists: choose another --out or pass --force")
    model = load_published(path, name, dataset, num_classes)
    raw = torch.load(Path(path), map_location="cpu", weights_only=True)
    iteration = int(raw.get("iteration", 0)) if isinstance(raw, dict) else 0
    ckpt = {
        "model": model.state_dict(),
        "iteration": iteration,
        "model_name": name,
        "model_args": dict(model.gaitbench_args),
        "gaitbench_version": gaitbench.__version__,
        "source": str(Path(path).resolve()),
    }
    with atomic_write(out) as tmp:
        torch.save(ckpt, tmp)
    return ckpt
