"""``--device``: which accelerator a command runs on, checked before any work starts.

    auto     cuda if a CUDA device is visible, else mps if available, else cpu
    cpu
    cuda     the current CUDA device (under torchrun: each rank's local GPU)
    cuda:N   CUDA device N
    mps      Apple's Metal backend

Anything else, or a device this machine lacks, is one error line that says what is available.
"""

from __future__ import annotations

import re

import torch

from gaitbench.errors import GaitbenchError

CHOICES = "auto, cpu, cuda, cuda:N or mps"


def available() -> str:
    """What this machine offers, in words (for error messages)."""
    found = ["cpu"]
    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if n:
        found.append("cuda" if n == 1 else f"cuda:0..cuda:{n - 1}")
    if _mps_available():
        found.append("mps")
    return ", ".join(found)


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def resolve_device(name: str) -> str:
    """The canonical device string for ``--device NAME``; a `GaitbenchError` if this machine
    cannot run on it."""
    name = name.strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return "cuda"
        return "mps" if _mps_available() else "cpu"
    if name == "cpu":
        return name
    match = re.fullmatch(r"cuda(?::(\d+))?", name)
    if match:
        if not torch.cuda.is_available():
            build = f"built with CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU build"
            raise GaitbenchError(
                f"--device {name}: no CUDA device is visible (torch {torch.__version__}, {build}); "
                f"this machine has {available()}: use --device cpu or auto"
            )
        index = match.group(1)
        if index is not None and int(index) >= torch.cuda.device_count():
            raise GaitbenchError(
                f"--device {name}: there is no CUDA device {index}; this machine has {available()}"
            )
        return name
    if name == "mps":
        if not _mps_available():
            raise GaitbenchError(
                f"--device mps: Apple's MPS backend is not available here; this machine has "
                f"{available()}: use --device cpu or auto"
            )
        return name
    raise GaitbenchError(f"--device {name!r} is not a device: use {CHOICES}")
