"""Train / test partitions: the datasets' official splits and user-given ones.

Official splits (reference/FACTS.md section 3):

- ``casia-b``: subjects 001-074 train (005 included, 74 classes), 075-124 test (``casia-b.json``).
- ``oumvlp``: odd subject ids train, even ids test (5,153 / 5,154), by rule.
- ``grew``: by rule on OpenGait's naming (see `gaitbench.data.layouts`): training subjects carry the
  suffix ``train`` (``00001train``); test gallery subjects are plain ids and probes the subject
  ``probe``.
- ``gait3d``: OpenGait's ``Gait3D.json`` (3,000 train / 1,000 test ids, 1,000 probe sequences),
  shipped as ``gait3d.json``. Probe entries name one sequence each as
  ``"<subject>-<condition>-<view>"``, e.g. ``"0002-camid33_videoid2-seq0"``.

`resolve_partition` turns a ``--partition`` spec into a `Partition` restricted to the subjects a
store actually holds, and refuses a split that would leave train or test empty.

``selfgait-release`` is not a split of subjects but of sequences, the SelfGait release's
(github EchoItLiu/SelfGait @80a26fd, models/utils/data_loader.py): keep the sequences of at least
30 frames, drop CASIA-B subject 005, order the list by subject, condition and view, and put the
first ``floor(0.8 n)`` in training and the rest in test (so one subject can straddle the cut);
each sequence is then one 30-frame window, for training and test alike. The release draws each
window's start at random on every load; here it is drawn once per sequence from a generator
seeded with the sequence's name, so the split is the same on every machine.
"""

from __future__ import annotations

import json
import math
import zlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from gaitbench.errors import GaitbenchError

SPEC_HELP = (
    "use `official`, `ratio:0.6` (first 60 % of sorted subjects train), `selfgait-release` "
    "(CASIA-B) or a JSON file"
)
SELFGAIT_RELEASE = "selfgait-release"
RELEASE_FRAMES = 30  # the release's f_length: minimum length and window
RELEASE_TRAIN_FRACTION = 0.8  # its partition_rate
RELEASE_DROPPED = ("005",)  # CASIA-B's incomplete subject, skipped by the release's loader


@dataclass
class SequenceSplit:
    """A split of store rows, each sequence cut to one fixed window (the SelfGait release's)."""

    train_rows: np.ndarray
    test_rows: np.ndarray
    windows: dict[int, tuple[int, int]]
    """Store row -> (first frame, end) of the window it is used as."""

    def windows_of(self, rows: Any) -> list[tuple[int, int]]:
        return [self.windows[int(r)] for r in rows]


@dataclass
class Partition:
    """Subject ids for training and testing; ``probe`` lists probe sequences where the protocol
    fixes them (Gait3D), as ``"<subject>-<condition>-<view>"``; ``sequences`` is set for a split
    by sequence (``selfgait-release``), whose subject lists may then share the boundary subject."""

    train: list[str]
    test: list[str]
    probe: list[str] | None = None
    sequences: SequenceSplit | None = None

    def to_dict(self) -> dict:
        out = {"train": list(self.train), "test": list(self.test)}
        if self.probe is not None:
            out["probe"] = list(self.probe)
        return out


def _package_json(name: str) -> dict:
    return json.loads(resources.files(__name__).joinpath(name).read_text(encoding="utf-8"))


def official_partition(dataset: str, subjects: list[str]) -> Partition:
    """The dataset's published split over ``subjects`` (rule-based splits need the ids)."""
    if dataset == "casia-b":
        doc = _package_json("casia-b.json")
        return Partition(doc["train"], doc["test"])
    if dataset == "gait3d":
        doc = _package_json("gait3d.json")
        return Partition(doc["train"], doc["test"], doc["probe"])
    if dataset == "oumvlp":
        bad = [s for s in subjects if not s.isdigit()]
        if bad:
            raise GaitbenchError(
                f"OU-MVLP subject id {bad[0]!r} is not a number, so the odd/even official split "
                f"cannot place it: {SPEC_HELP}"
            )
        return Partition(
            [s for s in subjects if int(s) % 2 == 1], [s for s in subjects if int(s) % 2 == 0]
        )
    if dataset == "grew":
        return Partition(
            [s for s in subjects if s.endswith("train")],
            [s for s in subjects if not s.endswith("train")],
        )
    raise GaitbenchError(f"dataset {dataset!r} has no official partition: {SPEC_HELP}")


def _from_json(path: Path) -> Partition:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise GaitbenchError(f"partition file {path} unreadable ({reason}): {SPEC_HELP}") from None
    except json.JSONDecodeError as exc:
        where = f"{exc.msg}, line {exc.lineno}"
        raise GaitbenchError(f"partition file {path} is not valid JSON ({where})") from None
    return _from_dict(doc, f"partition file {path}")


def _from_dict(doc: object, what: str) -> Partition:
    if not isinstance(doc, dict) or not {"train", "test"} <= set(doc):
        raise GaitbenchError(f'{what} must be a JSON object with "train" and "test" lists of ids')
    unknown = set(doc) - {"train", "test", "probe", "source"}
    if unknown:
        key = sorted(unknown)[0]
        raise GaitbenchError(f"{what} has unknown key {key!r}: allowed are train, test, probe")
    lists = {}
    for key in ("train", "test", "probe"):
        value = doc.get(key)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
            raise GaitbenchError(f'{what}: "{key}" must be a list of subject ids')
        lists[key] = [str(v) for v in value]
    return Partition(lists["train"], lists["test"], lists.get("probe"))


def _ratio(spec: str, subjects: list[str]) -> Partition:
    try:
        fraction = float(spec.split(":", 1)[1])
    except ValueError:
        msg = f"partition {spec!r}: the ratio must be a number (ratio:0.6)"
        raise GaitbenchError(msg) from None
    if not 0.0 < fraction < 1.0:
        raise GaitbenchError(f"partition {spec!r}: the ratio must lie strictly between 0 and 1")
    ordered = sorted(subjects)
    n_train = int(len(ordered) * fraction)
    return Partition(ordered[:n_train], ordered[n_train:])


def release_window(subject: str, condition: str, view: str, length: int) -> tuple[int, int]:
    """The fixed ``RELEASE_FRAMES``-frame window of a sequence of ``length`` frames: its start
    drawn uniformly from a generator seeded with the sequence's name."""
    seed = zlib.crc32(f"{subject}-{condition}-{view}".encode())
    start = int(np.random.default_rng(seed).integers(0, length - RELEASE_FRAMES + 1))
    return start, start + RELEASE_FRAMES


def selfgait_release_split(dataset: str, index: Any) -> Partition:
    """The SelfGait release's split of a store's ``index`` (columns subject, condition, view,
    length; row i = store row i). See the module docstring."""
    if dataset != "casia-b":
        raise GaitbenchError(
            f"partition {SELFGAIT_RELEASE} is the release's CASIA-B split; this store is "
            f"{dataset}: use `official`"
        )
    subject = index["subject"].astype(str).to_numpy()
    condition = index["condition"].astype(str).to_numpy()
    view = index["view"].astype(str).to_numpy()
    length = index["length"].to_numpy()
    keep = np.flatnonzero((length >= RELEASE_FRAMES) & ~np.isin(subject, RELEASE_DROPPED))
    order = keep[np.lexsort((view[keep], condition[keep], subject[keep]))]
    cut = math.floor(len(order) * RELEASE_TRAIN_FRACTION)
    train_rows, test_rows = np.sort(order[:cut]), np.sort(order[cut:])
    if len(train_rows) == 0 or len(test_rows) == 0:
        raise GaitbenchError(
            f"partition {SELFGAIT_RELEASE} leaves {len(train_rows)} training and "
            f"{len(test_rows)} test sequences of >= {RELEASE_FRAMES} frames in this store: "
            "it needs a CASIA-B store with more sequences"
        )
    windows = {
        int(r): release_window(subject[r], condition[r], view[r], int(length[r])) for r in order
    }
    return Partition(
        train=sorted(set(subject[train_rows])),
        test=sorted(set(subject[test_rows])),
        sequences=SequenceSplit(train_rows, test_rows, windows),
    )


def resolve_partition(
    spec: str,
    dataset: str,
    subjects: list[str],
    store_partition: dict | None = None,
    index: Any = None,
) -> Partition:
    """Resolve ``spec`` (``official`` | ``ratio:F`` | ``selfgait-release`` | path to JSON) against
    a store's subjects (and, for ``selfgait-release``, its ``index``).

    ``official`` uses the store's own partition attribute when it has one (e.g. a synthetic
    store), else the dataset's published split. The result keeps only subjects present in the
    store, in the split's order; every store subject must be placed and neither side may be empty.
    """
    spec = spec.strip()
    present = set(subjects)
    if spec == SELFGAIT_RELEASE:
        if index is None:
            raise GaitbenchError(f"partition {SELFGAIT_RELEASE} needs the store's sequence index")
        return selfgait_release_split(dataset, index)
    if spec == "official":
        if store_partition is not None:
            partition = _from_dict(store_partition, "the store's partition attribute")
            source = "the store's own partition"
        else:
            partition = official_partition(dataset, list(subjects))
            source = f"the official {dataset} partition"
    elif spec.startswith("ratio:"):
        partition, source = _ratio(spec, list(subjects)), f"partition {spec}"
    elif spec.endswith(".json") or Path(spec).exists():
        path = Path(spec)
        if not path.is_file():
            raise GaitbenchError(f"partition file {path} not found: {SPEC_HELP}")
        partition, source = _from_json(path), f"partition file {path}"
    else:
        raise GaitbenchError(f"unknown partition {spec!r}: {SPEC_HELP}")

    overlap = set(partition.train) & set(partition.test)
    if overlap:
        raise GaitbenchError(
            f"{source} puts subject {sorted(overlap)[0]!r} in both train and test: fix the split"
        )
    placed = set(partition.train) | set(partition.test)
    unplaced = sorted(present - placed)
    if unplaced:
        raise GaitbenchError(
            f"store subject {unplaced[0]!r} (and {len(unplaced) - 1} more) is in neither train nor "
            f"test of {source}: {SPEC_HELP}"
        )
    train = [s for s in partition.train if s in present]
    test = [s for s in partition.test if s in present]
    for side, ids in (("train", train), ("test", test)):
        if not ids:
            fix = (
                "pass --partition ratio:0.6 (first 60 % of sorted subjects train) or a JSON file "
                "of train/test ids"
                if spec == "official"
                else SPEC_HELP
            )
            raise GaitbenchError(
                f"{source} leaves the {side} set empty for this store's {len(present)} subjects: "
                f"{fix}"
            )
    probe = None
    if partition.probe is not None:
        kept = set(test)
        probe = [p for p in partition.probe if p.split("-", 1)[0] in kept]
    return Partition(train, test, probe)
