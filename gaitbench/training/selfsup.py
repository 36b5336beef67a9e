"""SelfGait's self-supervised stage: unlabelled clips, augmentations, the pretext step, the EMA.

Pre-training never sees a label. `UnlabelledClips` is handed a frame reader and a list of
sequence indices, nothing else: it cannot read subject ids because it never receives them
(which sequences form the unlabelled pool, e.g. the training split, is decided by the caller).

Two pretext tasks, as in the SelfGait release:

- ``two-view``: two independently augmented copies of the same clip; the online branch of each
  predicts the target projection of the other (BYOL).
- ``next-frame``: the online branch sees the first ``k - 1`` frames of one copy and predicts the
  target projection of the last frame of the other copy.

Both are symmetrised (each copy takes each role once) and averaged, so the loss is 0 for a
perfect prediction and about 2 for unrelated vectors.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from gaitbench.errors import GaitbenchError
from gaitbench.models.selfgait import SelfGait, byol_loss

PRETEXTS = ("two-view", "next-frame")
MOMENTUM = 0.996  # the release's trainer.m


# -- unlabelled data -----------------------------------------------------------------------------


class UnlabelledClips:
    """Random fixed-length clips from unlabelled sequences: ``batch(n)`` -> uint8 [n, frames, H, W].

    Args:
        read: ``read(i) -> uint8 [T, H, W]``, e.g. a store's ``read``; the only thing consulted.
        indices: the sequences of the unlabelled pool.
        frames: clip length (the release: 30). Shorter sequences are repeated cyclically.
        seed: seeds the generator; ``state_dict`` / ``load_state_dict`` give exact resume.
    """

    def __init__(self, read: Callable[[int], np.ndarray], indices: Sequence[int], frames: int = 30,
                 seed: int = 0) -> None:
        if len(indices) == 0:
            raise GaitbenchError("pre-training pool is empty: the store has no training sequences")
        self._read = read
        self.indices = np.asarray(indices, dtype=np.int64)
        self.frames = frames
        self.rng = np.random.default_rng(seed)

    def clip(self, i: int) -> np.ndarray:
        seq = self._read(int(i))
        t = seq.shape[0]
        if t >= self.frames:
            start = int(self.rng.integers(0, t - self.frames + 1))
            return seq[start : start + self.frames]
        start = int(self.rng.integers(0, t))
        return seq[(start + np.arange(self.frames)) % t]

    def batch(self, n: int) -> np.ndarray:
        chosen = self.rng.choice(self.indices, size=n, replace=len(self.indices) < n)
        return np.stack([self.clip(i) for i in chosen])

    def state_dict(self) -> dict:
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]


def cut_and_scale(frames: np.ndarray | Tensor) -> Tensor:
    """uint8 [..., S, S] -> float [..., S, S - 2 * (S // 64 * 10)] in 0..1 (the models' 64x44 input)."""
    x = torch.as_tensor(frames)
    size = x.shape[-1]
    cut = size // 64 * 10
    return x[..., cut : size - cut].float() / 255.0


# -- augmentations -------------------------------------------------------------------------------


@dataclass
class Augment:
    """Silhouette-sequence augmentations, each drawn once per sequence and applied to all its frames.

    The release's active transforms were a horizontal flip and a random grayscale; grayscale is
    the identity on a binary silhouette, so we drop it and add random erasing and a small affine
    (both on the issue's list), which do change a silhouette sequence.
    """

    flip_p: float = 0.5
    erase_p: float = 0.5
    erase_area: tuple[float, float] = (0.02, 0.2)
    affine_p: float = 0.5
    max_rotate_deg: float = 5.0
    max_translate: float = 0.05  # fraction of the half-width / half-height (affine_grid units)
    max_scale: float = 0.05

    def __call__(self, sils: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """sils float [n, s, H, W] -> augmented copy, same shape."""
        n, s, h, w = sils.shape
        dev = sils.device

        def uniform(lo: float, hi: float, size: int = n) -> Tensor:
            return torch.rand(size, generator=generator).to(dev) * (hi - lo) + lo

        def coin(p: float) -> Tensor:
            return torch.rand(n, generator=generator).to(dev) < p

        out = torch.where(coin(self.flip_p)[:, None, None, None], sils.flip(-1), sils)

        affine = coin(self.affine_p)
        angle = torch.deg2rad(uniform(-self.max_rotate_deg, self.max_rotate_deg)) * affine
        scale = 1 + uniform(-self.max_scale, self.max_scale) * affine
        tx = uniform(-self.max_translate, self.max_translate) * affine
        ty = uniform(-self.max_translate, self.max_translate) * affine
        cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
        theta = torch.stack([torch.stack([cos, -sin, tx], -1), torch.stack([sin, cos, ty], -1)], 1)
        grid = F.affine_grid(theta.repeat_interleave(s, 0), [n * s, 1, h, w], align_corners=False)
        warped = F.grid_sample(out.reshape(n * s, 1, h, w), grid, align_corners=False).reshape(n, s, h, w)
        # An identity affine through grid_sample is exact only up to rounding: keep the originals.
        out = torch.where(affine[:, None, None, None], warped, out)

        # Random erasing: one rectangle per sequence, the same in every frame (a static occluder).
        area = uniform(*self.erase_area) * h * w
        aspect = torch.exp(uniform(math.log(0.3), math.log(3.3)))
        eh = torch.sqrt(area * aspect).clamp(1, h)
        ew = torch.sqrt(area / aspect).clamp(1, w)
        y0 = uniform(0, 1) * (h - eh)
        x0 = uniform(0, 1) * (w - ew)
        ys = torch.arange(h, device=dev)[None, :, None]
        xs = torch.arange(w, device=dev)[None, None, :]
        box = ((ys >= y0[:, None, None]) & (ys < (y0 + eh)[:, None, None])
               & (xs >= x0[:, None, None]) & (xs < (x0 + ew)[:, None, None]))  # fmt: skip
        box &= coin(self.erase_p)[:, None, None]
        return out.masked_fill(box[:, None], 0.0)


# -- the pretext step and the momentum update ----------------------------------------------------


def pretext_loss(model: SelfGait, view_a: Tensor, view_b: Tensor, pretext: str = "two-view") -> Tensor:
    """Symmetrised BYOL loss between two augmented copies of the same clips: [n, s, H, W] x2 -> [].

    ``two-view``: online(a) vs target(b) and online(b) vs target(a).
    ``next-frame``: online(a[:, :-1]) vs target(b[:, -1:]) and the same with a and b swapped.
    """
    if pretext == "two-view":
        pairs = [(view_a, view_b), (view_b, view_a)]
    elif pretext == "next-frame":
        if view_a.shape[1] < 2:
            raise GaitbenchError("pretext next-frame needs clips of at least 2 frames: raise --frames")
        pairs = [(view_a[:, :-1], view_b[:, -1:]), (view_b[:, :-1], view_a[:, -1:])]
    else:
        raise GaitbenchError(f"unknown pretext {pretext!r}: choose one of {', '.join(PRETEXTS)}")
    losses = [byol_loss(model.online(x), model.target_projection(y)) for x, y in pairs]
    return sum(losses) / len(losses)


@torch.no_grad()
def ema_update(model: SelfGait, momentum: float = MOMENTUM) -> None:
    """Move every target tensor exactly ``(1 - momentum)`` of the way toward its online twin.

    ``target <- momentum * target + (1 - momentum) * online`` for parameters and float buffers
    (batch-norm running statistics); integer buffers (batch counters) are copied.
    """
    target = model.target
    pairs = [(target.encoder, model.encoder), (target.fcs, model.fcs), (target.projector, model.projector)]
    for tgt, onl in pairs:
        for t, o in zip(tgt.parameters(), onl.parameters(), strict=True):
            t.lerp_(o, 1 - momentum)
        for t, o in zip(tgt.buffers(), onl.buffers(), strict=True):
            if t.is_floating_point():
                t.lerp_(o, 1 - momentum)
            else:
                t.copy_(o)


def momentum_at(iteration: int, total: int, base: float = MOMENTUM) -> float:
    """BYOL's cosine schedule from ``base`` to 1 over training (constant ``base`` if total <= 0)."""
    if total <= 0:
        return base
    return 1 - (1 - base) * (math.cos(math.pi * min(iteration, total) / total) + 1) / 2


class PretrainStep:
    """One pre-training iteration: sample clips, augment twice, pretext loss, backward, step, EMA.

    Reads no labels: ``clips`` is an `UnlabelledClips`. Returns the loss as a float.
    """

    def __init__(self, model: SelfGait, clips: UnlabelledClips, optimizer: torch.optim.Optimizer,
                 batch_size: int, pretext: str = "two-view", momentum: float = MOMENTUM,
                 augment: Augment | None = None, device: str | torch.device = "cpu", seed: int = 0) -> None:
        if pretext not in PRETEXTS:
            raise GaitbenchError(f"unknown pretext {pretext!r}: choose one of {', '.join(PRETEXTS)}")
        self.model, self.clips, self.optimizer = model, clips, optimizer
        self.batch_size, self.pretext, self.momentum = batch_size, pretext, momentum
        self.augment = augment or Augment()
        self.device = torch.device(device)
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self) -> float:
        self.model.train()
        sils = cut_and_scale(self.clips.batch(self.batch_size)).to(self.device)
        view_a = self.augment(sils, self.generator)
        view_b = self.augment(sils, self.generator)
        loss = pretext_loss(self.model, view_a, view_b, self.pretext)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        ema_update(self.model, self.momentum)
        return float(loss.detach())

    def state_dict(self) -> dict:
        return {"clips": self.clips.state_dict(), "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.clips.load_state_dict(state["clips"])
        self.generator.set_state(state["generator"])


# -- fine-tuning helpers -------------------------------------------------------------------------


def labelled_subjects(train_subjects: Sequence[str], fraction: float, seed: int = 0) -> list[str]:
    """The seeded subset of training subjects whose labels fine-tuning may use (at least 2, sorted)."""
    if not 0 < fraction <= 1:
        raise GaitbenchError(f"--labels {fraction}: give a fraction of subjects in (0, 1]")
    subjects = sorted(train_subjects)
    k = max(2, round(fraction * len(subjects)))  # a triplet needs two identities
    if k > len(subjects):
        raise GaitbenchError(f"--labels {fraction} leaves fewer than 2 of {len(subjects)} training subjects")
    chosen = np.random.default_rng(seed).choice(len(subjects), size=k, replace=False)
    return sorted(subjects[i] for i in chosen)


def load_pretrained(model: SelfGait, checkpoint: dict) -> list[str]:
    """Copy a pre-training checkpoint's weights into ``model`` (strict); returns the keys loaded.

    The checkpoint must come from the same SelfGait variant: a mismatch is a user error.
    """
    name = checkpoint.get("model_name", "?")
    if not str(name).startswith("selfgait"):
        raise GaitbenchError(f"--init checkpoint holds model {name!r}, not selfgait: pass a selfgait pretrain run")
    state = checkpoint["model"]
    own = model.state_dict()
    bad = [k for k in own if k not in state or state[k].shape != own[k].shape]
    if bad or len(state) != len(own):
        raise GaitbenchError(f"--init checkpoint ({name}) does not fit this selfgait variant "
                             f"({len(bad)} mismatched tensors, e.g. {bad[:1]}): use the same variant")
    model.load_state_dict(state, strict=True)
    return list(state)
