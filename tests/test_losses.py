"""Part-wise batch-all triplet and cross-entropy against brute-force definitions."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from gaitbench.training.losses import GaitLoss, cross_entropy_loss, part_distances, triplet_loss


def brute_triplet(features: torch.Tensor, labels: list[int], margin: float):
    """The reference definition with explicit loops: per part, mean of non-zero hinges."""
    n, p, _ = features.shape
    part_losses, active, total = [], 0, 0
    for j in range(p):
        terms = []
        for a, pos, neg in itertools.product(range(n), repeat=3):
            if labels[pos] == labels[a] and labels[neg] != labels[a]:
                d_ap = torch.dist(features[a, j], features[pos, j])
                d_an = torch.dist(features[a, j], features[neg, j])
                terms.append(max(float(d_ap - d_an + margin), 0.0))
        nonzero = [t for t in terms if t > 0]
        active += len(nonzero)
        total += len(terms)
        part_losses.append(sum(nonzero) / len(nonzero) if nonzero else 0.0)
    return sum(part_losses) / p, active / total


def test_hand_computed_triplet():
    # One part, 1-D features: ids 0 at {0, 1}, id 1 at {3}. d(0,1)=1, d(0,3)=3, d(1,3)=2.
    f = torch.tensor([[[0.0]], [[1.0]], [[3.0]]])
    out = triplet_loss(f, torch.tensor([0, 0, 1]), margin=2.5)
    # Terms (a, p, n): (0,0,2) 0-3+2.5<0; (0,1,2) 1-3+2.5=0.5; (1,1,2) 0-2+2.5=0.5;
    # (1,0,2) 1-2+2.5=1.5; anchor 2 has no negatives of its own id... it does: ids 0 are its
    # negatives, positive only itself: (2,2,0) 0-3+2.5<0, (2,2,1) 0-2+2.5=0.5.
    assert out.loss.item() == pytest.approx((0.5 + 0.5 + 1.5 + 0.5) / 4)
    assert out.active.item() == pytest.approx(4 / 6)


@pytest.mark.parametrize("labels", [[0, 0, 1, 1, 2, 2], [0, 0, 0, 1, 2, 2]])
def test_triplet_matches_brute_force(labels):
    torch.manual_seed(0)
    f = torch.randn(len(labels), 3, 4)
    out = triplet_loss(f, torch.tensor(labels), margin=0.7)
    ref_loss, ref_active = brute_triplet(f, labels, 0.7)
    assert out.loss.item() == pytest.approx(ref_loss, rel=1e-5)
    assert out.active.item() == pytest.approx(ref_active, rel=1e-6)


def test_triplet_ignores_batch_order():
    # [0, 0, 1, 1, 2, 2] above runs the gathered P x K path, [0, 0, 0, 1, 2, 2] the masked one;
    # a shuffled batch (as the sampler delivers it) must give the same value.
    torch.manual_seed(1)
    f = torch.randn(12, 5, 8)
    labels = torch.arange(4).repeat_interleave(3)
    equal = triplet_loss(f, labels, 0.2)
    perm = torch.randperm(12)
    shuffled = triplet_loss(f[perm], labels[perm], 0.2)
    assert equal.loss.item() == pytest.approx(shuffled.loss.item(), rel=1e-6)


def test_separated_identities_give_zero_loss_and_gradients_are_finite():
    f = torch.tensor([[[0.0, 0.0]], [[0.0, 0.1]], [[5.0, 5.0]], [[5.0, 5.1]]], requires_grad=True)
    out = triplet_loss(f, torch.tensor([0, 0, 1, 1]), 0.2)
    assert out.loss.item() == 0.0 and out.active.item() == 0.0
    close = torch.tensor(
        [[[0.0, 0.0]], [[0.0, 0.1]], [[0.0, 0.15]], [[0.0, 0.3]]], requires_grad=True
    )
    loss = triplet_loss(close, torch.tensor([0, 0, 1, 1]), 0.2).loss
    loss.backward()
    assert loss.item() > 0 and torch.isfinite(close.grad).all()


def test_part_distances_are_euclidean_per_part():
    f = torch.randn(5, 3, 7)
    d = part_distances(f)
    assert d.shape == (3, 5, 5)
    assert torch.allclose(d[1], torch.cdist(f[:, 1], f[:, 1]), atol=1e-3)
    # The x2 + y2 - 2xy form leaves rounding of ~1e-7 under the sqrt on the diagonal.


def test_cross_entropy_per_part_with_scale_and_smoothing():
    torch.manual_seed(2)
    logits = torch.randn(4, 3, 6)
    labels = torch.tensor([0, 5, 2, 2])
    out = cross_entropy_loss(logits, labels, scale=16.0, label_smoothing=0.1)
    ref = sum(F.cross_entropy(16 * logits[:, j], labels, label_smoothing=0.1) for j in range(3)) / 3
    assert out.loss.item() == pytest.approx(ref.item(), rel=1e-6)
    hits = (logits.argmax(2) == labels[:, None]).float().mean()
    assert out.accuracy.item() == pytest.approx(hits.item())


def test_gait_loss_weights_and_terms():
    torch.manual_seed(3)
    f, logits = torch.randn(8, 2, 4), torch.randn(8, 2, 4)
    labels = torch.arange(4).repeat_interleave(2)
    total, terms = GaitLoss(1.0, 0.2, 0.5, 1.0, 0.0)(f, labels, logits)
    expected = triplet_loss(f, labels, 0.2).loss + 0.5 * cross_entropy_loss(logits, labels).loss
    assert total.item() == pytest.approx(expected.item(), rel=1e-6)
    assert set(terms) == {"loss", "triplet", "active_triplets", "mean_distance", "ce", "accuracy"}
    with pytest.raises(ValueError, match="no logits"):
        GaitLoss(1.0, 0.2, 1.0)(f, labels, None)
