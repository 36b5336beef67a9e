"""Self-describing, atomic training checkpoints in ``RUN/checkpoints/``.

A checkpoint is a plain dict that ``torch.load(weights_only=True)`` reads: ``model`` (state dict),
``iteration``, ``model_name``, ``model_args``, ``config`` (the resolved recipe), ``optimizer``,
``scheduler``, ``scaler``, ``sampler``, ``rng`` and ``gaitbench_version``. Each saved iteration is
``iter-0001000.pt``; the newest is also ``last.pt``. Files are written to a temporary sibling and
renamed, so a kill at any moment leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import os
import random
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gaitbench.errors import GaitbenchError
from gaitbench.paths import atomic_target

ITER_RE = re.compile(r"^iter-(\d{7,})\.pt$")
REQUIRED_KEYS = ("model", "iteration")


def checkpoint_dir(run_dir: Path) -> Path:
    return Path(run_dir) / "checkpoints"


def checkpoint_name(iteration: int) -> str:
    return f"iter-{iteration:07d}.pt"


def rng_state() -> dict[str, Any]:
    """Every RNG the training step may touch, as tensors and ints (weights_only-safe)."""
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "python": random.getstate(),
        "numpy": {
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
    }


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    random.setstate(state["python"])
    n = state["numpy"]
    np.random.set_state(
        (
            "MT19937",
            n["keys"].numpy().astype(np.uint32),
            n["pos"],
            n["has_gauss"],
            n["cached_gaussian"],
        )
    )


def _atomic_save(obj: dict[str, Any], path: Path) -> None:
    tmp = atomic_target(path)
    try:
        with open(tmp, "wb") as fh:
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_checkpoint(run_dir: Path, state: dict[str, Any], keep_last: int = 3) -> Path:
    """Write ``state`` as ``iter-N.pt`` and ``last.pt``; delete all but the newest ``keep_last``."""
    folder = checkpoint_dir(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / checkpoint_name(int(state["iteration"]))
    _atomic_save(state, path)
    last = folder / "last.pt"
    tmp = atomic_target(last)
    try:
        # A hard link makes last.pt without writing the file twice; copy where links don't exist.
        tmp.unlink(missing_ok=True)
        os.link(path, tmp)
        os.replace(tmp, last)
    except OSError:
        _atomic_save(state, last)
    for old in list_checkpoints(run_dir)[:-keep_last]:
        old.unlink(missing_ok=True)
    return path


def list_checkpoints(run_dir: Path) -> list[Path]:
    """``iter-*.pt`` files of a run, oldest first."""
    folder = checkpoint_dir(run_dir)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := ITER_RE.match(p.name))]
    return [p for _, p in sorted(found)]


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load and check one checkpoint; a missing, corrupt or foreign file is a `GaitbenchError`."""
    path = Path(path)
    if not path.is_file():
        raise GaitbenchError(f"checkpoint {path} not found: check the run folder")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise GaitbenchError(f"checkpoint {path} is unreadable ({reason}): delete it") from None
    if not isinstance(ckpt, dict) or any(k not in ckpt for k in REQUIRED_KEYS):
        raise GaitbenchError(
            f"checkpoint {path} has no 'model' and 'iteration': not a gaitbench checkpoint"
        )
    return ckpt


@dataclass
class ResumePoint:
    checkpoint: dict[str, Any]
    path: Path
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    """Newer checkpoints that could not be read, with the reason: reported, then passed over."""


def find_resume(run_dir: Path, map_location: str | torch.device = "cpu") -> ResumePoint | None:
    """The newest readable checkpoint of a run (None when the run has none)."""
    skipped: list[tuple[Path, str]] = []
    candidates = list(reversed(list_checkpoints(run_dir)))
    last = checkpoint_dir(run_dir) / "last.pt"
    if last.is_file():
        candidates.append(last)
    for path in candidates:
        try:
            return ResumePoint(load_checkpoint(path, map_location), path, skipped)
        except GaitbenchError as exc:
            skipped.append((path, str(exc)))
    if skipped:
        raise GaitbenchError(
            f"no readable checkpoint in {checkpoint_dir(run_dir)} ({len(skipped)} corrupt): "
            "start the run again without --resume"
        )
    return None
