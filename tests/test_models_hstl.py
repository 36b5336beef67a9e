"""HSTL: the nonzero-column convolutions against the literal full-width ones and every
published variant's architecture (parts, widths, parameters). FLOPs: test_complexity.py;
the official checkpoint: test_models_fidelity.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from gaitbench.models import create
from gaitbench.models.hstl import ARMEConv, SupportConv3d

torch.set_num_threads(1)
FIXTURES = Path(__file__).parent / "fixtures"
SUMMARY = json.loads((FIXTURES / "reference" / "summary.json").read_text())


def silhouettes(n: int, s: int, seed: int = 0) -> torch.Tensor:
    """Walker-like clips: a random blob in the middle columns, empty background beside it."""
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, s, 64, 44)
    for i in range(n):
        lo = 8 + int(torch.randint(0, 6, (1,), generator=g))
        hi = 30 + int(torch.randint(0, 6, (1,), generator=g))
        x[i, :, :, lo:hi] = (torch.rand(s, 64, hi - lo, generator=g) > 0.4).float()
    return x


@pytest.mark.parametrize("regions", [(40, 24), (8, 32, 16, 8), (4, 4, 12, 4, 4, 4), (6, 10)])
def test_nonzero_column_arme_equals_full_width(regions):
    torch.manual_seed(0)
    fast = ARMEConv(5, 7, regions)
    literal = ARMEConv(5, 7, regions, literal=True)
    literal.load_state_dict(fast.state_dict())
    x = torch.zeros(2, 5, 4, sum(regions), 13)
    x[:, :, :, : regions[0], 5:8] = torch.randn(2, 5, 4, regions[0], 3)  # narrow first region
    x[:, :, :, regions[0] :, 2:11] = torch.randn(2, 5, 4, sum(regions) - regions[0], 9)
    x.requires_grad_()
    y_fast, y_lit = fast(x), literal(x)
    assert (y_fast - y_lit).abs().max() < 1e-5
    assert y_fast[..., : regions[0], :4].abs().max() == 0  # zero far from the support
    # region borders are zero-padded: the first region's last row does not reach the second
    x2 = x.detach().clone()
    x2[:, :, :, regions[0] - 1] += 100.0
    assert torch.allclose(
        fast(x2)[:, :, :, regions[0] :], y_fast[:, :, :, regions[0] :].detach(), atol=1e-5
    )
    g = torch.randn_like(y_fast)
    grads_fast = torch.autograd.grad(y_fast, [x, *fast.parameters()], g)
    grads_lit = torch.autograd.grad(y_lit, [*literal.parameters()], g)
    # weight gradients are identical; the input gradient may differ only on all-zero columns
    for a, b in zip(grads_fast[1:], grads_lit):
        assert (a - b).abs().max() < 1e-4


def test_all_zero_and_full_width_inputs():
    conv = SupportConv3d(2, 3)
    assert torch.equal(conv(torch.zeros(1, 2, 3, 4, 5)), torch.zeros(1, 3, 3, 4, 5))
    x = torch.randn(1, 2, 3, 4, 5)
    conv.literal = False
    a = conv(x)
    conv.literal = True
    assert torch.equal(a, conv(x))


def test_whole_model_fast_equals_literal_forward_and_backward():
    torch.manual_seed(2)
    fast = create("hstl-tiny")
    literal = create("hstl-tiny", literal=True)
    literal.load_state_dict(fast.state_dict())
    sils = silhouettes(2, 6)
    a, b = fast(sils), literal(sils)
    assert (a.embeddings - b.embeddings).abs().max() < 1e-5
    (a.embeddings.sum() + a.logits.sum()).backward()
    (b.embeddings.sum() + b.logits.sum()).backward()
    for (k, p), q in zip(fast.named_parameters(), literal.parameters()):
        assert (p.grad - q.grad).abs().max() < 1e-4 * max(1.0, q.grad.abs().max().item()), k


@pytest.mark.parametrize(
    "dataset,parts,channels,classes",
    [
        ("casia-b", 73, 128, 74),
        ("oumvlp", 50, 256, 5153),
        ("grew", 50, 256, 20000),
        ("gait3d", 46, 256, 3000),
    ],
)
def test_published_variants(dataset, parts, channels, classes):
    with torch.device("meta"):
        model = create("hstl", dataset=dataset)
    assert model.parts == parts
    assert model.head.fc_bin.shape == (parts, channels, channels)
    assert model.classifier.fc_bin.shape == (parts, channels, classes)
    if f"hstl_{dataset}" in SUMMARY:
        assert sum(p.numel() for p in model.parameters()) == SUMMARY[f"hstl_{dataset}"]["params"]
