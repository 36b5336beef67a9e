"""Training batches: P identities x K sequences, a clip or set of frames from each, collated.

Every random choice for iteration ``i`` comes from a generator seeded with ``(seed, i)`` (and the
sequence's position in the batch), so a batch depends on nothing but the seed and the iteration:
the same under any number of DataLoader workers, and exactly the same after a resume. Under DDP
every rank draws the same global batch and keeps its own share.

Frame sampling follows OpenGait's collate semantics (reference/FACTS.md 2.1):

- ``fixed_unordered``: ``frames`` frames drawn at random, with replacement only if the sequence is
  shorter; not sorted (GaitSet's "set").
- ``fixed_ordered``: a random window of ``frames + frames_skip`` frames (the sequence tiled when
  shorter), ``frames`` of them drawn without replacement and kept in temporal order.
- ``unfixed_*``: as above with the frame count drawn from ``[frames_min, frames_max]`` for each
  sequence, as OpenGait does (reference/FACTS.md 2.5); the batch is padded to its longest clip
  and carries the counts (``seq_lens``), which the models use to ignore the padding.

Frames reach the model as the central 64x44 columns scaled to 0..1 (`cut_and_scale`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

SAMPLE_TYPES = ("fixed_ordered", "fixed_unordered", "unfixed_ordered", "unfixed_unordered")


def cut_columns(frames: np.ndarray) -> np.ndarray:
    """uint8 ``[..., size, size]`` -> the central ``[..., size, size * 44 / 64]`` columns."""
    size = frames.shape[-1]
    cut = size // 64 * 10
    return frames[..., cut : size - cut]


def cut_and_scale(frames: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """uint8 ``[..., 64, 64]`` -> float32 ``[..., 64, 44]`` in 0..1 (OpenGait's silhouette cut)."""
    cut = cut_columns(frames)  # works for tensors too: plain slicing
    if isinstance(cut, torch.Tensor):
        return cut.float() / 255.0
    return cut.astype(np.float32) / np.float32(255.0)


def sample_frame_indices(
    length: int,
    count: int,
    rng: np.random.Generator,
    ordered: bool,
    skip: int = 0,
) -> np.ndarray:
    """Indices of ``count`` frames of a ``length``-frame sequence (see the module docstring)."""
    if length < 1:
        raise ValueError("a sequence needs at least one frame")
    if not ordered:
        return rng.choice(length, size=count, replace=length < count)
    window = count + skip
    # Tile a short sequence until the window fits: a walk is periodic, so repeating it is the
    # reference's (and the least distorting) answer to "fewer frames than the clip".
    reps = math.ceil(window / length)
    tiled = np.tile(np.arange(length), reps)
    start = int(rng.integers(0, len(tiled) - window + 1))
    picked = np.sort(rng.choice(window, size=count, replace=False))
    return tiled[start + picked]


# The augmentations of OpenGait's GaitBase / DeepGaitV2 recipes, one random draw per sequence
# (reference/FACTS.md 2.5, "Augmentation details").


def rotate(frames: np.ndarray, angle: float) -> np.ndarray:
    """Turn ``[s, h, w]`` frames by ``angle`` degrees (counter-clockwise on screen) about column
    ``h // 2``, row ``w // 2``: OpenGait passes (h // 2, w // 2) where cv2 expects (x, y), so on
    a 64x44 frame it turns about column 32, row 22, not the image centre, and the body shifts
    as well as turns. Bilinear, zeros outside."""
    h, w = frames.shape[1:]
    matrix = cv2.getRotationMatrix2D((float(h // 2), float(w // 2)), angle, 1.0)
    return np.stack([cv2.warpAffine(f, matrix, (w, h)) for f in frames])


def _rotate(frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return rotate(frames, float(rng.uniform(-10, 10)))


def erase_box(
    h: int,
    w: int,
    rng: np.random.Generator,
    area: tuple[float, float] = (0.05, 0.2),
    r1: float = 0.3,
) -> tuple[int, int, int, int] | None:
    """Random Erasing's rectangle ``(top, left, height, width)`` in an ``h x w`` frame, or None.

    Area a uniform share of the frame in ``area``; aspect ratio (height / width) drawn
    uniformly in ``[r1, 1 / r1]``, so 77 % of draws are taller than wide; up to 100 tries for a
    rectangle that fits, placed anywhere, the last row and column included.
    """
    for _ in range(100):
        target = rng.uniform(*area) * h * w
        aspect = rng.uniform(r1, 1 / r1)
        eh = round(math.sqrt(target * aspect))
        ew = round(math.sqrt(target / aspect))
        if 0 < eh < h and 0 < ew < w:
            return int(rng.integers(0, h - eh + 1)), int(rng.integers(0, w - ew + 1)), eh, ew
    return None


def _erase(frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    box = erase_box(*frames.shape[1:], rng)
    if box is None:
        return frames
    y, x, eh, ew = box
    frames = frames.copy()
    frames[:, y : y + eh, x : x + ew] = 0  # one rectangle for the whole sequence
    return frames


def perspective(frames: np.ndarray, left: tuple[int, int], right: tuple[int, int]) -> np.ndarray:
    """Warp the quad with corners at columns ``left`` (top, bottom) and ``right`` (top, bottom),
    rows 0 and ``h - 1``, onto the whole ``[s, h, w]`` frame: a horizontal stretch of the body
    (its height kept), one matrix for all frames. Bilinear, zeros outside."""
    h, w = frames.shape[1:]
    (tl, bl), (tr, br) = left, right
    src = np.float32([[tl, 0], [tr, 0], [br, h - 1], [bl, h - 1]])
    dst = np.float32([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]])
    matrix = cv2.getPerspectiveTransform(src, dst)
    return np.stack([cv2.warpPerspective(f, matrix, (w, h)) for f in frames])


def _perspective(frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    # OpenGait draws the left corners' columns from 0..9 and the right ones' from 54..63 on the
    # 64x64 frame; other sizes scale that margin.
    w = frames.shape[2]
    margin = w * 9 // 64
    left = rng.integers(0, margin + 1, size=2)
    right = rng.integers(w - 1 - margin, w, size=2)
    return perspective(frames, (int(left[0]), int(left[1])), (int(right[0]), int(right[1])))


def _frame_flip(frames: np.ndarray, rng: np.random.Generator, p: float) -> np.ndarray:
    # Each frame on its own draw, as the SelfGait release's per-frame RandomHorizontalFlip.
    flip = rng.random(len(frames)) < p
    if not flip.any():
        return frames
    frames = frames.copy()
    frames[flip] = frames[flip][:, :, ::-1]
    return frames


# Augmentations drawn frame by frame: they take the probability themselves.
PER_FRAME_FNS = {"frame-flip": _frame_flip}

AUGMENT_FNS = {
    "rotate": _rotate,
    "erase": _erase,
    "perspective": _perspective,
    "flip": lambda frames, rng: np.ascontiguousarray(frames[:, :, ::-1]),
}


def augment_sequence(
    frames: np.ndarray, augment: Sequence[tuple[str, float]], rng: np.random.Generator
) -> np.ndarray:
    """Apply ``(name, probability)`` augmentations in order, one draw per sequence (per frame
    for ``frame-flip``).

    ``perspective`` runs on the full square frame before the column cut (as OpenGait orders it);
    the others on the cut 64x44 frames.
    """
    pre = [(n, p) for n, p in augment if n == "perspective"]
    post = [(n, p) for n, p in augment if n != "perspective"]
    for name, p in pre:
        if rng.random() < p:
            frames = AUGMENT_FNS[name](frames, rng)
    frames = cut_columns(frames)
    for name, p in post:
        if name in PER_FRAME_FNS:
            frames = PER_FRAME_FNS[name](np.ascontiguousarray(frames), rng, p)
        elif rng.random() < p:
            frames = AUGMENT_FNS[name](np.ascontiguousarray(frames), rng)
    return np.ascontiguousarray(frames)


@dataclass
class PKSampler:
    """P identities x K sequences per iteration, a pure function of ``(seed, iteration)``.

    labels: the class index (0..C-1) of each training sequence; returned batch indices point
    into this list. An identity with fewer than K sequences is sampled with replacement.
    """

    labels: Sequence[int]
    p: int
    k: int
    seed: int = 0
    _by_label: dict[int, np.ndarray] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        labels = np.asarray(self.labels)
        self._by_label = {int(c): np.flatnonzero(labels == c) for c in np.unique(labels)}
        if len(self._by_label) < self.p:
            raise ValueError(
                f"{len(self._by_label)} training identities, fewer than the {self.p} per batch"
            )

    @property
    def batch_size(self) -> int:
        return self.p * self.k

    def batch(self, iteration: int) -> np.ndarray:
        """Positions (into ``labels``) of iteration ``iteration``'s global batch, ``[P*K]``."""
        rng = np.random.default_rng([self.seed, iteration])
        classes = np.fromiter(self._by_label, dtype=np.int64)
        chosen = rng.choice(classes, size=self.p, replace=False)
        picks = []
        for c in chosen:
            members = self._by_label[int(c)]
            picks.append(rng.choice(members, size=self.k, replace=len(members) < self.k))
        batch = np.concatenate(picks)
        # Shuffled so that a rank's share under DDP mixes identities (OpenGait's batch_shuffle).
        return batch[rng.permutation(len(batch))]

    def state_dict(self) -> dict[str, Any]:
        # The only state is the seed: a batch depends on (seed, iteration) alone.
        return {"seed": self.seed, "p": self.p, "k": self.k}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.seed = int(state["seed"])


class StoreBatches(Dataset):
    """A dataset whose item ``i`` is iteration ``i``'s whole batch, read from a store.

    The store is opened lazily, once per process, because an h5py handle does not survive a fork
    into DataLoader workers; a handle given at construction is used in the constructing process.
    """

    store_path: Path
    in_memory: bool
    _store: Any
    _pid: int | None

    def _attach(self, store_path: str | Path, in_memory: bool, store: Any) -> None:
        self.store_path = Path(store_path)
        self.in_memory = in_memory
        self._store = store
        self._pid = os.getpid() if store is not None else None

    def __len__(self) -> int:
        # Indexed by iteration; the DataLoader's sampler says which iterations to produce.
        return 2**62

    def _open(self) -> Any:
        if self._store is None or self._pid != os.getpid():
            from gaitbench.data.store import Store

            self._store = Store(self.store_path, in_memory=self.in_memory)
            self._pid = os.getpid()
        return self._store


class TrainClips(StoreBatches):
    """Item ``i`` is the collated batch of iteration ``i``: ``(uint8 [n, s, H, W'], int64 [n])``;
    for the ``unfixed_*`` samplers a third item, ``seq_lens`` int64 [n], the clips' frame counts
    (each drawn for its own sequence, shorter clips zero-padded to the longest).

    Frames stay uint8 (4x less to move between processes); the trainer scales them on the
    device.
    """

    def __init__(
        self,
        store_path: str | Path,
        rows: Sequence[int],
        labels: Sequence[int],
        *,
        p: int,
        k: int,
        sample_type: str = "fixed_ordered",
        frames: int = 30,
        frames_skip: int = 0,
        frames_min: int = 25,
        frames_max: int = 50,
        augment: Sequence[tuple[str, float]] = (),
        windows: Sequence[tuple[int, int]] | None = None,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        in_memory: bool = False,
        store: Any = None,
    ) -> None:
        """``windows``: per row, the (start, end) frames it is cut to before sampling (a fixed
        window per sequence, as the SelfGait release); None uses whole sequences."""
        if sample_type not in SAMPLE_TYPES:
            raise ValueError(f"sample_type {sample_type!r} is not one of {', '.join(SAMPLE_TYPES)}")
        if (p * k) % world_size:
            raise ValueError(f"a batch of {p} x {k} does not split over {world_size} processes")
        self._attach(store_path, in_memory, store)
        self.rows = np.asarray(rows, dtype=np.int64)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.sampler = PKSampler(list(self.labels), p, k, seed)
        self.sample_type = sample_type
        self.frames, self.frames_skip = frames, frames_skip
        self.frames_min, self.frames_max = frames_min, frames_max
        self.augment = list(augment)
        self.windows = None if windows is None else np.asarray(windows, dtype=np.int64)
        self.rank, self.world_size = rank, world_size

    def __getitem__(self, iteration: int) -> tuple[torch.Tensor, ...]:
        store = self._open()
        batch = self.sampler.batch(iteration)
        ordered = self.sample_type.endswith("_ordered")
        unfixed = self.sample_type.startswith("unfixed")
        mine = np.arange(len(batch))[self.rank :: self.world_size]
        clips = []
        for j in mine:
            rng = np.random.default_rng([self.sampler.seed, iteration, int(j)])
            count = (
                int(rng.integers(self.frames_min, self.frames_max + 1)) if unfixed else self.frames
            )
            seq = store.read(int(self.rows[batch[j]]))
            if self.windows is not None:
                start, end = self.windows[batch[j]]
                seq = seq[start:end]
            idx = sample_frame_indices(len(seq), count, rng, ordered, self.frames_skip)
            clip = seq[idx]
            if self.augment:
                clip = augment_sequence(clip, self.augment, rng)
            else:
                clip = cut_columns(clip)
            clips.append(np.ascontiguousarray(clip))
        labels = torch.from_numpy(self.labels[batch[mine]])
        if not unfixed:
            return torch.from_numpy(np.stack(clips)), labels
        lengths = np.array([len(c) for c in clips], dtype=np.int64)
        sils = np.zeros((len(clips), int(lengths.max()), *clips[0].shape[1:]), np.uint8)
        for row, clip in zip(sils, clips):
            row[: len(clip)] = clip
        return torch.from_numpy(sils), labels, torch.from_numpy(lengths)


def iteration_loader(
    dataset: StoreBatches,
    start: int,
    stop: int | None,
    workers: int = 0,
    pin_memory: bool = False,
) -> torch.utils.data.DataLoader:
    """A DataLoader that yields the batches of iterations ``start .. stop - 1`` in order (without
    end for ``stop`` None: the trainer stops when it has counted its iterations)."""
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=None,
        sampler=range(start, 2**62 if stop is None else stop),
        num_workers=workers,
        pin_memory=pin_memory,
        persistent_workers=False,
        prefetch_factor=4 if workers > 0 else None,
    )
