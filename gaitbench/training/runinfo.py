"""``RUN/run.json``: what a run folder remembers about how it was trained, for the results files
made from it (``gaitbench evaluate RUN`` reads the store from here when ``--data`` is not given).

Format ``gaitbench-run/1``::

    {
      "format": "gaitbench-run/1",
      "name": "hstl-casia-b",             # gaitbench train --name, else the run folder's name
      "store": "/data/casia-b-64.h5",     # the training store, resolved (a run folder is local)
      "data": {"file": "casia-b-64.h5", "fingerprint": "sha256:...", "kind": "real", ...},
      "seed": 0, "device": "cuda:0",
      "precision": "fp32" | "bf16" | "fp16",   # autocast dtype (train --precision's names)
      "segments": [                       # one per train / --resume invocation that ended
        {"from": 0, "to": 4000, "wall_seconds": 812.4}
      ]
    }

``wall_seconds`` of the run is the sum over its segments: time spent in the training loop
(loading batches included), not the time to open the store or build the model. A segment killed
with SIGKILL is not recorded (the rest are).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from gaitbench.paths import atomic_write
from gaitbench.training.hooks import Hook

if TYPE_CHECKING:
    from gaitbench.training.trainer import Trainer

FORMAT = "gaitbench-run/1"
FILE = "run.json"


def precision_name(amp_dtype: torch.dtype | None) -> str:
    """The arithmetic the training step ran in, named as ``train --precision`` names it: fp32 (no
    autocast), bf16 or fp16 (autocast to that dtype)."""
    if amp_dtype is None:
        return "fp32"
    return {torch.float16: "fp16", torch.bfloat16: "bf16"}.get(amp_dtype, str(amp_dtype))


def read_run_info(run_dir: str | Path) -> dict[str, Any] | None:
    """``RUN/run.json`` as a dict; None for a run folder written before it existed (or unreadable)."""
    path = Path(run_dir) / FILE
    try:
        info = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return info if isinstance(info, dict) and info.get("format") == FORMAT else None


def wall_seconds(info: dict[str, Any] | None) -> float | None:
    if not info or not info.get("segments"):
        return None
    return round(sum(float(s.get("wall_seconds", 0.0)) for s in info["segments"]), 1)


class RunInfoHook(Hook):
    """Writes ``RUN/run.json`` before training and adds the segment's wall time after it."""

    def __init__(self, run_dir: Path, store: Path, seed: int):
        self.path = Path(run_dir) / FILE
        self.store = Path(store)
        self.seed = seed
        self._start = 0.0
        self._from = 0

    def _write(self, info: dict[str, Any]) -> None:
        with atomic_write(self.path) as tmp:
            tmp.write_text(json.dumps(info, indent=1) + "\n")

    def before_train(self, trainer: Trainer) -> None:
        from gaitbench.data.store import Store, provenance

        old = read_run_info(self.path.parent) or {}
        with Store(self.store) as store:
            data = provenance(store)
        self._write(
            {
                "format": FORMAT,
                "name": old.get("name") or self.path.parent.name,
                "store": str(self.store.resolve()),
                "data": data,
                "seed": self.seed,
                "device": str(trainer.device),
                "precision": precision_name(trainer.amp_dtype),
                # Keep the segments up to the iteration this one resumes from.
                "segments": [
                    s for s in old.get("segments", []) if s.get("to", 0) <= trainer.iteration
                ],
            }
        )
        self._start, self._from = time.perf_counter(), trainer.iteration

    def after_train(self, trainer: Trainer) -> None:
        info = read_run_info(self.path.parent)
        if info is None or trainer.iteration <= self._from:
            return
        info["segments"].append(
            {
                "from": self._from,
                "to": trainer.iteration,
                "wall_seconds": round(time.perf_counter() - self._start, 1),
            }
        )
        self._write(info)


def set_run_name(run_dir: str | Path, name: str) -> None:
    """Record ``gaitbench train --name`` before training starts (the hook keeps it)."""
    info = read_run_info(run_dir) or {"format": FORMAT, "segments": []}
    info["name"] = name
    with atomic_write(Path(run_dir) / FILE) as tmp:
        tmp.write_text(json.dumps(info, indent=1) + "\n")
