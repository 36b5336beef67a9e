"""GaitSet: the tiny variant's contract, order-free set pooling and the published
variants' sizes.

State dicts against reference/*.tsv: test_models_contract.py; parameters and FLOPs against
summary.json: test_complexity.py; published checkpoints: test_models_fidelity.py."""

from __future__ import annotations

import pytest
import torch
from _model_helpers import tiny_sils

from gaitbench.models import create, get_entry

NAME = "gaitset"
pytestmark = pytest.mark.usefixtures("one_thread")


def test_tiny_forward_backward_shapes():
    model = create("gaitset-tiny", num_classes=5)
    out = model(tiny_sils())
    assert out.embeddings.shape == (2, 62, 32)
    assert out.logits is None and out.features is None
    assert torch.isfinite(out.embeddings).all()
    out.embeddings.square().mean().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert model.head.fc_bin.grad.abs().sum() > 0
    assert model.set_block1[0].weight.grad.abs().sum() > 0


def test_set_is_order_free():
    # A set model: shuffling the frames must not change the embedding.
    model = create("gaitset-tiny").eval()
    sils = tiny_sils(1, 7)
    with torch.no_grad():
        a = model(sils).embeddings
        order = torch.randperm(7, generator=torch.Generator().manual_seed(1))
        b = model(sils[:, order]).embeddings
    torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    ("dataset", "params"), [("oumvlp", 6_313_536), ("grew", 6_313_536), ("gait3d", 2_594_592)]
)
def test_other_dataset_variants(dataset, params):
    # OU-MVLP / GREW: channels 64-128-256, FC 256 -> 256 (OpenGait model zoo: 6.31M).
    assert get_entry(NAME).published
    model = create(NAME, dataset=dataset)
    assert sum(p.numel() for p in model.parameters()) == params
