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
(loading batches included), not the time to open the store or build the model. A segment is
written at every checkpoint the trainer saves and at its end, so a run killed with SIGKILL keeps
the segments up to its last checkpoint, which is where ``--resume`` starts again (the work after
it is lost, and not counted). The total is known only while the segments run from iteration 0
without a gap (`wall_seconds`); run folders older than this record may lack segments.
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
    """The training loop's seconds from iteration 0 to the last segment's end; None when the
    segments do not cover that without a gap (a part of the run's time was not recorded)."""
    segments = (info or {}).get("segments") or []
    if not segments or segments[0].get("from") != 0:
        return None
    if any(a.get("to") != b.get("from") for a, b in zip(segments, segments[1:])):
        return None
    return round(sum(float(s.get("wall_seconds", 0.0)) for s in segments), 1)


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

    def after_step(self, trainer: Trainer, log: dict[str, float] | None) -> None:
        # After the checkpoint hook (`Trainer` runs this hook last): a checkpoint saved at this
        # iteration is where a killed run resumes, so the segment so far is worth recording.
        if trainer.last_saved == trainer.iteration:
            self._record(trainer.iteration)

    def after_train(self, trainer: Trainer) -> None:
        self._record(trainer.iteration)

    def _record(self, to: int) -> None:
        """This invocation's segment, from where it started to ``to``, replacing the one an
        earlier checkpoint of the same invocation wrote."""
        info = read_run_info(self.path.parent)
        if info is None or to <= self._from:
            return
        segments = [s for s in info["segments"] if s.get("from") != self._from]
        segments.append(
            {
                "from": self._from,
                "to": to,
                "wall_seconds": round(time.perf_counter() - self._start, 1),
            }
        )
        info["segments"] = segments
        self._write(info)


def set_run_name(run_dir: str | Path, name: str) -> None:
    """Record ``gaitbench train --name`` before training starts (the hook keeps it)."""
    info = read_run_info(run_dir) or {"format": FORMAT, "segments": []}
    info["name"] = name
    with atomic_write(Path(run_dir) / FILE) as tmp:
        tmp.write_text(json.dumps(info, indent=1) + "\n")
