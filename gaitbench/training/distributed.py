"""torchrun support: on only when ``WORLD_SIZE > 1``, so one process never needs a process group.

gloo on the CPU, nccl on CUDA. Every rank draws the same global P x K batch and keeps its share
(`gaitbench.data.sampling.TrainClips`); the triplet loss sees the whole global batch through a
differentiable all-gather, so one step under DDP computes the single-process gradient (except
for BatchNorm statistics, which SyncBatchNorm shares when the recipe asks).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_from_env(device: str) -> DistInfo:
    """Join torchrun's process group if ``WORLD_SIZE > 1``; otherwise a one-process `DistInfo`."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    info = DistInfo(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        backend = "nccl" if device.startswith("cuda") else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(info.local_rank)
        dist.init_process_group(backend=backend)
    return info


def device_for(device: str, info: DistInfo) -> torch.device:
    """``cuda`` under torchrun means this rank's local GPU."""
    if device == "cuda" and info.enabled:
        return torch.device("cuda", info.local_rank)
    return torch.device(device)


def gather_with_grad(x: Tensor, info: DistInfo) -> Tensor:
    """Concatenate ``x`` from every rank along dim 0; gradients flow back to each source."""
    if not info.enabled:
        return x
    from torch.distributed.nn.functional import all_gather

    return torch.cat(all_gather(x.contiguous()), dim=0)


def gather_plain(x: Tensor, info: DistInfo) -> Tensor:
    if not info.enabled:
        return x
    parts = [torch.empty_like(x) for _ in range(info.world_size)]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts, dim=0)


def all_agree(flag: bool, info: DistInfo, device: torch.device | str = "cpu") -> bool:
    """True only if ``flag`` is true on every rank (used so all ranks stop on a NaN together)."""
    if not info.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MIN)
    return bool(t.item() > 0)


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def shutdown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()
