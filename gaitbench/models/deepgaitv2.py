"""DeepGaitV2 (Fan, Hou, Huang, Yu, "Exploring Deep Models for Practical Gait Recognition",
arXiv 2303.03301; OpenGait's `DeepGaitV2` in its P3D mode, the one every released config builds).

    frames -> stem (3x3 conv, BN, ReLU; per frame)
           -> stage 1: basic residual blocks, per frame (always 2-D)
           -> stages 2-4: pseudo-3D residual blocks (a per-frame 3x3 conv plus a 3x1x1 temporal
              conv over neighbouring frames), 128 / 256 / 512 channels, spatial strides 2 / 2 / 1
           -> max over frames -> HPP (16 parts, mean + max)
           -> separate FCs = embedding [n, 16, 256]  (the triplet loss and inference use this)
           -> BNNeck (one BatchNorm1d over all 16 x 256) -> cosine classifier = logits

One architecture for every dataset: CASIA-B, OU-MVLP, CCPG and SUSTech1K use one block per stage
(1-1-1-1), GREW and Gait3D four in the middle stages (1-4-4-1); the classifier width is the
number of training identities. The stem, stage 1, HPP, the FCs and the BNNeck are GaitBase's
layers (blocks.py). Written from the paper and the verified facts of OpenGait's release
(github ShiqiYu/OpenGait @0efafd4, opengait/modeling/models/deepgaitv2.py and its configs).

Sequences are never packed along the frame axis: a temporal convolution would see the last
frames of one sequence next to the first of the next (OpenGait's test-time packing does exactly
that, and its configs avoid it only by testing one sequence per GPU). Each batch row is one
sequence; padded rows of a variable-length batch are run on their own trimmed clips.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from gaitbench.models.base import ANY_DATASET, DATASET_CLASSES, ModelOutput, register
from gaitbench.models.blocks import (
    BasicBlock2D,
    FrameWise,
    HorizontalPoolingPyramid,
    SeparateBNNecks,
    SeparateFCs,
    init_opengait,
    run_by_length,
    temporal_max,
)

PARTS = 16

# OpenGait configs/deepgaitv2/DeepGaitV2_<dataset>.yaml: Backbone.layers and class_num.
SHALLOW, DEEP = (1, 1, 1, 1), (1, 4, 4, 1)
VARIANTS: dict[str, dict[str, Any]] = {
    "casia-b": {"layers": SHALLOW, "num_classes": DATASET_CLASSES["casia-b"]},
    "oumvlp": {"layers": SHALLOW, "num_classes": DATASET_CLASSES["oumvlp"]},
    "ccpg": {"layers": SHALLOW, "num_classes": DATASET_CLASSES["ccpg"]},
    "sustech1k": {"layers": SHALLOW, "num_classes": DATASET_CLASSES["sustech1k"]},
    "grew": {"layers": DEEP, "num_classes": DATASET_CLASSES["grew"]},
    "gait3d": {"layers": DEEP, "num_classes": DATASET_CLASSES["gait3d"]},
}

# Our name prefix -> OpenGait's. The backbone keeps the reference's names (layer0 .. layer4,
# `forward_block` for the per-frame wrapper, `shortcut3d` / `sbn` for the temporal branch);
# only the head is spelled as in GaitBase.
PUBLISHED_NAMES: tuple[tuple[str, str], ...] = (
    ("fcs.", "FCs."),
    ("bnnecks.", "BNNecks."),
)


def conv3x3(c_in: int, c_out: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, stride, padding=1, bias=False)


class BasicBlockP3D(nn.Module):
    """Pseudo-3D residual block on [n, c_in, s, h, w]:

    a   = relu(bn(conv3x3(x)))                 per frame, spatial stride
    a   = relu(a + bn3d(conv3d_3x1x1(a)))      over time, zero-padded: 3-frame window
    out = relu(bn(conv3x3(a)) + shortcut(x))   per frame; shortcut: identity, or a strided
                                               1x1x1 Conv3d + BN3d where the shape changes
    """

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.relu = nn.ReLU(inplace=True)
        self.conv1 = FrameWise(
            nn.Sequential(conv3x3(c_in, c_out, stride), nn.BatchNorm2d(c_out), nn.ReLU(True))
        )
        self.conv2 = FrameWise(nn.Sequential(conv3x3(c_out, c_out), nn.BatchNorm2d(c_out)))
        self.shortcut3d = nn.Conv3d(c_out, c_out, (3, 1, 1), 1, padding=(1, 0, 0), bias=False)
        self.sbn = nn.BatchNorm3d(c_out)
        self.downsample: nn.Module | None = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(
                nn.Conv3d(c_in, c_out, 1, (1, stride, stride), bias=False), nn.BatchNorm3d(c_out)
            )

    def forward(self, x: Tensor) -> Tensor:
        """x: [n, c_in, s, h, w] -> [n, c_out, s, h / stride, w / stride] (rounded up)."""
        shortcut = x if self.downsample is None else self.downsample(x)
        a = self.conv1(x)
        a = self.relu(a + self.sbn(self.shortcut3d(a)))
        return self.relu(self.conv2(a) + shortcut)


@register("deepgaitv2", variants=VARIANTS, published=True)
@register(
    "deepgaitv2-tiny",
    variants={ANY_DATASET: {"channels": (8, 16, 32, 64), "embed_dim": 32, "num_classes": 10}},
)
class DeepGaitV2(nn.Module):
    """DeepGaitV2 (P3D). channels: the four stages' widths; layers: blocks per stage
    (1-1-1-1 or 1-4-4-1 as published); embed_dim: FC width per part; num_classes: classifier
    width (the training identities)."""

    def __init__(
        self,
        channels: tuple[int, ...] = (64, 128, 256, 512),
        layers: tuple[int, ...] = SHALLOW,
        strides: tuple[int, ...] = (1, 2, 2, 1),
        embed_dim: int = 256,
        parts: int = PARTS,
        num_classes: int = 74,
    ) -> None:
        super().__init__()
        if not len(channels) == len(layers) == len(strides) == 4:
            raise ValueError("channels, layers and strides need one value per stage (four)")
        self.layer0 = FrameWise(
            nn.Sequential(conv3x3(1, channels[0]), nn.BatchNorm2d(channels[0]), nn.ReLU(True))
        )
        # Stage 1 is always 2-D, per frame: temporal modelling starts at stage 2.
        stage1 = [BasicBlock2D(channels[0], channels[0], strides[0])]
        stage1 += [BasicBlock2D(channels[0], channels[0]) for _ in range(layers[0] - 1)]
        self.layer1 = FrameWise(nn.Sequential(*stage1))
        c_in = channels[0]
        for k in range(1, 4):
            c_out = channels[k]
            stage = [BasicBlockP3D(c_in, c_out, strides[k])]
            stage += [BasicBlockP3D(c_out, c_out) for _ in range(layers[k] - 1)]
            self.add_module(f"layer{k + 1}", nn.Sequential(*stage))
            c_in = c_out
        self.fcs = SeparateFCs(parts, c_in, embed_dim)
        self.bnnecks = SeparateBNNecks(parts, embed_dim, num_classes)
        self.hpp = HorizontalPoolingPyramid((parts,))
        init_opengait(self)  # after construction, as the reference (fc_bin stay Xavier)

    def _features(self, sils: Tensor) -> Tensor:
        """sils [k, s, h, w], every frame valid -> backbone map pooled over frames [k, c, h', w']."""
        x = sils.unsqueeze(1)  # [k, 1, s, h, w]
        for k in range(5):
            x = getattr(self, f"layer{k}")(x)
        return temporal_max(x, dim=2)

    def forward(self, sils: Tensor, seq_lens: Tensor | None = None) -> ModelOutput:
        """sils: [n, s, h, w] in 0..1, one sequence per row; seq_lens: [n] valid frames per row
        of a padded batch, or None. Returns embeddings = features [n, 16, embed_dim] (before
        the BNNeck) and cosine logits [n, 16, num_classes] (after it)."""
        x = run_by_length(self._features, sils, seq_lens)
        embed = self.fcs(self.hpp(x))
        _, logits = self.bnnecks(embed)
        return ModelOutput(embeddings=embed, logits=logits, features=embed)
