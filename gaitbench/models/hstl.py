"""HSTL: Hierarchical Spatio-Temporal representation Learning (Wang et al., ICCV 2023).

One class for every published variant. The body is a hierarchy of levels, coarse to fine:

    level 1   whole body: 3-D conv stem                                   ASTP -> 1 part
    level 2   ARME over the level's horizontal regions                    ASTP -> m2 parts
              FTA (multi-scale temporal max pooling, attention-mixed)    ASTP -> m2 parts
    level k   ARME over finer regions (k = 3, 4, ...)                     ASTP -> mk parts
    last      temporal max, GeM over `hpp_bins` horizontal strips        -> hpp_bins parts

then a separate FC per part, a BatchNorm neck (its output is the inference embedding) and a
separate FC per part to the classes.

ARME (adaptive region-based motion extractor) gives every horizontal region its own 3-D
convolution; a region is zero-padded at its borders, never reading its neighbour's rows.
Speed: the convolutions are bias-free and LeakyReLU(0) = 0, so the all-zero background columns
of a silhouette stay exactly zero through the 3-D stack; each convolution (each region's, in
ARME) runs only over its input's nonzero columns (`SupportConv3d`), giving the same outputs and
gradients for less work. `literal=True` convolves whole regions, as the reference does, for tests
and benchmarks. (One grouped convolution over equal-height tiles of all regions was also tried:
identical outputs, but slower than per-region calls on CPU, where each call is already
compute-bound.)

The registered variants follow the published configurations (reference/README.md): CASIA-B
channels 32/64/128 at full 64x44 resolution (73 parts); OU-MVLP and GREW channels
32/64/128/256 after a 2x2 spatial max pool (50 parts); Gait3D likewise with its own regions
(46 parts).
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

# Our state-dict prefix -> the official checkpoint's (longest matching prefix wins; see
# gaitbench.models.published). The release wraps every Conv3d / Conv2d in a module of its own.
PUBLISHED_NAMES: tuple[tuple[str, str], ...] = (
    *((f"arme1.{i}.", f"arme1.{i}.conv3d.") for i in (0, 2)),
    *(
        (f"arme{level}.{layer}.convs.{r}.", f"arme{level}.{layer}.conv3d.{r}.conv3d.")
        for level in (2, 3, 4, 5)
        for layer in (0, 1)
        for r in range(16)
    ),
    *((f"astp{k}.proj.", f"astp{k}.proj.conv.") for k in ("1", "2", "2_fta", "3", "4", "5")),
    ("hpp.", "HPP."),
    ("head.", "Head0."),
    ("bn.", "Bn."),
    ("classifier.", "Head1."),
)


class SupportConv3d(nn.Conv3d):
    """A bias-free 3x3x3 Conv3d (zero padding 1) that skips the all-zero columns of its input.

    Silhouettes are mostly background, and with no bias a convolution of an all-zero
    neighbourhood is exactly zero (as is LeakyReLU(0)): the zero columns left and right of the
    walker stay zero through every layer. Unless `literal`, the input is cut to its nonzero
    columns plus one on each side (the only columns where the output can be nonzero), convolved,
    and zero-padded back. Outputs and weight gradients are those of the full convolution: the
    skipped products all have a zero input factor.
    """

    def __init__(self, in_channels: int, out_channels: int, literal: bool = False):
        super().__init__(in_channels, out_channels, 3, stride=1, padding=1, bias=False)
        self.literal = literal

    @staticmethod
    def nonzero_map(x: Tensor) -> Tensor:
        """[h, w] bool: where x [n, c, s, h, w] has any nonzero value. Max and min over the
        leading dimensions (contiguous inner blocks: fast, and no full-size temporary)."""
        x = x.detach()
        return (x.amax(dim=(0, 1, 2)) != 0) | (x.amin(dim=(0, 1, 2)) != 0)

    @staticmethod
    def window(nonzero: Tensor) -> tuple[int, int]:
        """The columns [lo, hi) where a 3-wide convolution of an input with this [h, w]
        nonzero map can be nonzero (nonzero columns plus one each side); lo == hi: none."""
        cols = torch.nonzero(nonzero.any(0))
        if cols.numel() == 0:
            return 0, 0
        return max(int(cols[0]) - 1, 0), min(int(cols[-1]) + 2, nonzero.size(-1))

    def forward(self, x: Tensor) -> Tensor:
        if self.literal:
            return super().forward(x)
        w = x.size(-1)
        lo, hi = self.window(self.nonzero_map(x))
        if hi - lo == w:
            return super().forward(x)
        if hi == lo:
            return x.new_zeros(x.size(0), self.out_channels, *x.shape[2:])
        return F.pad(super().forward(x[..., lo:hi]), (lo, w - hi))


def _conv3d(in_channels: int, out_channels: int, literal: bool = False) -> SupportConv3d:
    return SupportConv3d(in_channels, out_channels, literal)


class ARMEConv(nn.Module):
    """Region-wise 3-D convolution + LeakyReLU: [n, c, s, h, w] -> [n, c', s, h, w].

    Region i (rows `regions[i]`, top to bottom) is convolved with its own kernel `convs[i]`,
    zero-padded at its own borders. Unless `literal`, each region's convolution runs only over
    that region's nonzero columns (see `SupportConv3d`): the head and feet regions of a
    silhouette are far narrower than the frame.
    """

    def __init__(
        self, in_channels: int, out_channels: int, regions: Sequence[int], literal: bool = False
    ):
        super().__init__()
        self.regions = tuple(int(r) for r in regions)
        self.convs = nn.ModuleList(
            _conv3d(in_channels, out_channels, literal) for _ in self.regions
        )

    @property
    def literal(self) -> bool:
        return self.convs[0].literal

    @literal.setter
    def literal(self, value: bool) -> None:
        for conv in self.convs:
            conv.literal = value

    def forward(self, x: Tensor) -> Tensor:
        if x.size(3) != sum(self.regions):
            raise ValueError(
                f"ARME regions {self.regions} need height {sum(self.regions)}, got {x.size(3)}"
            )
        if self.literal:
            y = torch.cat(
                [conv(part) for conv, part in zip(self.convs, x.split(self.regions, 3))], 3
            )
            return F.leaky_relu(y)
        # Each region's nonzero window is written straight into one zero map: one copy per
        # region instead of a pad and a concatenation. `split` (not slicing x per region) keeps
        # the backward to one concatenation of region gradients.
        n, _, s, h, w = x.shape
        y = x.new_zeros(n, self.convs[0].out_channels, s, h, w)
        nonzero = SupportConv3d.nonzero_map(x)
        top = 0
        for conv, part in zip(self.convs, x.split(self.regions, 3)):
            size = part.size(3)
            lo, hi = conv.window(nonzero[top : top + size])
            if hi > lo:
                y[:, :, :, top : top + size, lo:hi] = F.conv3d(
                    part[..., lo:hi], conv.weight, padding=1
                )
            top += size
        return F.leaky_relu(y)


class ASTP(nn.Module):
    """Adaptive spatio-temporal pooling: temporal max, optional 1x1 projection, then GeM (own p)
    per region. [n, c, s, h, w] -> [n, regions, c_out]."""

    def __init__(self, regions: Sequence[int], in_channels: int, out_channels: int | None):
        super().__init__()
        self.regions = tuple(regions)
        self.hpp = nn.ModuleList(GeMHPP(bins=(1,)) for _ in self.regions)
        self.proj = (
            nn.Conv2d(in_channels, out_channels, 1, bias=False)
            if out_channels is not None
            else None
        )

    def forward(self, x: Tensor) -> Tensor:
        x = temporal_max(x)
        if self.proj is not None:
            x = self.proj(x)
        return torch.cat([gem(part) for gem, part in zip(self.hpp, x.split(self.regions, 2))], 1)


class FTARegion(nn.Module):
    """Frame-level temporal aggregation of one region: temporal max pools of 3 and 5 frames
    (stride 3), mixed per channel and output frame by a softmax over two 1x1 Conv1d scores of
    their spatially averaged sum. [n, c, s, h, w] -> [n, c, s', h, w], s' = (s - 3) // 3 + 1."""

    def __init__(self, channels: int):
        super().__init__()
        self.fcs = nn.ModuleList(nn.Conv1d(channels, channels, 1) for _ in range(2))

    @staticmethod
    def pools(x: Tensor) -> tuple[Tensor, Tensor]:
        short = F.max_pool3d(x, (3, 1, 1), stride=(3, 1, 1))
        long = F.max_pool3d(x, (5, 1, 1), stride=(3, 1, 1), padding=(1, 0, 0))
        return short, long

    def weights(self, short: Tensor, long: Tensor) -> Tensor:
        """Attention weights [2, n, c, s', 1, 1] from the pooled clips of this region."""
        summary = (short + long).mean((3, 4))  # [n, c, s']
        scores = torch.stack([fc(summary) for fc in self.fcs])
        return scores.softmax(0)[..., None, None]

    def forward(self, x: Tensor) -> Tensor:
        short, long = self.pools(x)
        return (self.weights(short, long) * torch.stack([short, long])).sum(0)


class FTA(nn.Module):
    """FTA with its own attention per region. [n, c, s, h, w] -> [n, c, s', h, w]."""

    def __init__(self, channels: int, regions: Sequence[int]):
        super().__init__()
        self.regions = tuple(regions)
        self.mma = nn.ModuleList(FTARegion(channels) for _ in self.regions)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([fta(part) for fta, part in zip(self.mma, x.split(self.regions, 3))], 3)


# Class counts of the published training sets, as published (GREW uses the OU-MVLP network).
_CASIA_B = dict(
    channels=(32, 64, 128),
    regions=((40, 24), (8, 32, 16, 8)),
    stem_layers=1,
    downsample=False,
    hpp_bins=64,
    level2_widens_late=True,
    num_classes=74,
)
_OUMVLP = dict(
    channels=(32, 64, 128, 256),
    regions=((4, 24, 4), (4, 4, 12, 8, 4), (4, 4, 12, 4, 4, 4)),
    stem_layers=2,
    downsample=True,
    hpp_bins=32,
    level2_widens_late=False,
    num_classes=5153,
)
_GAIT3D = dict(
    channels=(32, 64, 128, 256),
    regions=((20, 12), (4, 16, 8, 4), (4, 4, 12, 8, 4)),
    stem_layers=2,
    downsample=True,
    hpp_bins=32,
    level2_widens_late=False,
    num_classes=3000,
)
_TINY = dict(_GAIT3D, channels=(8, 16, 32, 32), num_classes=8)


@register(
    "hstl",
    variants={
        "casia-b": _CASIA_B,
        "oumvlp": _OUMVLP,
        "grew": dict(_OUMVLP, num_classes=20000),
        "gait3d": _GAIT3D,
    },
    published=True,
)
@register("hstl-tiny", variants={ANY_DATASET: _TINY})
class HSTL(nn.Module):
    """HSTL for silhouettes [n, s, 64, 44].

    channels:   per level (level 1 = channels[0]; the last entry is the embedding width).
    regions:    for levels 2, 3, ...: the heights of that level's horizontal regions (they sum
                to the feature-map height: 64, or 32 with `downsample`).
    stem_layers: 3-D convolutions of level 1.
    downsample: 2x2 spatial max pool after level 1 (OU-MVLP, GREW, Gait3D).
    hpp_bins:   horizontal strips of the final GeM pooling.
    level2_widens_late: level 2 widens channels in its second ARME layer (CASIA-B) instead of
                its first.
    literal:    full-width convolutions as in the reference (slower, same outputs).
    """

    def __init__(
        self,
        channels: Sequence[int] = (32, 64, 128),
        regions: Sequence[Sequence[int]] = ((40, 24), (8, 32, 16, 8)),
        stem_layers: int = 1,
        downsample: bool = False,
        hpp_bins: int = 64,
        level2_widens_late: bool = True,
        num_classes: int = 74,
        literal: bool = False,
    ):
        super().__init__()
        channels = tuple(channels)
        regions = tuple(tuple(r) for r in regions)
        if len(channels) != len(regions) + 1:
            raise ValueError(
                f"HSTL needs one channel count per level: {len(regions) + 1} "
                f"levels, got channels {channels}"
            )
        embed = channels[-1]
        stem: list[nn.Module] = []
        for i in range(stem_layers):
            stem += [_conv3d(1 if i == 0 else channels[0], channels[0], literal), nn.LeakyReLU()]
        self.arme1 = nn.Sequential(*stem)
        self.astp1 = ASTP((64,), channels[0], embed)  # whole body, before any pool
        self.downsample = downsample

        last = len(regions) + 1
        for level in range(2, last + 1):
            c_in, c_out = channels[level - 2], channels[level - 1]
            reg = regions[level - 2]
            if level == 2 and level2_widens_late:
                pairs = [(c_in, c_in), (c_in, c_out)]
            else:
                pairs = [(c_in, c_out), (c_out, c_out)]
            self.add_module(
                f"arme{level}", nn.Sequential(*(ARMEConv(a, b, reg, literal) for a, b in pairs))
            )
            self.add_module(f"astp{level}", ASTP(reg, c_out, None if level == last else embed))
            if level == 2:
                self.fta = FTA(c_out, reg)
                self.astp2_fta = ASTP(reg, c_out, embed)
        self.levels = last
        self.hpp = GeMHPP(bins=(hpp_bins,))
        self.parts = 1 + 2 * len(regions[0]) + sum(len(r) for r in regions[1:]) + hpp_bins
        self.head = SeparateFCs(self.parts, embed, embed)
        self.bn = PartBatchNorm(embed)
        self.classifier = SeparateFCs(self.parts, embed, num_classes)
        init_opengait(self)

    def set_literal(self, literal: bool) -> None:
        """Switch every 3-D convolution between the reference's full-width form and the
        nonzero-column form (same weights, same outputs)."""
        for m in self.modules():
            if isinstance(m, SupportConv3d):
                m.literal = literal

    def part_features(self, sils: Tensor) -> Tensor:
        """sils [n, s, 64, 44] -> pooled part features [n, parts, channels[-1]]."""
        x = repeat_short(sils.unsqueeze(1))
        x = self.arme1(x)
        feats = [self.astp1(x)]
        if self.downsample:
            x = F.max_pool3d(x, (1, 2, 2), stride=(1, 2, 2))
        for level in range(2, self.levels + 1):
            x = getattr(self, f"arme{level}")(x)
            feats.append(getattr(self, f"astp{level}")(x))
            if level == 2:
                x = self.fta(x)
                feats.append(self.astp2_fta(x))
        feats.append(self.hpp(temporal_max(x)))
        return torch.cat(feats, 1)

    def forward(self, sils: Tensor, seq_lens: Tensor | None = None) -> ModelOutput:
        """sils [n, s, 64, 44] in 0..1; seq_lens [n] valid frames per row of a padded batch.

        Returns embeddings [n, parts, c] (the BatchNorm neck output) and logits
        [n, parts, classes].
        """
        feats = run_by_length(self.part_features, sils, seq_lens)
        embeddings = self.bn(self.head(feats))
        return ModelOutput(embeddings=embeddings, logits=self.classifier(embeddings))
