"""What every gaitbench model returns, and the registry that names them.

The registry lives here rather than in ``gaitbench/models/__init__.py`` so that model files can
import `register` without importing the package that imports them (no circular import).
``gaitbench.models`` re-exports everything public.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from torch import Tensor, nn

from gaitbench.errors import GaitbenchError

# Class counts of each dataset's official training split (the classifier width of a published
# model). Synthetic or custom data sets pass their own `num_classes`.
DATASET_CLASSES: dict[str, int] = {
    "casia-b": 74,
    "oumvlp": 5153,
    "grew": 20000,
    "gait3d": 3000,
    "ccpg": 100,
    "sustech1k": 250,
}

# A variants table key that accepts any dataset name (tiny variants, which exist for tests and
# demos rather than to match a publication).
ANY_DATASET = "*"


@dataclass
class ModelOutput:
    """The result of a forward pass.

    embeddings: [n, parts, channels], the tensor the reference implementation uses at inference.
    logits:     [n, parts, classes], or None for models trained with the triplet loss only.
    features:   [n, parts, channels], what the triplet loss sees; None means `embeddings`.
    """

    embeddings: Tensor
    logits: Tensor | None = None
    features: Tensor | None = None

    @property
    def triplet_features(self) -> Tensor:
        """The tensor the triplet loss uses: `features` where set, else `embeddings`."""
        return self.embeddings if self.features is None else self.features


@dataclass(frozen=True)
class ModelEntry:
    """One registered model name.

    builder:   the class (or function) called with the constructor arguments.
    variants:  dataset -> constructor arguments of that dataset's published variant (the class
               count included); the key `ANY_DATASET` accepts every dataset.
    published: whether `gaitbench.models.published` has a name table for official checkpoints.
    """

    name: str
    builder: Callable[..., nn.Module]
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)
    published: bool = False

    def datasets(self) -> list[str]:
        return sorted(self.variants)

    def arguments(self, dataset: str) -> dict[str, Any]:
        """The constructor arguments for `dataset` (a copy)."""
        if dataset in self.variants:
            return dict(self.variants[dataset])
        if ANY_DATASET in self.variants:
            return dict(self.variants[ANY_DATASET])
        raise GaitbenchError(
            f"model {self.name!r} has no {dataset!r} variant; "
            f"choose --dataset from: {', '.join(self.datasets())}"
        )


_REGISTRY: dict[str, ModelEntry] = {}

B = TypeVar("B", bound=Callable[..., nn.Module])


def register(
    name: str, *, variants: dict[str, dict[str, Any]], published: bool = False
) -> Callable[[B], B]:
    """Decorator: register a model class (or builder) under `name`.

    Stack several to register variants of one class (``hstl`` and ``hstl-tiny``). A name
    registered twice raises, listing what exists, instead of silently replacing the first.
    """

    def decorate(builder: B) -> B:
        if name in _REGISTRY:
            raise GaitbenchError(
                f"model name {name!r} is registered twice ({_REGISTRY[name].builder.__module__} "
                f"and {builder.__module__}); registered: {', '.join(sorted(_REGISTRY))}"
            )
        if not variants:
            raise ValueError(f"model {name!r} registered without any dataset variant")
        _REGISTRY[name] = ModelEntry(
            name, builder, {k: dict(v) for k, v in variants.items()}, published
        )
        return builder

    return decorate


def get_entry(name: str) -> ModelEntry:
    """The registry entry of `name`; an unknown name raises, listing every registered one."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise GaitbenchError(
            f"unknown model {name!r}; registered models: {', '.join(sorted(_REGISTRY)) or 'none'}"
        ) from None


def list_models(pattern: str = "*") -> list[str]:
    """Registered names matching the shell-style `pattern`, sorted."""
    return sorted(n for n in _REGISTRY if fnmatch.fnmatchcase(n, pattern))


def create(
    name: str, dataset: str = "casia-b", num_classes: int | None = None, **overrides: Any
) -> nn.Module:
    """Build registered model `name` in its `dataset` variant.

    `num_classes` replaces the variant's classifier width (e.g. the number of training subjects
    of a synthetic store); `overrides` replace any other constructor argument. The result carries
    ``gaitbench_name`` and ``gaitbench_args`` (these very arguments) so a checkpoint rebuilds it.
    """
    entry = get_entry(name)
    kwargs = entry.arguments(dataset)
    if num_classes is not None:
        kwargs["num_classes"] = int(num_classes)
    kwargs.update(overrides)
    try:
        model = entry.builder(**kwargs)
    except TypeError as exc:  # an override the constructor does not take
        raise GaitbenchError(
            f"cannot build model {name!r} with {sorted(overrides)}: {exc}"
        ) from None
    model.gaitbench_name = name
    model.gaitbench_args = {"dataset": dataset, "num_classes": num_classes, **overrides}
    return model


def build_from_checkpoint(ckpt: dict[str, Any]) -> nn.Module:
    """Rebuild the model a gaitbench checkpoint describes (`model_name`, `model_args`).

    Where the checkpoint holds weights (`model`), they are loaded strictly; the model is returned
    in training mode, as `create` returns it.
    """
    for key in ("model_name", "model_args"):
        if key not in ckpt:
            raise GaitbenchError(
                f"checkpoint has no {key!r} entry: it is not a gaitbench checkpoint "
                "(convert a published one with `gaitbench convert`)"
            )
    model = create(ckpt["model_name"], **dict(ckpt["model_args"]))
    if "model" in ckpt:
        try:
            model.load_state_dict(ckpt["model"], strict=True)
        except RuntimeError as exc:
            first = str(exc).splitlines()[1].strip() if "\n" in str(exc) else str(exc)
            raise GaitbenchError(
                f"checkpoint weights do not fit model {ckpt['model_name']!r}: {first}"
            ) from None
    return model


def check_frame_size(model: nn.Module, size: int, where: str) -> None:
    """Refuse frames of ``size`` x ``size`` (cut to the model's width) that `model` cannot take,
    before any work starts: one forward pass of a blank 4-frame sequence in eval mode (no
    random numbers drawn, no BatchNorm statistics changed). ``where``: the store, for the error.
    """
    import torch

    from gaitbench.data.sampling import cut_and_scale

    sils = cut_and_scale(torch.zeros(1, 4, size, size, dtype=torch.uint8))
    training = model.training
    name = getattr(model, "gaitbench_name", type(model).__name__)
    model.eval()
    try:
        with torch.no_grad():
            model(sils)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0][:160]
        raise GaitbenchError(
            f"model {name} cannot take the {size}x{size} frames of {where} ({first}): "
            "use a store made with --size 64, which every model takes"
        ) from None
    finally:
        model.train(training)
