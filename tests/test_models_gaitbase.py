"""GaitBase: the tiny variant's contract (BNNeck, cosine classifier), the residual block, the
backbone's output size and the published variants' sizes.

State dicts against reference/*.tsv: test_models_contract.py; parameters and FLOPs against
summary.json: test_complexity.py; published checkpoints: test_models_fidelity.py."""

from __future__ import annotations

import pytest
import torch
from _model_helpers import tiny_sils

from gaitbench.models import create, get_entry
from gaitbench.models.blocks import BasicBlock2D as BasicBlock

NAME = "gaitbase"
pytestmark = pytest.mark.usefixtures("one_thread")


def test_tiny_forward_backward_shapes():
    model = create("gaitbase-tiny", num_classes=5)
    labels = torch.tensor([0, 3])
    out = model(tiny_sils())
    assert out.embeddings.shape == (2, 16, 32)
    assert out.logits.shape == (2, 16, 5)
    assert out.features is out.embeddings  # the triplet loss sees the pre-BNNeck FC output
    assert torch.isfinite(out.embeddings).all() and torch.isfinite(out.logits).all()
    # cosine classifier: both sides L2-normalised, so every logit is a cosine
    assert out.logits.abs().max() <= 1 + 1e-5
    ce = torch.nn.functional.cross_entropy(
        16 * out.logits.transpose(1, 2), labels[:, None].expand(2, 16)
    )
    (ce + out.features.square().mean()).backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert model.bnnecks.fc_bin.grad.abs().sum() > 0
    assert model.backbone.conv1.weight.grad.abs().sum() > 0


def test_basic_block_shortcut():
    torch.manual_seed(0)
    same, wider = BasicBlock(4, 4).eval(), BasicBlock(4, 8, stride=2).eval()
    assert same.downsample is None and wider.downsample is not None
    x = torch.randn(3, 4, 8, 6)
    assert wider(x).shape == (3, 8, 4, 3)
    # With the residual branch silenced, an identity block passes relu(x) through (eval BN
    # with fresh statistics is the identity map).
    torch.nn.init.zeros_(same.conv2.weight)
    torch.testing.assert_close(same(x), x.relu(), rtol=0, atol=1e-5)
    torch.nn.init.zeros_(wider.conv2.weight)
    shortcut = wider.downsample(x).relu()
    torch.testing.assert_close(wider(x), shortcut, rtol=0, atol=1e-5)


def test_backbone_output_at_published_size():
    model = create(NAME).eval()
    with torch.no_grad():
        maps = model.backbone(torch.zeros(2, 1, 64, 44))
    assert maps.shape == (2, 512, 16, 11)


@pytest.mark.parametrize(
    ("dataset", "params", "classes"),
    [("oumvlp", 28_108_992, 5153), ("grew", 88_922_304, 20000), ("gait3d", 19_290_304, 3000)],
)
def test_other_dataset_variants(dataset, params, classes):
    # One architecture; only the classifier width changes (FACTS 2.5: 28.1M / 88.9M / 19.29M).
    assert get_entry(NAME).published
    model = create(NAME, dataset=dataset)
    assert model.bnnecks.fc_bin.shape == (16, 256, classes)
    assert sum(p.numel() for p in model.parameters()) == params
