"""Training recipes: typed dataclasses, YAML loading, ``--set key=value`` overrides.

A recipe is read once, at the edge (the CLI), into a `Recipe`; every library function below it
takes plain values. An unknown key, a wrong type or a bad value is a `GaitbenchError` that names
the key, never a silently dropped setting. The published recipes live in ``gaitbench/recipes/``
(package data, so an installed wheel has them; ``baselines/`` at the top of the source tree links
there); `find_recipe` locates them relative to the package, never the working directory.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from gaitbench.errors import GaitbenchError

SampleType = Literal["fixed_ordered", "fixed_unordered", "unfixed_ordered", "unfixed_unordered"]
AUGMENTATIONS = ("rotate", "erase", "perspective", "flip", "frame-flip")


@dataclass
class ModelConfig:
    name: str = "hstl"
    """Registered model name (``gaitbench models`` lists them)."""
    num_classes: int | None = None
    """Published class count; the trainer uses the number of training subjects it finds."""
    args: dict[str, Any] = field(default_factory=dict)
    """Extra constructor overrides passed to ``gaitbench.models.create``."""


@dataclass
class Augmentation:
    name: str = "rotate"
    """One of rotate (+-10 degrees), erase (5-20 % of the frame), perspective, flip, frame-flip
    (each frame flipped on its own draw, as the SelfGait release)."""
    p: float = 0.5
    """Probability per sequence (one draw for the whole sequence, as OpenGait); per frame for
    frame-flip."""


@dataclass
class DataConfig:
    ids_per_batch: int = 8
    """P: identities per batch."""
    seqs_per_id: int = 8
    """K: sequences per identity (drawn with replacement when an identity has fewer)."""
    sample_type: SampleType = "fixed_ordered"
    frames: int = 30
    """Frames per sequence for the fixed_* sample types."""
    frames_skip: int = 0
    """fixed_ordered: the clip is drawn from a random window of frames + frames_skip."""
    frames_min: int = 25
    """unfixed_*: frame count drawn uniformly from [frames_min, frames_max] per sequence."""
    frames_max: int = 50
    partition: str = "official"
    """``official``, ``ratio:F`` or a JSON file (see gaitbench.data.partitions)."""
    augment: list[Augmentation] = field(default_factory=list)
    workers: int = 2
    """DataLoader worker processes (each opens the store lazily); 0 loads in the main process."""
    in_memory: bool = False
    """Hold the whole store in memory (fast GPU training on a machine with the RAM for it)."""


@dataclass
class OptimizerConfig:
    name: Literal["adam", "sgd"] = "adam"
    lr: float = 1e-4
    weight_decay: float = 0.0
    momentum: float = 0.9
    """SGD only (Adam has no momentum argument; OpenGait's Adam configs carry one unused)."""


@dataclass
class SchedulerConfig:
    milestones: list[int] = field(default_factory=list)
    """Iterations at which the learning rate is multiplied by gamma (MultiStepLR)."""
    gamma: float = 0.1


@dataclass
class LossConfig:
    triplet_weight: float = 1.0
    triplet_margin: float = 0.2
    ce_weight: float = 0.0
    """0 turns the cross-entropy term off (GaitSet, GaitPart train with the triplet loss only)."""
    ce_scale: float = 1.0
    """Logits are multiplied by this before the softmax (16 for GaitBase's cosine logits)."""
    label_smoothing: float = 0.0


@dataclass
class TrainConfig:
    iterations: int = 90000
    save_every: int = 10000
    keep_last: int = 3
    """Checkpoints kept besides last.pt; older ones are deleted."""
    log_every: int = 100
    eval_every: int = 0
    """Run the dataset's protocol every N iterations (0: never)."""
    amp: bool = True
    """The recipe's mixed precision on a GPU (``precision: auto`` reads it; false means fp32)."""
    amp_dtype: Literal["bf16", "fp16"] = "bf16"
    """bf16 needs no loss scaler; fp16 uses a GradScaler (the reference implementations' choice)."""
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    """The arithmetic the run trains in (see gaitbench/training/precision.py); a run's config.yaml
    records the resolved one, never auto."""
    sync_bn: bool = False
    """Convert BatchNorm to SyncBatchNorm when running under torchrun with CUDA."""
    compile: bool = False
    channels_last: bool | None = None
    """Weights and activations in channels-last(-3d) layout. None (auto): on for CPU training,
    where oneDNN's convolutions are fastest in it (benchmarks/train.py --step), off on a GPU as
    released; a run's config.yaml records the resolved value."""
    seed: int = 0


@dataclass
class Recipe:
    model: ModelConfig = field(default_factory=ModelConfig)
    dataset: str = "casia-b"
    source: str = ""
    """Where the published setting comes from."""
    data: DataConfig = field(default_factory=DataConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (YAML- and checkpoint-safe) that `recipe_from_dict` reads back."""
        return dataclasses.asdict(self)


# ---------------------------------------------------------------------------------------------
# Building dataclasses from plain data, with the key path in every error.


def _coerce(value: Any, tp: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], key)
    if origin is Literal:
        if value not in args:
            raise GaitbenchError(f"{key}: {value!r} is not one of {', '.join(map(str, args))}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise GaitbenchError(f"{key}: expected a list, got {value!r}")
        return [_coerce(v, args[0], f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise GaitbenchError(f"{key}: expected a mapping, got {value!r}")
        return dict(value)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise GaitbenchError(f"{key}: expected a mapping, got {value!r}")
        return _build(tp, value, key)
    if tp is bool:
        if not isinstance(value, bool):
            raise GaitbenchError(f"{key}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise GaitbenchError(f"{key}: expected an integer, got {value!r}")
        return value
    if tp is float:
        # YAML reads "1e-4" (no dot) as a string; accept it as the number it plainly is.
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise GaitbenchError(f"{key}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise GaitbenchError(f"{key}: expected a string, got {value!r}")
        return value
    return value


def _build(cls: type, data: dict[str, Any], prefix: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if key not in names:
            raise GaitbenchError(
                f"unknown recipe key {path!r}: valid keys here are {', '.join(names)}"
            )
        kwargs[key] = _coerce(value, hints[key], path)
    return cls(**kwargs)


def validate(recipe: Recipe) -> Recipe:
    """Reject values no run could use; returns the recipe unchanged."""
    d, t = recipe.data, recipe.train
    checks = [
        (
            d.ids_per_batch >= 2,
            "data.ids_per_batch must be >= 2 (the triplet loss needs negatives)",
        ),
        (d.seqs_per_id >= 1, "data.seqs_per_id must be >= 1"),
        (d.frames >= 1, "data.frames must be >= 1"),
        (d.frames_skip >= 0, "data.frames_skip must be >= 0"),
        (1 <= d.frames_min <= d.frames_max, "data.frames_min must be in 1..data.frames_max"),
        (d.workers >= 0, "data.workers must be >= 0"),
        (recipe.optimizer.lr > 0, "optimizer.lr must be > 0"),
        (t.iterations >= 1, "train.iterations must be >= 1"),
        (t.save_every >= 1, "train.save_every must be >= 1"),
        (t.keep_last >= 1, "train.keep_last must be >= 1"),
        (t.log_every >= 1, "train.log_every must be >= 1"),
        (t.eval_every >= 0, "train.eval_every must be >= 0"),
        (0 <= t.seed < 2**32, "train.seed (--seed) must be in 0..2**32 - 1"),
        (0 <= recipe.loss.label_smoothing < 1, "loss.label_smoothing must be in [0, 1)"),
        (
            recipe.loss.triplet_weight > 0 or recipe.loss.ce_weight > 0,
            "loss: at least one of triplet_weight and ce_weight must be > 0",
        ),
        (
            list(recipe.scheduler.milestones) == sorted(recipe.scheduler.milestones),
            "scheduler.milestones must be increasing",
        ),
    ]
    for ok, message in checks:
        if not ok:
            raise GaitbenchError(message)
    for i, aug in enumerate(d.augment):
        if aug.name not in AUGMENTATIONS:
            raise GaitbenchError(
                f"data.augment[{i}].name: {aug.name!r} is not one of {', '.join(AUGMENTATIONS)}"
            )
        if not 0 <= aug.p <= 1:
            raise GaitbenchError(f"data.augment[{i}].p must be in [0, 1]")
    return recipe


def recipe_from_dict(data: dict[str, Any]) -> Recipe:
    """Build and validate a `Recipe` from plain data; unknown keys raise `GaitbenchError`."""
    if not isinstance(data, dict):
        raise GaitbenchError(
            "a recipe must be a YAML mapping with model, data, optimizer, ... keys"
        )
    return validate(_build(Recipe, data))


def load_recipe(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Recipe:
    """Read a recipe YAML, apply ``key=value`` overrides, validate."""
    path = Path(path)
    if not path.is_file():
        raise GaitbenchError(f"recipe {path} not found: give an existing YAML file to --recipe")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0]
        raise GaitbenchError(f"recipe {path} is not valid YAML ({first}): fix the file") from None
    return apply_overrides(recipe_from_dict(data), overrides)


def apply_overrides(recipe: Recipe, overrides: list[str] | tuple[str, ...]) -> Recipe:
    """``["optimizer.lr=3e-4", "data.frames=20"]`` -> a new validated recipe.

    Values are parsed as YAML scalars (``3e-4``, ``true``, ``[1000, 2000]``, ``null``); the key
    must exist in the recipe, else the error names it.
    """
    data = recipe.to_dict()
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise GaitbenchError(
                f"--set {item!r}: write it as section.key=value, e.g. optimizer.lr=3e-4"
            )
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        node = data
        parts = key.split(".")
        for depth, part in enumerate(parts[:-1]):
            if not isinstance(node, dict) or part not in node or not isinstance(node[part], dict):
                raise GaitbenchError(
                    f"--set {item!r}: unknown recipe key {'.'.join(parts[: depth + 1])!r}"
                )
            node = node[part]
        leaf = parts[-1]
        # model.args is a free mapping of constructor overrides; everything else must exist.
        if leaf not in node and parts[:-1] != ["model", "args"]:
            raise GaitbenchError(f"--set {item!r}: unknown recipe key {key!r}")
        node[leaf] = value
    return recipe_from_dict(data)


def save_recipe(recipe: Recipe, path: Path) -> None:
    """Write the resolved recipe as YAML, atomically."""
    from gaitbench.paths import atomic_write

    with atomic_write(path) as tmp:
        tmp.write_text(yaml.safe_dump(recipe.to_dict(), sort_keys=False))


def recipe_dirs() -> list[Path]:
    """Where published recipes are looked up: the package's own copy (``gaitbench/recipes``, which
    ships in the wheel; ``baselines/`` in the source tree is a link to it)."""
    package = Path(__file__).resolve().parents[1]
    return [package / "recipes"]


def list_recipes() -> list[Path]:
    seen: dict[str, Path] = {}
    for folder in recipe_dirs():
        for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
            seen.setdefault(path.name, path)
    return [seen[name] for name in sorted(seen)]


def find_recipe(model: str, dataset: str) -> Path:
    """The published recipe for ``model`` on ``dataset``.

    A tiny test variant (``hstl-tiny``) uses its family's recipe (``hstl``): the family is the
    registered name up to the first hyphen, which is how every variant in the registry is named.
    """
    candidates = [f"{model}_{dataset}.yaml"]
    family = model.split("-")[0]
    if family != model:
        candidates.append(f"{family}_{dataset}.yaml")
    for name in candidates:
        for folder in recipe_dirs():
            if (folder / name).is_file():
                return folder / name
    known = ", ".join(p.stem for p in list_recipes()) or "none found"
    raise GaitbenchError(
        f"no published recipe for {model} on {dataset} (looked for {candidates[0]}): "
        f"pass --recipe FILE; known recipes: {known}"
    )
