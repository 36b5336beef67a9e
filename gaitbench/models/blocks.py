"""Layers shared by several gait models, each defined once.

Layout conventions: sequences of feature maps are ``[n, c, s, h, w]`` (as 3-D convolutions
want them); part features leave every pooling block as ``[n, parts, c]``, the layout of
`ModelOutput.embeddings`.

Parameter names (``fc_bin``, ``p``) are those of the published checkpoints, so the name tables in
`gaitbench.models.published` stay short.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class SeparateFCs(nn.Module):
    """One fully connected layer per part, without bias.

    fc_bin: [parts, in_channels, out_channels]. With `norm`, each output column of `fc_bin` is
    L2-normalised over in_channels first (cosine-style logits when the input is normalised).
    """

    def __init__(self, parts: int, in_channels: int, out_channels: int, norm: bool = False):
        super().__init__()
        self.parts = parts
        self.norm = norm
        self.fc_bin = nn.Parameter(
            nn.init.xavier_uniform_(torch.zeros(parts, in_channels, out_channels))
        )

    def forward(self, x: Tensor) -> Tensor:
        """x: [n, parts, in] -> [n, parts, out]."""
        weight = F.normalize(self.fc_bin, dim=1) if self.norm else self.fc_bin
        # [parts, n, in] @ [parts, in, out]: one batched matmul over parts.
        return x.transpose(0, 1).matmul(weight).transpose(0, 1)


class GeMHPP(nn.Module):
    """Generalised-mean pooling over horizontal strips, with one learnable exponent `p`.

    For each bin count b the map is cut into b strips of h / b rows; each strip is pooled as
    ``mean(clamp(x, eps) ** p) ** (1 / p)`` over its rows and columns.
    """

    def __init__(self, bins: Sequence[int] = (64,), p: float = 6.5, eps: float = 1.0e-6):
        super().__init__()
        self.bins = tuple(bins)
        self.p = nn.Parameter(torch.ones(1) * p)
        self.eps = eps

    @property
    def parts(self) -> int:
        return sum(self.bins)

    def forward(self, x: Tensor) -> Tensor:
        """x: [n, c, h, w] (h divisible by every bin count) -> [n, sum(bins), c]."""
        n, c = x.shape[:2]
        out = []
        for b in self.bins:
            z = x.reshape(n, c, b, -1)
            # avg_pool2d rather than mean: fvcore skips both, and this is the reference's
            # operator, so the rounding of the fidelity fixtures is reproduced exactly.
            z = F.avg_pool2d(z.clamp(min=self.eps).pow(self.p), (1, z.size(-1)))
            out.append(z.pow(1.0 / self.p).squeeze(-1))
        return torch.cat(out, -1).transpose(1, 2)


class HorizontalPoolingPyramid(nn.Module):
    """Horizontal pyramid pooling: each of b strips pooled as mean + max (GaitSet, GaitPart,
    GaitBase). No parameters."""

    def __init__(self, bins: Sequence[int] = (16, 8, 4, 2, 1)):
        super().__init__()
        self.bins = tuple(bins)

    @property
    def parts(self) -> int:
        return sum(self.bins)

    def forward(self, x: Tensor) -> Tensor:
        """x: [n, c, h, w] -> [n, sum(bins), c]."""
        n, c = x.shape[:2]
        out = []
        for b in self.bins:
            z = x.reshape(n, c, b, -1)
            out.append(z.mean(-1) + z.max(-1)[0])
        return torch.cat(out, -1).transpose(1, 2)


class BasicBlock2D(nn.Module):
    """Residual block (ResNet's basic block, per frame; GaitBase, DeepGaitV2's first stage):
    relu(bn(conv3x3(relu(bn(conv3x3(x))))) + shortcut(x)).

    The shortcut is a strided 1x1 conv + BN when the stride or the width changes, else identity.
    """

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Module | None = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: Tensor) -> Tensor:
        """x: [m, c_in, h, w] -> [m, c_out, h / stride, w / stride] (rounded up)."""
        shortcut = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + shortcut)


class FrameWise(nn.Module):
    """Apply a 2-D module to every frame: [n, c, s, h, w] -> [n, c', s, h', w'].

    Frames are folded into the batch, so the wrapped module never sees the time axis.
    """

    def __init__(self, module: nn.Module):
        super().__init__()
        self.forward_block = module  # the reference's name, so checkpoints map one to one

    def forward(self, x: Tensor) -> Tensor:
        n, c, s, h, w = x.shape
        y = self.forward_block(x.transpose(1, 2).reshape(n * s, c, h, w))
        return y.reshape(n, s, *y.shape[1:]).transpose(1, 2).contiguous()


def temporal_max(x: Tensor, seq_lens: Tensor | None = None, dim: int = 2) -> Tensor:
    """Max over frames (set pooling). x: [n, c, s, ...] with frames on `dim` -> [n, c, ...].

    seq_lens: [n] valid frames per row of a padded batch; frames at or beyond a row's length are
    ignored. None: every frame counts.
    """
    if seq_lens is None:
        return x.max(dim)[0]
    s = x.size(dim)
    valid = torch.arange(s, device=x.device)[None, :] < seq_lens.to(x.device)[:, None]  # [n, s]
    shape = [1] * x.dim()
    shape[0], shape[dim] = x.size(0), s
    masked = x.masked_fill(~valid.reshape(shape), torch.finfo(x.dtype).min)
    return masked.max(dim)[0]


class SeparateBNNecks(nn.Module):
    """BNNeck with a part-wise classifier (GaitBase).

    One BatchNorm1d over the flattened [channels * parts] vector (`parallel_bn`), or one shared
    over channels; then, with `norm`, cosine logits (features and `fc_bin` both L2-normalised).
    """

    def __init__(
        self,
        parts: int,
        in_channels: int,
        num_classes: int,
        norm: bool = True,
        parallel_bn: bool = True,
    ):
        super().__init__()
        self.parts = parts
        self.norm = norm
        self.parallel_bn = parallel_bn
        self.fc_bin = nn.Parameter(
            nn.init.xavier_uniform_(torch.zeros(parts, in_channels, num_classes))
        )
        self.bn1d = nn.BatchNorm1d(in_channels * parts if parallel_bn else in_channels)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x: [n, parts, c] -> (bn features [n, parts, c], logits [n, parts, classes])."""
        n, p, c = x.shape
        if self.parallel_bn:
            # the reference flattens channel-major ([n, c, p] -> [n, c * p]); keep that order so
            # published BN statistics land on the right (channel, part) pairs.
            bn = self.bn1d(x.transpose(1, 2).reshape(n, c * p)).reshape(n, c, p).transpose(1, 2)
        else:
            bn = self.bn1d(x.transpose(1, 2)).transpose(1, 2)
        if self.norm:
            logits = F.normalize(bn, dim=-1).transpose(0, 1).matmul(F.normalize(self.fc_bin, dim=1))
        else:
            logits = bn.transpose(0, 1).matmul(self.fc_bin)
        return bn.contiguous(), logits.transpose(0, 1)


class PartBatchNorm(nn.BatchNorm1d):
    """BatchNorm1d over channels for part features [n, parts, c] (the HSTL / GaitGL neck).

    Statistics are shared by all parts, as in the reference (BatchNorm1d on [n, c, parts]).
    """

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


def repeat_short(sils: Tensor, minimum: int = 3) -> Tensor:
    """Repeat a clip shorter than `minimum` frames along time (x3 for 1 frame, x2 for 2), as the
    3-D models' references do. sils: [n, c, s, h, w]."""
    s = sils.size(2)
    if s >= minimum:
        return sils
    return sils.repeat(1, 1, -(-minimum // s), 1, 1)


def split_by_length(seq_lens: Tensor | None, n: int, s: int) -> list[tuple[int, Tensor]]:
    """Group the rows of a padded batch by their length: [(length, row indices)].

    Models whose temporal convolutions see neighbouring frames run each group on its trimmed
    clip, so a padded row gives exactly the embedding of the unpadded sequence.
    """
    if seq_lens is None:
        return [(s, torch.arange(n))]
    lens = seq_lens.to("cpu").long()
    if lens.numel() != n or bool((lens < 1).any()) or bool((lens > s).any()):
        raise ValueError(f"seq_lens must hold {n} lengths in 1..{s}, got {lens.tolist()}")
    return [(int(v), torch.nonzero(lens == v).flatten()) for v in torch.unique(lens)]


def run_by_length(fn, sils: Tensor, seq_lens: Tensor | None) -> Tensor:  # noqa: ANN001
    """Apply `fn` (clip [k, length, ...] -> features [k, ...]) to each group of equal-length rows
    of a padded batch `sils` [n, s, ...] and reassemble the rows in order.

    With `seq_lens` None (or all rows full length) this is a single call of `fn`.
    """
    n, s = sils.shape[:2]
    groups = split_by_length(seq_lens, n, s)
    if len(groups) == 1 and groups[0][0] == s:
        return fn(sils)
    parts = [(rows, fn(sils[rows.to(sils.device), :length])) for length, rows in groups]
    out = parts[0][1].new_empty((n, *parts[0][1].shape[1:]))
    for rows, feats in parts:
        out[rows.to(out.device)] = feats
    return out


def init_opengait(model: nn.Module) -> None:
    """OpenGait's standard initialisation: Xavier-uniform convolutions and linear layers with
    zero bias, BatchNorm weight ~ N(1, 0.02) and zero bias (separate FCs are Xavier at birth)."""
    for m in model.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
