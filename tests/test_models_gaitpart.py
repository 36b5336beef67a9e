"""GaitPart: the tiny variant's contract, the published architecture's exactness (state dict,
parameters, fvcore FLOPs) and fidelity to the reference embeddings."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from gaitbench.models import create, get_entry, load_published
from gaitbench.models.gaitpart import PUBLISHED_NAMES, FocalConv2d, TemporalFeatureAggregator
from gaitbench.models.published import reference_name

NAME = "gaitpart"
FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE = FIXTURES / "reference"
CLIP = "clip_1x37x64x44.npy"  # uint8 0/1: used as is, not divided by 255 (fixture README)


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def reference_entries(variant: str) -> list[tuple[str, tuple[int, ...]]]:
    lines = (REFERENCE / f"{variant}.tsv").read_text().splitlines()[1:]
    rows = [line.split("\t") for line in lines]
    return [(k, () if s == "scalar" else tuple(int(v) for v in s.split("x"))) for k, s in rows]


def fidelity_checkpoint(variant: str) -> Path:
    shared = Path(__file__).parents[2] / "shared" / "fixtures"
    roots = [os.environ.get("GAITBENCH_FIXTURES"), shared]
    for root in roots:
        if root and (Path(root) / "fidelity" / f"{variant}.pt").is_file():
            return Path(root) / "fidelity" / f"{variant}.pt"
    pytest.skip(f"{variant}.pt not found: set GAITBENCH_FIXTURES to the shared fixtures folder")


def tiny_sils(n: int = 2, s: int = 6, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, s, 64, 44, generator=g) > 0.5).float()


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


def test_padded_rows_match_unpadded_sequences():
    model = create("gaitpart-tiny").eval()
    long, short = tiny_sils(1, 6, seed=2), tiny_sils(1, 4, seed=3)
    padded = torch.cat([long, torch.cat([short, torch.ones(1, 2, 64, 44)], 1)])
    with torch.no_grad():
        batch = model(padded, seq_lens=torch.tensor([6, 4])).embeddings
        alone = model(short).embeddings
        whole = model(long).embeddings
        unmasked = model(padded).embeddings
    torch.testing.assert_close(batch[1:], alone, rtol=0, atol=1e-6)
    torch.testing.assert_close(batch[:1], whole, rtol=0, atol=1e-6)
    assert (unmasked[1:] - alone).abs().max() > 1e-4


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


def test_state_dict_maps_one_to_one_onto_reference():
    ours = [
        (reference_name(k, PUBLISHED_NAMES), tuple(v.shape))
        for k, v in create(NAME).state_dict().items()
    ]
    assert ours == reference_entries("gaitpart_casia-b")


def test_params_and_flops_equal_reference():
    from fvcore.nn import FlopCountAnalysis

    expected = json.loads((REFERENCE / "summary.json").read_text())["gaitpart_casia-b"]
    model = create(NAME).eval()
    assert sum(p.numel() for p in model.parameters()) == expected["params"] == 1_204_000

    class Embedding(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            return self.m(x).embeddings

    flops = FlopCountAnalysis(Embedding(model), torch.zeros(1, 30, 64, 44))
    flops.unsupported_ops_warnings(False)
    flops.uncalled_modules_warnings(False)
    assert flops.total() == expected["fvcore_flops_30x64x44"]
    assert list(model(torch.zeros(1, 30, 64, 44)).embeddings.shape) == [1, 16, 128]


@pytest.mark.parametrize(("dataset", "params"), [("oumvlp", 4_841_248), ("grew", 4_841_248)])
def test_other_dataset_variants(dataset, params):
    # OU-MVLP / GREW: BC-32 BC-32 M BC-64 BC-64 M FC-128-3 FC-128-3 FC-256-3 FC-256-3,
    # FC 256 -> 256.
    assert get_entry(NAME).published
    model = create(NAME, dataset=dataset)
    assert sum(p.numel() for p in model.parameters()) == params


def test_fidelity_with_reference_checkpoint():
    ckpt = torch.load(fidelity_checkpoint("gaitpart_casia-b"), weights_only=True)["model"]
    model = create(NAME)
    ours = {reference_name(k, PUBLISHED_NAMES): k for k in model.state_dict()}
    model.load_state_dict({ours[k]: v for k, v in ckpt.items()}, strict=True)
    clip = torch.from_numpy(np.load(FIXTURES / "fidelity" / CLIP).astype(np.float32))
    with torch.no_grad():
        emb = model.eval()(clip).embeddings.numpy()
    ref = np.load(FIXTURES / "fidelity" / "gaitpart_casia-b_embeddings.npy")
    assert emb.shape == ref.shape == (1, 16, 128)
    assert np.abs(emb - ref).max() < 1e-4


def test_load_published_reproduces_embeddings():
    path = fidelity_checkpoint("gaitpart_casia-b")
    model = load_published(path, NAME, "casia-b")
    assert not model.training
    clip = torch.from_numpy(np.load(FIXTURES / "fidelity" / CLIP).astype(np.float32))
    with torch.no_grad():
        emb = model(clip).embeddings.numpy()
    ref = np.load(FIXTURES / "fidelity" / "gaitpart_casia-b_embeddings.npy")
    assert np.abs(emb - ref).max() < 1e-4
