"""GaitPart: the tiny variant's contract, the focal convolution and the grouped micro-motion
aggregator against their literal forms, frame order and the published variants' sizes.

State dicts against reference/*.tsv: test_models_contract.py; parameters and FLOPs against
summary.json: test_complexity.py; published checkpoints: test_models_fidelity.py."""

from __future__ import annotations

import pytest
import torch
from _model_helpers import tiny_sils

from gaitbench.models import create, get_entry
from gaitbench.models.gaitpart import FocalConv2d, TemporalFeatureAggregator

NAME = "gaitpart"
pytestmark = pytest.mark.usefixtures("one_thread")


def test_tiny_forward_backward_shapes():
    model = create("gaitpart-tiny", num_classes=5)
    out = model(tiny_sils())
    assert out.embeddings.shape == (2, 16, 32)
    assert out.logits is None and out.features is None
    assert torch.isfinite(out.embeddings).all()
    out.embeddings.square().mean().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert model.tfa.conv1d3x3[15][2].weight.grad.abs().sum() > 0


def test_focal_conv_equals_conv_per_strip():
    torch.manual_seed(0)
    focal = FocalConv2d(3, 4, 3, halving=2)
    x = torch.randn(2, 3, 16, 11)
    literal = torch.cat([focal.conv(strip) for strip in x.split(4, dim=2)], dim=2)
    torch.testing.assert_close(focal(x), literal, rtol=0, atol=1e-6)
    # and a strip border is a real border: it differs from one conv over the whole map
    assert (focal(x) - focal.conv(x)).abs().max() > 1e-2


def test_aggregator_equals_literal_per_part_formulation():
    # The grouped convolution must equal running each part's own nets on its own features.
    torch.manual_seed(0)
    tfa = TemporalFeatureAggregator(channels=8, parts=3)
    for p in tfa.parameters():
        torch.nn.init.normal_(p, std=0.5)
    x = torch.randn(2, 9, 3, 8)  # [n, s, parts, c]
    pool = torch.nn.functional
    literal = []
    for i in range(3):
        z = x[:, :, i].transpose(1, 2)  # [n, c, s]
        short = pool.avg_pool1d(z, 3, 1, 1) + pool.max_pool1d(z, 3, 1, 1)
        long = pool.avg_pool1d(z, 5, 1, 2) + pool.max_pool1d(z, 5, 1, 2)
        y = short * torch.sigmoid(tfa.conv1d3x1[i](z)) + long * torch.sigmoid(tfa.conv1d3x3[i](z))
        literal.append(y.max(-1)[0])
    torch.testing.assert_close(tfa(x), torch.stack(literal, 1), rtol=0, atol=1e-5)


def test_frame_order_matters():
    # Micro-motion templates look at neighbouring frames: GaitPart is not a set model.
    model = create("gaitpart-tiny").eval()
    for p in model.tfa.parameters():
        torch.nn.init.normal_(p, std=1.0)
    sils = tiny_sils(1, 8, seed=4)
    with torch.no_grad():
        a = model(sils).embeddings
        b = model(sils[:, torch.tensor([3, 0, 6, 1, 7, 2, 5, 4])]).embeddings
    assert (a - b).abs().max() > 1e-5


@pytest.mark.parametrize(("dataset", "params"), [("oumvlp", 4_841_248), ("grew", 4_841_248)])
def test_other_dataset_variants(dataset, params):
    # OU-MVLP / GREW: BC-32 BC-32 M BC-64 BC-64 M FC-128-3 FC-128-3 FC-256-3 FC-256-3,
    # FC 256 -> 256.
    assert get_entry(NAME).published
    model = create(NAME, dataset=dataset)
    assert sum(p.numel() for p in model.parameters()) == params
