"""torchrun support: on only when ``WORLD_SIZE > 1``, so one process never needs a process group.

gloo on the CPU, nccl on CUDA. Every rank draws the same global P x K batch and keeps its share
(`gaitbench.data.sampling.TrainClips`); the triplet loss sees the whole global batch through a
differentiable all-gather, and with the recipe's ``sync_bn`` every BatchNorm takes its
statistics over the global batch (`sync_batchnorm`), so one step under DDP computes the
single-process gradient of the same global batch (tests/test_ddp.py checks the weights).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm


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


class _ContiguousGrad(torch.autograd.Function):
    """Identity whose backward hands on a contiguous gradient."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        return grad.contiguous()


def gather_with_grad(x: Tensor, info: DistInfo) -> Tensor:
    """Concatenate ``x`` from every rank along dim 0; gradients flow back to each source.

    The loss downstream transposes the gathered features, so the gradient that comes back is a
    strided view. torch's all-gather backward receives into ``empty_like`` of that gradient (the
    same strides) and gloo writes its bytes in contiguous order, which scrambled the triplet
    gradient (a least-squares ratio of 0.15 to the one-process gradient). Every gathered piece
    therefore passes a contiguous gradient back.
    """
    if not info.enabled:
        return x
    from torch.distributed.nn.functional import all_gather

    # The group named at call time: all_gather's default is the WORLD of the first process
    # group, dead once a run ends and a second run starts in the same process.
    parts = all_gather(x.contiguous(), group=dist.group.WORLD)
    return torch.cat([_ContiguousGrad.apply(part) for part in parts], dim=0)


def _share_state(new: _BatchNorm, bn: _BatchNorm) -> None:
    # The same Parameter objects (the optimiser already holds them) and buffers.
    new.weight, new.bias = bn.weight, bn.bias
    new.running_mean, new.running_var = bn.running_mean, bn.running_var
    new.num_batches_tracked = bn.num_batches_tracked
    new.train(bn.training)


class _PartSyncBatchNorm(nn.SyncBatchNorm):
    """`nn.SyncBatchNorm` for part features ``[n, parts, c]`` (what `PartBatchNorm` normalises)."""

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


class GlooSyncBatchNorm(_BatchNorm):
    """BatchNorm sharing its batch statistics over a gloo process group, for CPU runs: torch's
    `nn.SyncBatchNorm` has CUDA kernels only, and DDP refuses it in a CPU module.

    Training under a process group: the mean and the biased variance are taken over every rank's
    batch through differentiable all-reduces of per-channel sums, so the backward sums each
    rank's share of the statistics' gradient, as torch's CUDA version does. Otherwise (evaluation,
    one process) it is plain BatchNorm. It holds the parameters and buffers of the BatchNorm it
    replaces (same names), so checkpoints load into the plain model. ``parts_last``: the input is
    ``[n, parts, c]`` with channels last (`PartBatchNorm`).
    """

    def __init__(self, bn: _BatchNorm, parts_last: bool = False, process_group: Any = None) -> None:
        super().__init__(bn.num_features, bn.eps, bn.momentum, bn.affine, bn.track_running_stats)
        _share_state(self, bn)
        self.parts_last = parts_last
        self.process_group = process_group

    def _check_input_dim(self, x: Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {x.dim()}D input)")

    def forward(self, x: Tensor) -> Tensor:
        if self.parts_last:
            return self._normalise(x.transpose(1, 2)).transpose(1, 2)
        return self._normalise(x)

    def _normalise(self, x: Tensor) -> Tensor:
        group = self.process_group or dist.group.WORLD
        if not (self.training and dist.is_initialized() and dist.get_world_size(group) > 1):
            return super().forward(x)
        from torch.distributed.nn.functional import all_reduce

        self._check_input_dim(x)
        dims = [0, *range(2, x.dim())]
        shape = [1, -1] + [1] * (x.dim() - 2)
        count = torch.tensor([x.numel() // x.shape[1]], dtype=torch.float64)
        dist.all_reduce(count, group=group)
        n = float(count.item())
        # Sums in float64: a float32 sum over a batch of frames is ~3x noisier than torch's own
        # BatchNorm kernel, and the convolution before a BatchNorm amplifies that in its gradient.
        mean = (all_reduce(x.double().sum(dims), group=group) / n).to(x.dtype)
        centred = x - mean.view(shape)
        sq = centred.double().square().sum(dims)
        var = (all_reduce(sq, group=group) / n).to(x.dtype)
        y = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.weight is not None:
            y = y * self.weight.view(shape)
        if self.bias is not None:
            y = y + self.bias.view(shape)
        if self.track_running_stats and self.running_mean is not None:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                f = (
                    1.0 / float(self.num_batches_tracked)
                    if self.momentum is None
                    else self.momentum
                )
                self.running_mean.mul_(1 - f).add_(mean, alpha=f)
                self.running_var.mul_(1 - f).add_(var * (n / max(n - 1, 1.0)), alpha=f)
        return y


def _synced(bn: _BatchNorm, device: torch.device) -> _BatchNorm:
    from gaitbench.models.blocks import PartBatchNorm

    parts_last = isinstance(bn, PartBatchNorm)
    if device.type != "cuda":
        return GlooSyncBatchNorm(bn, parts_last)
    cls = _PartSyncBatchNorm if parts_last else nn.SyncBatchNorm
    new = cls(bn.num_features, bn.eps, bn.momentum, bn.affine, bn.track_running_stats)
    _share_state(new, bn)
    return new


def sync_batchnorm(model: nn.Module, device: torch.device) -> nn.Module:
    """Every BatchNorm of ``model`` sharing its batch statistics over the process group (the
    recipes' ``sync_BN``): torch's SyncBatchNorm on CUDA, `GlooSyncBatchNorm` on the CPU.

    Not torch's ``convert_sync_batchnorm``: it turns `PartBatchNorm` (channels last) into a
    plain SyncBatchNorm that normalises the parts axis, a shape error for GaitGL and HSTL.
    Parameters and buffers are shared with the model, so the optimiser built before still
    steps them and the state-dict keys do not change.
    """
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, _BatchNorm):
                setattr(parent, name, _synced(child, device))
    return model


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
