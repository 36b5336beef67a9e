"""The model zoo: a registry of names -> architectures with each dataset variant's arguments.

    >>> from gaitbench.models import create, list_models
    >>> model = create("hstl", dataset="casia-b")      # the published CASIA-B architecture
    >>> out = model(sils)                               # sils [n, s, 64, 44] in 0..1
    >>> out.embeddings.shape                            # [n, 73, 128]

Model files register themselves with ``@register(name, variants=..., published=...)`` from
`gaitbench.models.base`; this module imports them from `MODEL_MODULES`.
"""

from __future__ import annotations

import importlib
import os

from torch import nn

from gaitbench.models.base import (
    ANY_DATASET,
    DATASET_CLASSES,
    ModelEntry,
    ModelOutput,
    build_from_checkpoint,
    create,
    get_entry,
    list_models,
    register,
)

# One architecture per module. A module not written yet is skipped (models are landed
# independently); any other import error in a model file is a bug and propagates.
MODEL_MODULES = (
    "hstl",
    "gaitgl",
    "gaitset",
    "gaitpart",
    "gaitbase",
    "deepgaitv2",
    "selfgait",
    "gei",
)

for _name in MODEL_MODULES:
    try:
        importlib.import_module(f"gaitbench.models.{_name}")
    except ModuleNotFoundError as _exc:
        if _exc.name != f"gaitbench.models.{_name}":
            raise


def load_published(
    path: str | os.PathLike, name: str, dataset: str = "casia-b", num_classes: int | None = None
) -> nn.Module:
    """Load an official / OpenGait checkpoint into registered model `name` (eval mode).

    See `gaitbench.models.published.load_published`.
    """
    from gaitbench.models.published import load_published as _load

    return _load(path, name, dataset, num_classes)


__all__ = [
    "ANY_DATASET",
    "DATASET_CLASSES",
    "MODEL_MODULES",
    "ModelEntry",
    "ModelOutput",
    "build_from_checkpoint",
    "create",
    "get_entry",
    "list_models",
    "load_published",
    "register",
]
