"""Process pools for the CPU-bound data commands (`prep`, `synth`).

Workers start from a forkserver (spawn where there is none), never a plain fork: a child forked
from a process whose OpenCV or OpenMP thread pools have already run can deadlock on a lock one of
those threads held at the fork (seen as a hang inside ``cv2.setNumThreads`` in a prep that followed
an earlier one in the same process). The price is one import of numpy and cv2 per worker, once per
command.
"""

from __future__ import annotations

import multiprocessing as mp
from multiprocessing.context import BaseContext

import cv2

from gaitbench.errors import GaitbenchError


def check_workers(workers: int | None) -> None:
    """``--workers``: None (all cores) or at least 1."""
    if workers is not None and workers < 1:
        raise GaitbenchError(f"--workers {workers}: give 1 or more (default: all cores)")


def pool_context() -> BaseContext:
    """The start method every gaitbench process pool uses."""
    return mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")


def single_threaded_opencv() -> None:
    """Pool initializer: one process per core already; OpenCV's own threads would only compete."""
    cv2.setNumThreads(1)
