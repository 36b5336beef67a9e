"""SelfGait (Liu et al., ICASSP 2021): BYOL-style self-supervised pre-training of HPM + MTB.

Written from the paper's framework figure and the facts in reference/FACTS.md section 1:

    online:  frames -> frame CNN -> HPM (31 parts) -> MTB -> max over time -> separate FCs
             -> projection MLP -> predictor MLP                          -> prediction [n, 31, 128]
    target:  frames -> frame CNN -> HPM -> max over time -> separate FCs
             -> projection MLP                                             -> target    [n, 31, 128]

The target branch holds momentum (EMA) copies of the encoder, the FCs and the projection; it has
no transition model (MTB) and no predictor. The EMA update and the loop live in
`gaitbench.training.selfsup`; this module only defines the layers and the loss function.

The inference embedding (``forward``) is the online backbone's part features after the separate
FCs, ``[n, 31, 128]``; heads and the target branch are unused at inference and in fine-tuning.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gaitbench.models.base import ANY_DATASET, ModelOutput, register
from gaitbench.models.blocks import HorizontalPoolingPyramid, SeparateFCs, run_by_length

HPM_BINS = (1, 2, 4, 8, 16)  # 31 parts


class FrameEncoder(nn.Module):
    """GaitSet's frame-level CNN without the multilayer global pipeline: [m, 1, H, W] -> [m, C, H/4, W/4].

    Convolutions are bias-free and followed by LeakyReLU, and their weights are xavier-uniform
    initialised, as in the release (github EchoItLiu/SelfGait @80a26fd, models/network/gaitset.py:
    SetNet initialises its convolutions so). PyTorch's default bound, sqrt(1 / fan_in), is sqrt(3)
    times smaller than xavier's sqrt(6 / (fan_in + fan_out)) for a layer with as many outputs as
    inputs; over six layers the untrained embeddings would sit much closer together.
    """

    def __init__(self, channels: tuple[int, int, int] = (32, 64, 128)) -> None:
        super().__init__()
        c1, c2, c3 = channels

        def conv(cin: int, cout: int, k: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), nn.LeakyReLU(inplace=True)]

        self.layers = nn.Sequential(
            *conv(1, c1, 5), *conv(c1, c1, 3), nn.MaxPool2d(2),
            *conv(c1, c2, 3), *conv(c2, c2, 3), nn.MaxPool2d(2),
            *conv(c2, c3, 3), *conv(c3, c3, 3),
        )  # fmt: skip
        for m in self.layers:
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_uniform_(m.weight)

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


class PartConv1d(nn.Module):
    """A temporal Conv1d with separate weights per part (grouped over parts): [n, P*Cin, s] -> [n, P*Cout, s].

    With a bias, as the release's MTB ``Conv1d`` layers (PyTorch's default initialisation: the
    release's xavier loop covers SetNet only, not the transition model).
    """

    def __init__(self, parts: int, cin: int, cout: int, kernel: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(
            parts * cin, parts * cout, kernel, padding=kernel // 2, groups=parts, bias=True
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)


class MicroMotionTemplateBuilder(nn.Module):
    """GaitPart's MTB applied per part: [n, P, C, s] -> [n, P, C, s] (no temporal pooling inside).

    Two branches with receptive fields 3 and 5 frames: each builds a template (avg + max pool over
    a temporal window) and gates it with a sigmoid attention computed from the sequence itself.
    Not GaitPart's `TemporalFeatureAggregator`: the SelfGait release's version (``MCM_NOTP``)
    uses ReLU rather than LeakyReLU and leaves the temporal max to the caller, because the
    target branch pools time without an MTB.
    """

    def __init__(self, parts: int, channels: int, squeeze: int = 4) -> None:
        super().__init__()
        hidden = channels // squeeze
        self.parts, self.channels = parts, channels
        self.attention3 = nn.Sequential(
            PartConv1d(parts, channels, hidden, 3),
            nn.ReLU(inplace=True),
            PartConv1d(parts, hidden, channels, 1),
        )
        self.attention5 = nn.Sequential(
            PartConv1d(parts, channels, hidden, 3),
            nn.ReLU(inplace=True),
            PartConv1d(parts, hidden, channels, 3),
        )

    @staticmethod
    def _template(x: Tensor, window: int) -> Tensor:
        pad = window // 2
        # Zero padding counts in the average, as in GaitPart's reference.
        return F.avg_pool1d(x, window, 1, pad) + F.max_pool1d(x, window, 1, pad)

    def forward(self, x: Tensor) -> Tensor:
        n, p, c, s = x.shape
        flat = x.reshape(n, p * c, s)
        out = self._template(flat, 3) * torch.sigmoid(self.attention3(flat))
        out = out + self._template(flat, 5) * torch.sigmoid(self.attention5(flat))
        return out.reshape(n, p, c, s)


class PartMLP(nn.Module):
    """BYOL head applied to every part with shared weights: [n, P, C] -> [n, P, out].

    As in the release: 1x1 Conv1d(C -> hidden) -> BatchNorm1d -> ReLU -> 1x1 Conv1d(hidden -> out),
    with the parts as the Conv1d length axis (so batch-norm statistics pool batch and parts).
    """

    def __init__(self, channels: int, hidden: int, out: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(channels, hidden, 1),
            nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
            nn.Conv1d(hidden, out, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x.transpose(1, 2)).transpose(1, 2)


class _TargetBranch(nn.Module):
    """The momentum branch: EMA copies of encoder, FCs and projection (no MTB, no predictor)."""

    def __init__(self, encoder: FrameEncoder, fcs: SeparateFCs, projector: PartMLP) -> None:
        super().__init__()
        self.encoder = copy.deepcopy(encoder)
        self.fcs = copy.deepcopy(fcs)
        self.projector = copy.deepcopy(projector)
        for p in self.parameters():
            p.requires_grad_(False)


def byol_loss(prediction: Tensor, target: Tensor) -> Tensor:
    """``2 - 2 cos`` per part between L2-normalised vectors, averaged: [n, P, C] x [n, P, C] -> [].

    0 for identical directions, 2 on average for unrelated ones, 4 for opposite ones. The cosine
    is taken over channels, per part (the release takes it over the parts axis, a quirk we drop).
    """
    p = F.normalize(prediction.float(), dim=-1)
    z = F.normalize(target.float(), dim=-1)
    return (2 - 2 * (p * z).sum(-1)).mean()


# The collapse monitor. For unit vectors spread evenly over the sphere in D dimensions every
# coordinate has mean 0 and variance 1/D, so the per-dimension standard deviation across samples is
# 1/sqrt(D); a collapsed encoder, which maps every input to one direction, gives 0. A spread of
# f / sqrt(D) means a mean cosine similarity of about 1 - f^2 between two samples' part embeddings.
# Silhouettes all look alike, so even an untrained network starts low: measured on 24 real CASIA-B
# clips (shared/real casia-b-mini), the xavier-initialised selfgait gives f = 0.067 and
# selfgait-tiny f = 0.089. The threshold, f = 0.02 (cosine similarity above 0.9996), is about a
# quarter of where an untrained network starts: below it pre-training has squeezed the
# embeddings together well past anything the data or the initialisation explains.
COLLAPSE_FRACTION = 0.02
"""Warn when the spread falls below this fraction of 1/sqrt(D) (see `collapse_threshold`)."""


def embedding_spread(embeddings: Tensor) -> Tensor:
    """Per-dimension standard deviation across samples of the L2-normalised part embeddings,
    averaged over parts and dimensions: [n, P, D] -> []. 1/sqrt(D) when the embeddings point in
    independent random directions; 0 when they have collapsed onto one."""
    unit = F.normalize(embeddings.detach().float(), dim=-1)
    return unit.std(dim=0, correction=0).mean()


def collapse_threshold(dim: int, fraction: float = COLLAPSE_FRACTION) -> float:
    """The spread below which pre-training is reported as collapsing: ``fraction / sqrt(dim)``."""
    return fraction / dim**0.5


# SelfGait has no classifier, so its architecture is the same for every dataset (the release
# trains CASIA-B and OU-MVLP with one config).
@register("selfgait", variants={ANY_DATASET: {}})
@register(
    "selfgait-tiny",
    variants={ANY_DATASET: {"channels": (8, 16, 32), "embed_dim": 32, "hidden_dim": 64}},
)
class SelfGait(nn.Module):
    """SelfGait: HPM + MTB spatio-temporal backbone with BYOL projection / predictor heads.

    Args:
        channels: output channels of the three frame-CNN stages (published: 32, 64, 128).
        embed_dim: per-part embedding width after the separate FCs (published: 128).
        hidden_dim: hidden width of the projection and predictor MLPs (published: 256).
        bins: HPM strip counts (published 1, 2, 4, 8, 16: 31 parts).
        squeeze: MTB channel squeeze ratio (published: 4).
        num_classes: unused (SelfGait has no classifier: fine-tuning uses a triplet loss only);
            accepted so the registry can pass it to every model alike.
    """

    def __init__(
        self,
        channels: tuple[int, int, int] = (32, 64, 128),
        embed_dim: int = 128,
        hidden_dim: int = 256,
        bins: Sequence[int] = HPM_BINS,
        squeeze: int = 4,
        num_classes: int | None = None,
    ) -> None:
        super().__init__()
        self.hpm = HorizontalPoolingPyramid(bins)
        self.parts = self.hpm.parts
        self.embed_dim = embed_dim
        c = channels[-1]
        # Online backbone: what fine-tuning trains and inference uses.
        self.encoder = FrameEncoder(tuple(channels))
        self.mtb = MicroMotionTemplateBuilder(self.parts, c, squeeze)
        self.fcs = SeparateFCs(self.parts, c, embed_dim)
        # Pre-training heads, and the momentum branch the EMA update moves.
        self.projector = PartMLP(embed_dim, hidden_dim, embed_dim)
        self.predictor = PartMLP(embed_dim, hidden_dim, embed_dim)
        self.target = _TargetBranch(self.encoder, self.fcs, self.projector)

    def _frame_parts(self, encoder: FrameEncoder, sils: Tensor) -> Tensor:
        """[n, s, H, W] -> per-frame part features [n, P, C, s]."""
        n, s, h, w = sils.shape
        x = self.hpm(encoder(sils.reshape(n * s, 1, h, w)))  # [n*s, P, C]
        return x.reshape(n, s, self.parts, -1).permute(0, 2, 3, 1)

    def _backbone_clip(self, sils: Tensor) -> Tensor:
        return self.fcs(self.mtb(self._frame_parts(self.encoder, sils)).amax(-1))

    def backbone(self, sils: Tensor, seq_lens: Tensor | None = None) -> Tensor:
        """Online spatio-temporal backbone: sils [n, s, 64, 44] in 0..1 -> part features [n, P, D].

        ``seq_lens`` [n]: valid frames per row of a padded batch; each length group runs on its
        trimmed clip so padding never enters the MTB's temporal windows or the max.
        """
        return run_by_length(self._backbone_clip, sils, seq_lens)

    def online(self, sils: Tensor) -> Tensor:
        """Online branch for pre-training: [n, s, H, W] -> prediction [n, P, D]."""
        return self.predictor(self.projector(self.backbone(sils)))

    @torch.no_grad()
    def target_projection(self, sils: Tensor) -> Tensor:
        """Target branch, no gradient and no MTB: [n, s, H, W] -> projection [n, P, D]."""
        t = self.target
        return t.projector(t.fcs(self._frame_parts(t.encoder, sils).amax(-1)))

    def backbone_parameters(self) -> list[nn.Parameter]:
        """The parameters fine-tuning trains: encoder, MTB and separate FCs."""
        return [*self.encoder.parameters(), *self.mtb.parameters(), *self.fcs.parameters()]

    def forward(self, sils: Tensor, seq_lens: Tensor | None = None) -> ModelOutput:
        """sils [n, s, 64, 44] in 0..1 (``seq_lens`` [n] for padded rows) -> embeddings [n, 31, 128]."""
        if seq_lens is not None:
            seq_lens = torch.as_tensor(seq_lens)
        return ModelOutput(embeddings=self.backbone(sils, seq_lens))
