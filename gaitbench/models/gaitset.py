"""GaitSet (Chao et al., AAAI 2019; OpenGait's `GaitSet`): a gait is an unordered set of frames.

    frames -> set_block1 -> set_block2 -> set_block3 -> max over frames -> HPP (31 parts)
                 |  max        |  max         |  max
                 +-> gl_block2 +-> (+) -> gl_block3 -> (+) -----------> HPP (31 parts)

The multilayer global pipeline (``gl_*``) runs on set-pooled maps and adds each later set-pooled
level; both branches are cut by the horizontal pyramid (bins 16, 8, 4, 2, 1, each strip
mean + max), giving 62 parts, and a separate FC per part gives the embedding (what the triplet
loss sees and what inference uses). No classifier. Written from the paper and the verified facts
(reference/FACTS.md 2.2); the parameter names map one to one onto OpenGait's via
`PUBLISHED_NAMES`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from gaitbench.models.base import ANY_DATASET, ModelOutput, register
from gaitbench.models.blocks import HorizontalPoolingPyramid, SeparateFCs, temporal_max

HPP_BINS = (16, 8, 4, 2, 1)

# Published variants (reference/FACTS.md 2.2). OU-MVLP and GREW double the widths; the Gait3D
# entry has the widths of OpenGait's gait3d config (1-32-64-128, FC 128 -> 256).
_CASIA = {"channels": (32, 64, 128), "embed_dim": 256}
_WIDE = {"channels": (64, 128, 256), "embed_dim": 256}
VARIANTS: dict[str, dict[str, Any]] = {
    "casia-b": _CASIA,
    "oumvlp": _WIDE,
    "grew": _WIDE,
    "gait3d": _CASIA,
}

# Our name prefix -> the reference's (OpenGait's `GaitSet`), longest prefix first. The reference
# wraps the frame-level blocks in a `forward_block` and each conv in a `.conv`; here frames are
# folded into the batch once, so the blocks are plain `nn.Sequential`s of `nn.Conv2d`.
PUBLISHED_NAMES: tuple[tuple[str, str], ...] = (
    *(
        (f"set_block{b}.{i}.", f"set_block{b}.forward_block.{i}.conv.")
        for b in (1, 2, 3)
        for i in (0, 2)
    ),
    *((f"gl_block{b}.{i}.", f"gl_block{b}.{i}.conv.") for b in (2, 3) for i in (0, 2)),
    ("head.", "Head."),
)


def _conv_stack(c_in: int, c_out: int, first_kernel: int, pool: bool) -> nn.Sequential:
    """Two bias-free convs, each followed by LeakyReLU, then an optional 2x2 max-pool."""
    layers: list[nn.Module] = [
        nn.Conv2d(c_in, c_out, first_kernel, padding=first_kernel // 2, bias=False),
        nn.LeakyReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
        nn.LeakyReLU(inplace=True),
    ]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


@register("gaitset", variants=VARIANTS, published=True)
@register("gaitset-tiny", variants={ANY_DATASET: {"channels": (8, 16, 32), "embed_dim": 32}})
class GaitSet(nn.Module):
    """GaitSet. channels: widths of the three conv stages; embed_dim: output width per part.

    `num_classes` is accepted so every registered model takes the same `create` arguments;
    GaitSet trains with the triplet loss only and has no classifier.
    """

    def __init__(
        self,
        channels: tuple[int, int, int] = (32, 64, 128),
        embed_dim: int = 256,
        num_classes: int | None = None,
    ) -> None:
        super().__init__()
        c1, c2, c3 = channels
        self.set_block1 = _conv_stack(1, c1, 5, pool=True)
        self.set_block2 = _conv_stack(c1, c2, 3, pool=True)
        self.set_block3 = _conv_stack(c2, c3, 3, pool=False)
        self.gl_block2 = _conv_stack(c1, c2, 3, pool=True)
        self.gl_block3 = _conv_stack(c2, c3, 3, pool=False)
        self.hpp = HorizontalPoolingPyramid(HPP_BINS)
        self.head = SeparateFCs(2 * self.hpp.parts, c3, embed_dim)
        self.num_classes = num_classes
        for m in self.modules():
            if isinstance(m, nn.Conv2d):  # OpenGait's initialisation (FACTS 2.1)
                nn.init.xavier_uniform_(m.weight)

    def forward(self, sils: Tensor, seq_lens: Tensor | None = None) -> ModelOutput:
        """sils: [n, s, h, w] in 0..1 (h = 64, w = 44 published); seq_lens: [n] valid frames per
        row of a padded batch, or None. Returns embeddings [n, 62, embed_dim], no logits."""
        n, s, h, w = sils.shape

        def set_pool(x: Tensor) -> Tensor:  # [n * s, c, h, w] -> [n, c, h, w]
            return temporal_max(x.reshape(n, s, *x.shape[1:]), seq_lens, dim=1)

        # Frames are folded into the batch once for all frame-level blocks.
        x = self.set_block1(sils.reshape(n * s, 1, h, w))
        gl = self.gl_block2(set_pool(x))
        x = self.set_block2(x)
        gl = self.gl_block3(gl + set_pool(x))
        x = set_pool(self.set_block3(x))
        gl = gl + x
        parts = torch.cat([self.hpp(x), self.hpp(gl)], 1)  # [n, 62, c3]
        return ModelOutput(embeddings=self.head(parts))
