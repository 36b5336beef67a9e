"""Part-wise losses: batch-all triplet and cross-entropy, as the field's reference defines them.

Triplet (per horizontal part, Euclidean distance within the part): every (anchor, positive,
negative) with positive = any sample of the anchor's identity, the anchor itself included, and
negative = any sample of another identity; hinge ``relu(d_ap - d_an + margin)``; per part the mean
over the non-zero terms only (0 when every term is zero); then the mean over parts.

Cross-entropy: logits ``[n, parts, classes]`` times ``scale``, one softmax per part, optional
label smoothing, mean over samples and parts.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor


@dataclass
class TripletStats:
    loss: Tensor
    """Scalar: the mean over parts of the mean over non-zero hinge terms."""
    active: Tensor
    """Scalar: the fraction of (anchor, positive, negative) terms with a non-zero hinge."""
    mean_distance: Tensor
    """Scalar: the mean part-wise distance over the whole batch (a collapse detector)."""


def part_distances(x: Tensor) -> Tensor:
    """Euclidean distances per part: ``[n, p, c]`` -> ``[p, n, n]``."""
    x = x.float().transpose(0, 1)  # [p, n, c]
    sq = (x * x).sum(-1)  # [p, n]
    d2 = sq.unsqueeze(2) + sq.unsqueeze(1) - 2 * x @ x.transpose(1, 2)
    # relu before sqrt: rounding makes tiny negatives, and relu's backward is a mask (no 0 * inf).
    return F.relu(d2).sqrt()


def triplet_loss(features: Tensor, labels: Tensor, margin: float = 0.2) -> TripletStats:
    """Part-wise batch-all triplet loss.

    features: ``[n, p, c]``; labels: ``[n]`` integer identities. When every identity has the
    same number of samples (a P x K batch) the hinge terms are gathered into a
    ``[p, n, K, n - K]`` tensor; otherwise a masked ``[p, n, n, n]`` form gives the same value.
    """
    dist = part_distances(features)  # [p, n, n]
    n = labels.numel()
    same = labels.unsqueeze(0) == labels.unsqueeze(1)  # [n, n], diagonal included
    counts = same.sum(1)
    if bool((counts == counts[0]).all()) and int(counts[0]) < n:
        k = int(counts[0])
        # nonzero() walks rows in order, so each row's k positive columns come out together.
        pos_idx = same.nonzero()[:, 1].view(n, k)
        neg_idx = (~same).nonzero()[:, 1].view(n, n - k)
        d_ap = dist.gather(2, pos_idx.expand(dist.shape[0], n, k))  # [p, n, k]
        d_an = dist.gather(2, neg_idx.expand(dist.shape[0], n, n - k))  # [p, n, n-k]
        terms = F.relu(d_ap.unsqueeze(3) - d_an.unsqueeze(2) + margin).flatten(1)
        valid = None
    else:
        valid = (same.unsqueeze(2) & ~same.unsqueeze(1)).flatten()  # [n*n*n] (a, pos, neg)
        terms = F.relu(dist.unsqueeze(3) - dist.unsqueeze(2) + margin).flatten(1)
        terms = terms * valid
    nonzero = (terms > 0).float()
    per_part_count = nonzero.sum(1)
    per_part = terms.sum(1) / per_part_count.clamp_min(1.0)  # 0 where no term is active
    total_terms = terms.shape[1] if valid is None else valid.sum()
    return TripletStats(
        loss=per_part.mean(),
        active=nonzero.sum(1).mean().detach() / total_terms,
        mean_distance=dist.mean().detach(),
    )


@dataclass
class CEStats:
    loss: Tensor
    accuracy: Tensor
    """Scalar: fraction of (sample, part) pairs whose arg-max logit is the label."""


def cross_entropy_loss(
    logits: Tensor, labels: Tensor, scale: float = 1.0, label_smoothing: float = 0.0
) -> CEStats:
    """Part-wise cross-entropy. logits ``[n, p, classes]``, labels ``[n]``."""
    n, p, classes = logits.shape
    flat = logits.float().reshape(n * p, classes) * scale
    target = labels.repeat_interleave(p)
    loss = F.cross_entropy(flat, target, label_smoothing=label_smoothing)
    accuracy = (flat.detach().argmax(1) == target).float().mean()
    return CEStats(loss=loss, accuracy=accuracy)


class GaitLoss(torch.nn.Module):
    """The recipe's weighted sum of a triplet term on ``features`` and a CE term on ``logits``."""

    def __init__(
        self,
        triplet_weight: float = 1.0,
        margin: float = 0.2,
        ce_weight: float = 0.0,
        ce_scale: float = 1.0,
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__()
        self.triplet_weight = triplet_weight
        self.margin = margin
        self.ce_weight = ce_weight
        self.ce_scale = ce_scale
        self.label_smoothing = label_smoothing

    def forward(
        self,
        features: Tensor,
        labels: Tensor,
        logits: Tensor | None = None,
        gathered: tuple[Tensor, Tensor] | None = None,
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Total loss and its detached terms for logging.

        ``gathered``: (features, labels) of the whole global batch under DDP, so the triplet
        loss sees every rank's samples as OpenGait does; CE always uses the local batch.
        """
        total = features.new_zeros((), dtype=torch.float32)
        terms: dict[str, Tensor] = {}
        if self.triplet_weight > 0:
            f, y = gathered if gathered is not None else (features, labels)
            trip = triplet_loss(f, y, self.margin)
            total = total + self.triplet_weight * trip.loss
            terms["triplet"] = trip.loss.detach()
            terms["active_triplets"] = trip.active
            terms["mean_distance"] = trip.mean_distance
        if self.ce_weight > 0:
            if logits is None:
                raise ValueError(
                    "the recipe has a cross-entropy term but the model returns no logits"
                )
            ce = cross_entropy_loss(logits, labels, self.ce_scale, self.label_smoothing)
            total = total + self.ce_weight * ce.loss
            terms["ce"] = ce.loss.detach()
            terms["accuracy"] = ce.accuracy
        terms["loss"] = total.detach()
        return total, terms
