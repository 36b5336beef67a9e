"""GaitGL: global-local 3-D convolutions with local temporal aggregation (Lin et al., ICCV 2021).

    stem (3-D conv x1 or x2) -> LTA (3-frame, stride-3 temporal conv) -> GL block A0
    -> 2x2 spatial max pool -> GL block A1 -> GL block B2 (its last layer stacks the global and
    local maps vertically, doubling the height) -> temporal max -> GeM over 64 strips
    -> separate FCs -> BatchNorm neck (the inference embedding) -> separate FCs to the classes.

A GL layer adds (or, in B2's last layer, stacks) a global 3-D convolution over the whole map and
a local one whose kernel is shared by 2**halving equal horizontal strips, each zero-padded at its
own borders.

Variants (reference/FACTS.md 2.4): CASIA-B channels 32/64/128, one layer per block, halving 3;
OU-MVLP and GREW channels 32/64/128/256, two layers per block, halving 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gaitbench.models.base import ANY_DATASET, ModelOutput, register
from gaitbench.models.blocks import (
    GeMHPP,
    PartBatchNorm,
    SeparateFCs,
    init_opengait,
    repeat_short,
    run_by_length,
    temporal_max,
)

# Our state-dict prefix -> the OpenGait checkpoint's (longest matching prefix wins; see
# gaitbench.models.published). The reference wraps every Conv3d in a `.conv3d` module.
PUBLISHED_NAMES: tuple[tuple[str, str], ...] = (
    *((f"stem.{i}.", f"conv3d.{i}.conv3d.") for i in (0, 2)),
    ("lta.", "LTA.0.conv3d."),
    *(
        (f"{ours}{layer}{kind}_conv.", f"{ref}{layer}{kind}_conv3d.conv3d.")
        for ours, ref in (("gl_a0", "GLConvA0"), ("gl_a1", "GLConvA1"), ("gl_b2", "GLConvB2"))
        for layer in ("", ".0", ".1")
        for kind in (".global", ".local")
    ),
    ("hpp.", "HPP."),
    ("head.", "Head0."),
    ("bn.", "Bn."),
    ("classifier.", "Head1."),
)


class GLConv(nn.Module):
    """Global-local 3-D convolution. [n, c, s, h, w] -> [n, c', s, h, w] (or 2h with `stack`).

    halving: the local kernel runs on 2**halving equal horizontal strips.
    stack:   concatenate global and local maps along the height (then LeakyReLU) instead of
             adding their LeakyReLUs.
    """

    def __init__(self, in_channels: int, out_channels: int, halving: int, stack: bool = False):
        super().__init__()
        self.halving, self.stack = halving, stack
        self.global_conv = nn.Conv3d(in_channels, out_channels, 3, padding=1, bias=False)
        self.local_conv = nn.Conv3d(in_channels, out_channels, 3, padding=1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        g = self.global_conv(x)
        if self.halving == 0:
            local = self.local_conv(x)
        else:
            # Strips share one kernel, so they fold into the batch: one call, each strip
            # zero-padded at its own borders exactly as a separate call would.
            n, c, s, h, w = x.shape
            k = 2**self.halving
            strips = x.reshape(n, c, s, k, h // k, w).permute(0, 3, 1, 2, 4, 5)
            local = self.local_conv(strips.reshape(n * k, c, s, h // k, w))
            local = local.reshape(n, k, -1, s, h // k, w).permute(0, 2, 3, 1, 4, 5)
            local = local.reshape(n, -1, s, h, w)
        if self.stack:
            return F.leaky_relu(torch.cat([g, local], 3))
        return F.leaky_relu(g) + F.leaky_relu(local)


def _gl_block(channels: Sequence[tuple[int, int]], halving: int, stack_last: bool) -> nn.Module:
    layers = [
        GLConv(a, b, halving, stack=stack_last and i == len(channels) - 1)
        for i, (a, b) in enumerate(channels)
    ]
    # one layer stands alone (the CASIA-B checkpoint has no `.0` in its names)
    return layers[0] if len(layers) == 1 else nn.Sequential(*layers)


_CASIA_B = dict(channels=(32, 64, 128), layers_per_block=1, halving=3, num_classes=74)
_OUMVLP = dict(channels=(32, 64, 128, 256), layers_per_block=2, halving=1, num_classes=5153)


@register(
    "gaitgl",
    variants={"casia-b": _CASIA_B, "oumvlp": _OUMVLP, "grew": dict(_OUMVLP, num_classes=20000)},
    published=True,
)
@register(
    "gaitgl-tiny",
    variants={
        ANY_DATASET: dict(channels=(8, 16, 32), layers_per_block=1, halving=3, num_classes=8)
    },
)
class GaitGL(nn.Module):
    """GaitGL for silhouettes [n, s, 64, 44].

    channels: stem, A0, A1 widths, and B2's (the embedding width; CASIA-B reuses A1's).
    layers_per_block: GL layers per block (1: CASIA-B; 2: OU-MVLP / GREW, which also doubles
              the stem).
    halving:  local strips = 2**halving.
    """

    def __init__(
        self,
        channels: Sequence[int] = (32, 64, 128),
        layers_per_block: int = 1,
        halving: int = 3,
        num_classes: int = 74,
        parts: int = 64,
    ):
        super().__init__()
        c = tuple(channels)
        c0, c1, c2 = c[:3]
        c3 = c[3] if len(c) > 3 else c2
        stem: list[nn.Module] = []
        for i in range(layers_per_block):
            stem += [nn.Conv3d(1 if i == 0 else c0, c0, 3, padding=1, bias=False), nn.LeakyReLU()]
        self.stem = nn.Sequential(*stem)
        self.lta = nn.Conv3d(c0, c0, (3, 1, 1), stride=(3, 1, 1), bias=False)

        def widths(a: int, b: int) -> list[tuple[int, int]]:
            return [(a, b)] + [(b, b)] * (layers_per_block - 1)

        self.gl_a0 = _gl_block(widths(c0, c1), halving, False)
        self.gl_a1 = _gl_block(widths(c1, c2), halving, False)
        self.gl_b2 = _gl_block(widths(c2, c3), halving, True)
        self.hpp = GeMHPP(bins=(parts,))
        self.head = SeparateFCs(parts, c3, c3)
        self.bn = PartBatchNorm(c3)
        self.classifier = SeparateFCs(parts, c3, num_classes)
        init_opengait(self)

    def part_features(self, sils: Tensor) -> Tensor:
        """sils [n, s, 64, 44] -> [n, parts, c] (GeM over the temporally max-pooled map)."""
        x = self.stem(repeat_short(sils.unsqueeze(1)))
        x = F.leaky_relu(self.lta(x))
        x = F.max_pool3d(self.gl_a0(x), (1, 2, 2), stride=(1, 2, 2))
        x = self.gl_b2(self.gl_a1(x))
        return self.hpp(temporal_max(x))

    def forward(self, sils: Tensor, seq_lens: Tensor | None = None) -> ModelOutput:
        """sils [n, s, 64, 44] in 0..1; seq_lens [n] valid frames per row of a padded batch.

        Returns embeddings [n, 64, c] (the BatchNorm neck output) and logits [n, 64, classes].
        """
        feats = run_by_length(self.part_features, sils, seq_lens)
        embeddings = self.bn(self.head(feats))
        return ModelOutput(embeddings=embeddings, logits=self.classifier(embeddings))
