"""GaitBase (Fan et al., OpenGait, CVPR 2023; OpenGait's `Baseline`): a ResNet-9-like baseline.

    frames -> ResNet-9 (per frame) -> max over frames -> HPP (16 parts, mean + max)
           -> separate FCs = embedding [n, 16, 256]  (the triplet loss and inference use this)
           -> BNNeck (one BatchNorm1d over all 16 x 256) -> cosine classifier = logits

The backbone is a stem (3x3 conv, BN, ReLU, no max-pool) and four stages of basic residual
blocks (64, 128, 256, 512 channels, strides 1, 2, 2, 1, one block each; the block lives in
blocks.py, shared with DeepGaitV2), written here: the torchvision ResNet it mirrors has no CPU
build that installs beside our torch. Written from the
paper and reference/FACTS.md 2.5.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from gaitbench.models.base import ANY_DATASET, DATASET_CLASSES, ModelOutput, register
from gaitbench.models.blocks import (
    BasicBlock2D,
    HorizontalPoolingPyramid,
    SeparateBNNecks,
    SeparateFCs,
    temporal_max,
)

PARTS = 16

# One architecture for every dataset; only the classifier width differs (FACTS 2.5:
# 74 / 5153 / 20000 / 3000 training classes).
VARIANTS: dict[str, dict[str, Any]] = {
    d: {"num_classes": DATASET_CLASSES[d]} for d in ("casia-b", "oumvlp", "grew", "gait3d")
}

# Our name prefix -> OpenGait's, longest prefix first. The reference wraps the backbone in a
# frame-wise `forward_block` and its stem conv in a `.conv`; the residual stages already carry the
# torchvision names (`layer2.0.downsample.1`), which read well and are kept.
PUBLISHED_NAMES: tuple[tuple[str, str], ...] = (
    ("backbone.conv1.", "Backbone.forward_block.conv1.conv."),
    ("backbone.", "Backbone.forward_block."),
    ("fcs.", "FCs."),
    ("bnnecks.", "BNNecks."),
)


class ResNet9(nn.Module):
    """Stem + four residual stages, applied to single frames: [m, 1, h, w] -> [m, c4, h/4, w/4]
    with the published strides."""

    def __init__(
        self,
        channels: tuple[int, ...] = (64, 128, 256, 512),
        strides: tuple[int, ...] = (1, 2, 2, 1),
        blocks: tuple[int, ...] = (1, 1, 1, 1),
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, channels[0], 3, 1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels[0])
        self.relu = nn.ReLU(inplace=True)
        c_in = channels[0]
        for k, (c_out, stride, count) in enumerate(zip(channels, strides, blocks, strict=True)):
            stage = [BasicBlock2D(c_in, c_out, stride)]
            stage += [BasicBlock2D(c_out, c_out) for _ in range(count - 1)]
            self.add_module(f"layer{k + 1}", nn.Sequential(*stage))
            c_in = c_out
        self.stages = len(channels)
        self.out_channels = c_in

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        for k in range(self.stages):
            x = getattr(self, f"layer{k + 1}")(x)
        return x


@register("gaitbase", variants=VARIANTS, published=True)
@register(
    "gaitbase-tiny",
    variants={ANY_DATASET: {"channels": (8, 16, 32, 64), "embed_dim": 32, "num_classes": 10}},
)
class GaitBase(nn.Module):
    """GaitBase. channels / strides / blocks: the residual stages; embed_dim: FC width per part;
    num_classes: classifier width (the training identities)."""

    def __init__(
        self,
        channels: tuple[int, ...] = (64, 128, 256, 512),
        strides: tuple[int, ...] = (1, 2, 2, 1),
        blocks: tuple[int, ...] = (1, 1, 1, 1),
        embed_dim: int = 256,
        parts: int = PARTS,
        num_classes: int = 74,
    ) -> None:
        super().__init__()
        self.backbone = ResNet9(channels, strides, blocks)
        self.hpp = HorizontalPoolingPyramid((parts,))
        self.fcs = SeparateFCs(parts, self.backbone.out_channels, embed_dim)
        self.bnnecks = SeparateBNNecks(parts, embed_dim, num_classes)
        for m in self.modules():  # OpenGait's initialisation (FACTS 2.1)
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_uniform_(m.weight)
            elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)

    def forward(self, sils: Tensor, seq_lens: Tensor | None = None) -> ModelOutput:
        """sils: [n, s, h, w] in 0..1; seq_lens: [n] valid frames per row of a padded batch, or
        None. Returns embeddings = features [n, 16, embed_dim] (before the BNNeck) and cosine
        logits [n, 16, num_classes] (after it)."""
        n, s, h, w = sils.shape
        frames = sils.reshape(n * s, 1, h, w)
        if seq_lens is None:
            x = self.backbone(frames)
        else:
            # Only the real frames go through the backbone: padding would enter its BatchNorm
            # statistics, which OpenGait's unpadded (concatenated) batches never see.
            valid = torch.arange(s, device=sils.device)[None, :] < seq_lens.to(sils.device)[:, None]
            kept = self.backbone(frames[valid.reshape(-1)])
            x = kept.new_zeros((n * s, *kept.shape[1:])).index_put((valid.reshape(-1),), kept)
        x = temporal_max(x.reshape(n, s, *x.shape[1:]), seq_lens, dim=1)  # [n, c, h', w']
        embed = self.fcs(self.hpp(x))
        _, logits = self.bnnecks(embed)
        return ModelOutput(embeddings=embed, logits=logits, features=embed)
