"""Which arithmetic a run trains in: ``--precision {auto,fp32,bf16,fp16}``.

* ``fp32``: no autocast.
* ``bf16``: autocast to bfloat16 (no loss scaler: bf16 has fp32's exponent range).
* ``fp16``: autocast to float16 with a `GradScaler`, the reference implementations' GPU setting.
* ``auto``: bf16 where the hardware computes it natively (a CPU with AVX-512 BF16 or AMX, a GPU
  that reports bf16 support), otherwise the recipe's own mixed precision on a GPU (fp16 with a
  scaler in every published recipe), and fp32 on a CPU without bf16, where fp16 and bf16 are only
  emulated and run slower than fp32 (benchmarks/train.py measures all of them side by side).
  A recipe with ``train.amp: false`` means fp32 wherever ``auto`` is asked.

The run's config.yaml records the resolved precision (never ``auto``), so a resumed run keeps the
arithmetic it started with; a checkpoint written before this option existed resumes in what
gaitbench used then (fp32 on a CPU, the recipe's AMP dtype on a GPU).
"""

from __future__ import annotations

from typing import Any

import torch

from gaitbench.errors import GaitbenchError

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bfloat16 in hardware (not emulated)."""
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)
    return False


def resolve_precision(
    precision: str, device: torch.device, recipe_amp: bool, recipe_amp_dtype: str
) -> str:
    """``precision`` (any of `PRECISIONS`) -> the concrete one (fp32, bf16 or fp16) to train in."""
    if precision not in PRECISIONS:
        raise GaitbenchError(f"unknown precision {precision!r}: use one of {', '.join(PRECISIONS)}")
    if precision == "bf16" and device.type == "cuda" and not native_bf16(device):
        raise GaitbenchError(
            "--precision bf16 but this GPU does not support bfloat16: use --precision fp16"
        )
    if precision != "auto":
        return precision
    if not recipe_amp:
        return "fp32"
    if native_bf16(device):
        return "bf16"
    return recipe_amp_dtype if device.type == "cuda" else "fp32"


def checkpoint_precision(state: dict[str, Any], device: torch.device) -> str:
    """The precision a checkpoint was trained in (checkpoints from before ``--precision``: what
    gaitbench did then, fp32 on a CPU and the recipe's AMP dtype on a GPU)."""
    train = state.get("config", {}).get("train", {})
    if train.get("precision", "auto") != "auto":
        return str(train["precision"])
    if device.type == "cuda" and train.get("amp", True):
        return str(train.get("amp_dtype", "bf16"))
    return "fp32"


def autocast_dtype(precision: str) -> torch.dtype | None:
    """The autocast dtype of a resolved precision (None: no autocast)."""
    return _DTYPES[precision]


def to_channels_last(model: torch.nn.Module) -> torch.nn.Module:
    """Every 4-D weight in channels-last and every 5-D one in channels-last-3d layout, in place.

    ``Module.to(memory_format=torch.channels_last)`` refuses 5-D tensors, and the 3-D
    convolutions of HSTL, GaitGL and GaitPart are exactly where oneDNN gains most from the
    layout. The arithmetic is unchanged; only the order of elements in memory differs.
    """
    formats = {4: torch.channels_last, 5: torch.channels_last_3d}
    for tensor in [*model.parameters(), *model.buffers()]:
        fmt = formats.get(tensor.dim())
        if fmt is not None:
            tensor.data = tensor.data.contiguous(memory_format=fmt)
    return model
