"""GaitPart (Fan et al., CVPR 2020; OpenGait's `GaitPart`): part-based micro-motion features.

    frames -> frame-level part feature extractor (focal convolutions) -> per-frame HPP (16 parts)
           -> temporal feature aggregator (one micro-motion template builder per part)
           -> max over frames -> separate FC per part = embedding [n, 16, c]

A focal convolution cuts the map into 2**halving horizontal strips and applies one shared conv to
each strip, so no receptive field crosses a strip border. The micro-motion template builder has
two branches per part: short-range (window 3) and long-range (window 5) templates
(avg-pool + max-pool over time) gated by a sigmoid of a small temporal 1-D conv net. No
classifier; triplet loss only. Written from the paper and reference/FACTS.md 2.3.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gaitbench.models.base import ANY_DATASET, ModelOutput, register
from gaitbench.models.blocks import HorizontalPoolingPyramid, SeparateFCs, run_by_length

PARTS = 16

# Published variants (reference/FACTS.md 2.3): the stage widths and focal halving of OpenGait's
# CASIA-B config (BC-32 BC-32 M FC-64-2 FC-64-2 M FC-128-3 FC-128-3) and OU-MVLP / GREW config
# (BC-32 BC-32 M BC-64 BC-64 M FC-128-3 FC-128-3 FC-256-3 FC-256-3).
_CASIA = {"stages": ((32, 32), (64, 64), (128, 128)), "halving": (0, 2, 3), "embed_dim": 128}
_WIDE = {
    "stages": ((32, 32), (64, 64), (128, 128, 256, 256)),
    "halving": (0, 0, 3),
    "embed_dim": 256,
}
VARIANTS: dict[str, dict[str, Any]] = {"casia-b": _CASIA, "oumvlp": _WIDE, "grew": _WIDE}


class FocalConv2d(nn.Module):
    """A conv applied separately to 2**halving equal horizontal strips (halving 0: plain conv).

    Strips are folded into the batch, so all of them go through one convolution call.
    """

    def __init__(self, c_in: int, c_out: int, kernel: int, halving: int) -> None:
        super().__init__()
        self.halving = halving
        self.conv = nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        """x: [m, c_in, h, w] (h divisible by 2**halving) -> [m, c_out, h, w]."""
        if self.halving == 0:
            return self.conv(x)
        m, c, h, w = x.shape
        g = 2**self.halving
        strips = x.reshape(m, c, g, h // g, w).transpose(1, 2).reshape(m * g, c, h // g, w)
        y = self.conv(strips)
        return y.reshape(m, g, -1, h // g, w).transpose(1, 2).reshape(m, -1, h, w)


class TemporalFeatureAggregator(nn.Module):
    """Micro-motion capture: per part, two gated temporal templates, then max over frames.

    Every part has its own two small conv nets (``conv1d3x1[i]``: k3 -> k1, ``conv1d3x3[i]``:
    k3 -> k3, with c // squeeze hidden channels). They are kept as separate modules so the state
    dict maps one to one onto the reference's, and run together as one grouped convolution.
    """

    def __init__(self, channels: int, parts: int = PARTS, squeeze: int = 4) -> None:
        super().__init__()
        hidden = channels // squeeze
        self.parts = parts

        def branch(last_kernel: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv1d(channels, hidden, 3, padding=1, bias=False),
                nn.LeakyReLU(inplace=True),
                nn.Conv1d(hidden, channels, last_kernel, padding=last_kernel // 2, bias=False),
            )

        self.conv1d3x1 = nn.ModuleList(branch(1) for _ in range(parts))
        self.conv1d3x3 = nn.ModuleList(branch(3) for _ in range(parts))

    def _gate(self, x: Tensor, nets: nn.ModuleList) -> Tensor:
        """x: [n, parts * c, s] -> sigmoid scores of the same shape, one net per part."""
        first = torch.cat([net[0].weight for net in nets])  # [parts * hidden, c, 3]
        second = torch.cat([net[2].weight for net in nets])  # [parts * c, hidden, k]
        y = F.leaky_relu(F.conv1d(x, first, padding=1, groups=self.parts), 0.01)
        y = F.conv1d(y, second, padding=second.size(-1) // 2, groups=self.parts)
        return torch.sigmoid(y)

    def forward(self, x: Tensor) -> Tensor:
        """x: [n, s, parts, c] (every frame valid) -> [n, parts, c]."""
        n, s, p, c = x.shape
        z = x.permute(0, 2, 3, 1).reshape(n, p * c, s)
        # Templates: avg-pool (zero padding counted, as the reference) + max-pool over time.
        short = F.avg_pool1d(z, 3, 1, 1) + F.max_pool1d(z, 3, 1, 1)
        long = F.avg_pool1d(z, 5, 1, 2) + F.max_pool1d(z, 5, 1, 2)
        y = short * self._gate(z, self.conv1d3x1) + long * self._gate(z, self.conv1d3x3)
        return y.amax(-1).reshape(n, p, c)


def _backbone(stages: tuple[tuple[int, ...], ...], halving: tuple[int, ...]) -> nn.Sequential:
    """Focal conv stages with LeakyReLU, 2x2 max-pool between stages; the first conv is 5x5.

    One flat `nn.Sequential`, so indices are the reference's `Plain` backbone indices.
    """
    layers: list[nn.Module] = []
    c_in = 1
    for k, (widths, h) in enumerate(zip(stages, halving, strict=True)):
        if k > 0:
            layers.append(nn.MaxPool2d(2))
        for c_out in widths:
            layers += [
                FocalConv2d(c_in, c_out, 5 if c_in == 1 else 3, h),
                nn.LeakyReLU(inplace=True),
            ]
            c_in = c_out
    return nn.Sequential(*layers)


def _published_names() -> tuple[tuple[str, str], ...]:
    # Our name prefix -> OpenGait's. The backbone keeps the reference's indices and `.conv`; the
    # reference wraps each temporal conv in a `.conv` and the aggregator in a `pooling_func`.
    tfa = tuple(
        (f"tfa.{b}.{i}.{j}.", f"TFA.pooling_func.{b}.{i}.{j}.conv.")
        for b in ("conv1d3x1", "conv1d3x3")
        for i in range(PARTS)
        for j in (0, 2)
    )
    return (("backbone.", "Backbone.forward_block.feature."), *tfa, ("head.", "Head."))


PUBLISHED_NAMES: tuple[tuple[str, str], ...] = _published_names()


@register("gaitpart", variants=VARIANTS, published=True)
@register(
    "gaitpart-tiny",
    variants={
        ANY_DATASET: {"stages": ((8, 8), (16, 16), (32, 32)), "halving": (0, 2, 3), "embed_dim": 32}
    },
)
class GaitPart(nn.Module):
    """GaitPart. stages: conv widths per stage (2x2 max-pool between stages); halving: the focal
    halving of each stage; embed_dim: output width per part.

    `num_classes` is accepted so every registered model takes the same `create` arguments;
    GaitPart trains with the triplet loss only and has no classifier.
    """

    def __init__(
        self,
        stages: tuple[tuple[int, ...], ...] = _CASIA["stages"],
        halving: tuple[int, ...] = _CASIA["halving"],
        embed_dim: int = 128,
        parts: int = PARTS,
        num_classes: int | None = None,
    ) -> None:
        super().__init__()
        channels = stages[-1][-1]
        self.backbone = _backbone(stages, halving)
        self.hpp = HorizontalPoolingPyramid((parts,))
        # head before tfa: the reference's declaration order, so state dicts list alike
        self.head = SeparateFCs(parts, channels, embed_dim)
        self.tfa = TemporalFeatureAggregator(channels, parts)
        self.num_classes = num_classes
        for m in self.modules():
            if isinstance(m, (nn.Conv1d, nn.Conv2d)):  # OpenGait's initialisation (FACTS 2.1)
                nn.init.xavier_uniform_(m.weight)

    def forward(self, sils: Tensor, seq_lens: Tensor | None = None) -> ModelOutput:
        """sils: [n, s, h, w] in 0..1 (frames in temporal order); seq_lens: [n] valid frames per
        row of a padded batch, or None. Returns embeddings [n, parts, embed_dim], no logits."""
        n, s, h, w = sils.shape
        x = self.backbone(sils.reshape(n * s, 1, h, w))
        x = self.hpp(x).reshape(n, s, self.hpp.parts, -1)  # [n, s, parts, c]
        # The temporal convs see neighbouring frames: rows run trimmed to their own length, so
        # padding never leaks into a template.
        pooled = run_by_length(self.tfa, x, seq_lens)  # [n, parts, c]
        return ModelOutput(embeddings=self.head(pooled))
