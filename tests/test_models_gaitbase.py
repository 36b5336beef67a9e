"""GaitBase: the tiny variant's contract, the published architecture's exactness (state dict,
parameters, fvcore FLOPs) and fidelity to the reference embeddings."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from gaitbench.errors import GaitbenchError
from gaitbench.models import create, get_entry, load_published
from gaitbench.models.gaitbase import PUBLISHED_NAMES, BasicBlock
from gaitbench.models.published import reference_name

NAME = "gaitbase"
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


def test_padded_rows_match_unpadded_sequences():
    model = create("gaitbase-tiny").eval()
    long, short = tiny_sils(1, 6, seed=2), tiny_sils(1, 3, seed=3)
    padded = torch.cat([long, torch.cat([short, torch.ones(1, 3, 64, 44)], 1)])
    with torch.no_grad():
        batch = model(padded, seq_lens=torch.tensor([6, 3])).embeddings
        alone = model(short).embeddings
        whole = model(long).embeddings
        unmasked = model(padded).embeddings
    torch.testing.assert_close(batch[1:], alone, rtol=0, atol=1e-5)
    torch.testing.assert_close(batch[:1], whole, rtol=0, atol=1e-5)
    assert (unmasked[1:] - alone).abs().max() > 1e-3


def test_state_dict_maps_one_to_one_onto_reference():
    ours = [
        (reference_name(k, PUBLISHED_NAMES), tuple(v.shape))
        for k, v in create(NAME).state_dict().items()
    ]
    assert ours == reference_entries("gaitbase_casia-b")


def test_params_and_flops_equal_reference():
    from fvcore.nn import FlopCountAnalysis

    expected = json.loads((REFERENCE / "summary.json").read_text())["gaitbase_casia-b"]
    model = create(NAME).eval()
    assert sum(p.numel() for p in model.parameters()) == expected["params"] == 7_305_408

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
    assert list(model(torch.zeros(1, 30, 64, 44)).embeddings.shape) == [1, 16, 256]


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


def test_fidelity_with_reference_checkpoint():
    ckpt = torch.load(fidelity_checkpoint("gaitbase_casia-b"), weights_only=True)["model"]
    model = create(NAME)
    ours = {reference_name(k, PUBLISHED_NAMES): k for k in model.state_dict()}
    model.load_state_dict({ours[k]: v for k, v in ckpt.items()}, strict=True)
    clip = torch.from_numpy(np.load(FIXTURES / "fidelity" / CLIP).astype(np.float32))
    with torch.no_grad():
        emb = model.eval()(clip).embeddings.numpy()
    ref = np.load(FIXTURES / "fidelity" / "gaitbase_casia-b_embeddings.npy")
    assert emb.shape == ref.shape == (1, 16, 256)
    assert np.abs(emb - ref).max() < 1e-4


def test_load_published_reproduces_embeddings():
    path = fidelity_checkpoint("gaitbase_casia-b")
    model = load_published(path, NAME, "casia-b")
    assert not model.training
    clip = torch.from_numpy(np.load(FIXTURES / "fidelity" / CLIP).astype(np.float32))
    with torch.no_grad():
        emb = model(clip).embeddings.numpy()
    ref = np.load(FIXTURES / "fidelity" / "gaitbase_casia-b_embeddings.npy")
    assert np.abs(emb - ref).max() < 1e-4


def test_load_published_rejects_another_variant_or_model():
    path = fidelity_checkpoint("gaitbase_casia-b")
    with pytest.raises(GaitbenchError, match="BNNecks.fc_bin"):  # 74 classes, not 5153
        load_published(path, NAME, "oumvlp")
    with pytest.raises(GaitbenchError, match="Backbone.forward_block"):
        load_published(path, "gaitset", "casia-b")
