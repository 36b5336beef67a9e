"""GaitGL: the global-local layer against per-strip convolutions, both published variants and
the FLOPs per operator. OpenGait's checkpoint: test_models_fidelity.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from gaitbench.models import create
from gaitbench.models.gaitgl import GLConv

torch.set_num_threads(1)
FIXTURES = Path(__file__).parent / "fixtures"
SUMMARY = json.loads((FIXTURES / "reference" / "summary.json").read_text())


@pytest.mark.parametrize("halving,stack", [(0, False), (1, False), (3, False), (3, True)])
def test_glconv_equals_separate_strip_convolutions(halving, stack):
    torch.manual_seed(0)
    layer = GLConv(4, 6, halving, stack)
    x = torch.randn(2, 4, 5, 16, 7)
    g = F.conv3d(x, layer.global_conv.weight, padding=1)
    strips = x.split(16 // 2**halving, 3)
    local = torch.cat([F.conv3d(s, layer.local_conv.weight, padding=1) for s in strips], 3)
    expected = (
        F.leaky_relu(torch.cat([g, local], 3)) if stack else F.leaky_relu(g) + F.leaky_relu(local)
    )
    out = layer(x)
    assert out.shape == ((2, 6, 5, 32, 7) if stack else (2, 6, 5, 16, 7))
    assert (out - expected).abs().max() < 1e-5


@pytest.mark.parametrize(
    "dataset,channels,classes", [("casia-b", 128, 74), ("oumvlp", 256, 5153), ("grew", 256, 20000)]
)
def test_published_variants(dataset, channels, classes):
    with torch.device("meta"):
        model = create("gaitgl", dataset=dataset)
    assert model.head.fc_bin.shape == (64, channels, channels)
    assert model.classifier.fc_bin.shape == (64, channels, classes)
    if f"gaitgl_{dataset}" in SUMMARY:
        assert sum(p.numel() for p in model.parameters()) == SUMMARY[f"gaitgl_{dataset}"]["params"]


def test_lta_shortens_time_and_embedding_has_64_parts():
    model = create("gaitgl-tiny").eval()
    with torch.no_grad():
        out = model(torch.rand(3, 9, 64, 44))
    assert out.embeddings.shape == (3, 64, 32)
    assert out.logits.shape == (3, 64, 8)


def test_casia_b_flops_equal_reference():
    from gaitbench.reporting.complexity import complexity

    result = complexity("gaitgl", "casia-b")
    assert result["flops"] == SUMMARY["gaitgl_casia-b"]["fvcore_flops_30x64x44"]
    assert result["flops_by_operator"] == {
        "conv": 12_616_581_120,
        "matmul": 1_048_576,
        "batch_norm": 16_384,
    }
