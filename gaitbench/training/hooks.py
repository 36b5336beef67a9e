"""Trainer hooks: each concern (metrics log, checkpoints, periodic evaluation, TensorBoard) is one
small object called before training, after every step and after training.

Hooks run on the main rank only, except `EvalHook`'s barrier, which every rank must reach.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gaitbench.errors import GaitbenchError

if TYPE_CHECKING:
    from gaitbench.training.trainer import Trainer


class Hook:
    def before_train(self, trainer: Trainer) -> None: ...

    def after_step(self, trainer: Trainer, log: dict[str, float] | None) -> None:
        """``log``: averaged metrics when this iteration is a logging iteration, else None."""

    def after_train(self, trainer: Trainer) -> None: ...


def append_jsonl(path: Path, record: dict[str, Any]) -> None:
    with open(path, "a") as fh:
        fh.write(json.dumps(record) + "\n")


def truncate_metrics(path: Path, iteration: int) -> None:
    """Drop records past ``iteration`` (written after the checkpoint a killed run resumes from)."""
    if not path.is_file():
        return
    kept = []
    for line in path.read_text().splitlines():
        try:
            if json.loads(line).get("iteration", 0) <= iteration:
                kept.append(line)
        except json.JSONDecodeError:  # a line cut short by a kill
            continue
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("".join(f"{line}\n" for line in kept))
    tmp.replace(path)


class MetricsHook(Hook):
    """``RUN/metrics.jsonl``: one JSON line per logging interval (and one per event)."""

    def __init__(self, path: Path, progress: Callable[[int, dict | None], None] | None = None):
        self.path = path
        self.progress = progress

    def before_train(self, trainer: Trainer) -> None:
        truncate_metrics(self.path, trainer.iteration)

    def after_step(self, trainer: Trainer, log: dict[str, float] | None) -> None:
        if log is not None:
            append_jsonl(self.path, {"iteration": trainer.iteration, **log})
        if self.progress is not None:
            self.progress(trainer.iteration, log)


class CheckpointHook(Hook):
    """Saves every ``every`` iterations and at the end of training."""

    def __init__(self, every: int, keep_last: int):
        self.every = every
        self.keep_last = keep_last

    def after_step(self, trainer: Trainer, log: dict[str, float] | None) -> None:
        if trainer.iteration % self.every == 0:
            trainer.save()

    def after_train(self, trainer: Trainer) -> None:
        if trainer.iteration > 0 and trainer.last_saved != trainer.iteration and trainer.finished:
            trainer.save()


class EvalHook(Hook):
    """Runs the dataset's protocol every ``every`` iterations; metrics go to metrics.jsonl."""

    def __init__(self, every: int, evaluate: Callable[[Any], dict], metrics_path: Path):
        self.every = every
        self.evaluate = evaluate
        self.metrics_path = metrics_path

    def after_step(self, trainer: Trainer, log: dict[str, float] | None) -> None:
        if trainer.iteration % self.every:
            return
        if trainer.dist.is_main:
            model = trainer.bare_model
            model.eval()
            start = time.perf_counter()
            metrics = self.evaluate(model)
            model.train()
            # Evaluation time is not training time: keep it out of the next interval's it/s.
            trainer._interval_start += time.perf_counter() - start
            append_jsonl(
                self.metrics_path,
                {
                    "iteration": trainer.iteration,
                    "eval": metrics,
                    "eval_seconds": round(time.perf_counter() - start, 3),
                },
            )
        from gaitbench.training.distributed import barrier

        barrier(trainer.dist)


class TensorBoardHook(Hook):
    def __init__(self, log_dir: Path):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise GaitbenchError(
                "--tensorboard needs the tensorboard package: pip install tensorboard"
            ) from None
        self.writer = SummaryWriter(str(log_dir))

    def after_step(self, trainer: Trainer, log: dict[str, float] | None) -> None:
        for key, value in (log or {}).items():
            self.writer.add_scalar(f"train/{key}", value, trainer.iteration)

    def after_train(self, trainer: Trainer) -> None:
        self.writer.close()
