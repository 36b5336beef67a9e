"""A run folder's life, in the order it happens:

    lock      one process at a time: an OS lock on RUN/.lock, held while the run lives
    check     a new run refuses a folder with checkpoints; --resume needs a checkpoint and
              the run's own settings (config.yaml), except the keys safe to change
    start     config.yaml is written, and only now: a refused run writes nothing
    (train)   the trainer writes checkpoints/ and metrics.jsonl

The lock is `fcntl.flock`, so the OS releases it when its process dies: the lock file a crash
leaves behind is stale and the next run takes it over. The file names its holder (pid, host,
start time) for the error a second run prints.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from gaitbench.errors import GaitbenchError
from gaitbench.training import checkpoint as ckpt_io
from gaitbench.training.config import Recipe, save_recipe

LOCK_NAME = ".lock"
CONFIG_NAME = "config.yaml"

SAFE_TO_CHANGE_ON_RESUME = (
    "train.iterations",  # the batches and the LR schedule do not depend on the total
    "train.save_every",
    "train.keep_last",
    "train.log_every",
    "train.eval_every",
    "data.workers",  # a batch is a function of (seed, iteration), whatever the worker count
    "data.in_memory",
)
"""Recipe keys a resumed run may change: none of them changes the weights it ends with."""

_NOT_SETTINGS = ("model.num_classes", "source")  # derived from the store; a note on provenance


@contextlib.contextmanager
def locked(run_dir: str | os.PathLike) -> Iterator[None]:
    """Hold ``RUN/.lock`` for the body; a folder another live process holds is refused.

    Creates the folder (and its missing parents) if needed. Folders made here are removed
    again when the body fails before the run began (before `start` wrote config.yaml: all in
    them was written by this command's checks), and when they are left empty; a refused
    command leaves nothing behind.
    """
    run_dir = Path(run_dir)
    top = None  # the highest folder this call creates
    if not run_dir.exists():
        top = run_dir
        while not top.parent.exists():
            top = top.parent
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise GaitbenchError(f"--out {run_dir} is a file, not a folder: pass a folder") from None
    except PermissionError:
        raise GaitbenchError(
            f"cannot create run folder {run_dir} (permission denied): pass a writable --out"
        ) from None
    path = run_dir / LOCK_NAME
    fd = _acquire(path, run_dir)
    try:
        yield
    finally:
        began = (run_dir / CONFIG_NAME).exists()
        path.unlink(missing_ok=True)  # while still held: no other process holds this inode
        os.close(fd)
        failed = sys.exc_info()[0] is not None
        if top is not None and failed and not began:
            shutil.rmtree(top, ignore_errors=True)
        elif top is not None:
            with contextlib.suppress(OSError):  # only if empty: a run that wrote keeps its folder
                for folder in (run_dir, *run_dir.parents):
                    folder.rmdir()
                    if folder == top:
                        break


def _acquire(path: Path, run_dir: Path) -> int:
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except PermissionError:
            raise GaitbenchError(
                f"run folder {run_dir} is not writable: pass a writable --out"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise GaitbenchError(
                f"run folder {run_dir} is in use by {holder}: wait for that run to end, "
                "or pass another --out"
            ) from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the holder removed the file between our open and our lock: try again
    record = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(record) + "\n").encode(), 0)
    return fd


def _holder(fd: int) -> str:
    try:
        record = json.loads(os.pread(fd, 4096, 0).decode())
        return f"pid {record['pid']} on {record['host']} (started {record['started']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process (it is just starting)"


def refuse_existing_run(run_dir: Path) -> None:
    """A new run into a folder that already holds checkpoints is refused, not mixed with them."""
    if ckpt_io.list_checkpoints(run_dir):
        raise GaitbenchError(
            f"run folder {run_dir} already has checkpoints: pass --resume, or --out a new folder"
        )


def resume_point(run_dir: Path, resume: bool) -> ckpt_io.ResumePoint | None:
    """The checkpoint to resume `run_dir` from (None for a new run). ``--resume`` where there is
    nothing to resume is an error, not a fresh start (a typo in --out must not restart a run)."""
    if not resume:
        refuse_existing_run(run_dir)
        return None
    point = ckpt_io.find_resume(run_dir)
    if point is None:
        raise nothing_to_resume(run_dir)
    return point


def nothing_to_resume(run_dir: Path) -> GaitbenchError:
    where = "does not exist" if not run_dir.exists() else "has no checkpoint"
    return GaitbenchError(
        f"--resume: run folder {run_dir} {where}: check --out, or drop --resume to start a new run"
    )


def has_checkpoint(run_dir: Path) -> bool:
    return (
        bool(ckpt_io.list_checkpoints(run_dir))
        or (ckpt_io.checkpoint_dir(run_dir) / "last.pt").is_file()
    )


def check_resume(run_dir: Path, recipe: Recipe) -> None:
    """Refuse a resume whose settings differ from the run's own, except `SAFE_TO_CHANGE_ON_RESUME`.

    The run's settings are its config.yaml, or its newest checkpoint's copy when that is gone.
    The error names the first key that differs, with the run's value and the new one.
    """
    if not has_checkpoint(run_dir):
        raise nothing_to_resume(run_dir)
    path = run_dir / CONFIG_NAME
    if path.is_file():
        try:
            theirs = yaml.safe_load(path.read_text())
        except yaml.YAMLError:
            raise GaitbenchError(
                f"{path} is not valid YAML: restore it or start a new run"
            ) from None
        source = str(path)
    else:
        point = ckpt_io.find_resume(run_dir)
        theirs, source = point.checkpoint.get("config"), str(point.path)
    if not isinstance(theirs, dict):
        raise GaitbenchError(f"{source} holds no recipe: restore config.yaml or start a new run")
    old, new = _flatten(theirs), _flatten(recipe.to_dict())
    defaults = _flatten(Recipe().to_dict())
    for key in sorted(old.keys() | new.keys()):
        if key in SAFE_TO_CHANGE_ON_RESUME or key in _NOT_SETTINGS:
            continue
        if key not in old and new.get(key) == defaults.get(key):
            continue  # a setting newer than the run's config.yaml, left at its default
        if old.get(key) != new.get(key):
            raise GaitbenchError(
                f"--resume: {key} is {_show(old.get(key))} in {source} but {_show(new.get(key))} "
                "now: resume with the run's own settings (only "
                f"{', '.join(SAFE_TO_CHANGE_ON_RESUME)} may change), or pass another --out"
            )


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _show(value: Any) -> str:
    return "unset" if value is None else json.dumps(value)


def start(run_dir: Path, recipe: Recipe) -> None:
    """The run begins: its folder and config.yaml (the resolved recipe) are written."""
    run_dir.mkdir(parents=True, exist_ok=True)
    save_recipe(recipe, run_dir / CONFIG_NAME)
