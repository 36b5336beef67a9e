"""Fidelity to the reference implementations: each published-format CASIA-B checkpoint loads
strictly, both by hand through the name table and through `load_published`, and reproduces the
reference embeddings of the fixture clip (max abs diff below 1e-4).

The architectures' state dicts against reference/*.tsv are in test_models_contract.py; their
parameters and fvcore FLOPs against summary.json in test_complexity.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from _model_helpers import fidelity_checkpoint
from typer.testing import CliRunner

from gaitbench.cli import app
from gaitbench.errors import GaitbenchError
from gaitbench.models import build_from_checkpoint, create, load_published
from gaitbench.models.published import name_table, reference_name

FIDELITY = Path(__file__).parent / "fixtures" / "fidelity"
MODELS = ["hstl", "gaitset", "gaitpart", "gaitgl", "gaitbase", "deepgaitv2"]


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def clip() -> torch.Tensor:
    # uint8 0/1, used as is: the reference models were fed it undivided (fidelity/README.md)
    return torch.from_numpy(np.load(FIDELITY / "clip_1x37x64x44.npy").astype(np.float32))


def reference_embeddings(name: str) -> np.ndarray:
    """The reference embeddings of the fixture clip, [1, parts, channels] as ours are."""
    return np.load(FIDELITY / f"{name}_casia-b_embeddings.npy")


@pytest.mark.parametrize("name", MODELS)
def test_strict_load_through_the_name_table(name, clip):
    state = torch.load(fidelity_checkpoint(f"{name}_casia-b"), weights_only=True)["model"]
    model = create(name, dataset="casia-b")
    ours = {reference_name(k, name_table(name)): k for k in model.state_dict()}
    assert sorted(ours) == sorted(state)  # one to one: nothing missing, nothing left over
    model.load_state_dict({ours[k]: v for k, v in state.items()}, strict=True)
    with torch.no_grad():
        emb = model.eval()(clip).embeddings.numpy()
    ref = reference_embeddings(name)
    assert emb.shape == ref.shape
    assert np.abs(emb - ref).max() < 1e-4


@pytest.mark.parametrize("name", MODELS)
def test_load_published_reproduces_embeddings(name, clip):
    model = load_published(fidelity_checkpoint(f"{name}_casia-b"), name, "casia-b")
    assert not model.training
    with torch.no_grad():
        emb = model(clip).embeddings.numpy()
    ref = reference_embeddings(name)
    assert emb.shape == ref.shape
    assert np.abs(emb - ref).max() < 1e-4


def test_load_published_rejects_another_variant_or_model():
    path = fidelity_checkpoint("gaitbase_casia-b")
    with pytest.raises(GaitbenchError, match="BNNecks.fc_bin"):  # 74 classes, not 5153
        load_published(path, "gaitbase", "oumvlp")
    with pytest.raises(GaitbenchError, match="Backbone.forward_block"):
        load_published(path, "gaitset", "casia-b")


def test_deepgaitv2_checkpoint_refuses_another_variant_or_model():
    path = fidelity_checkpoint("deepgaitv2_casia-b")
    for dataset in ("oumvlp", "gait3d"):  # 74 classes, not 5153 / 3000
        with pytest.raises(GaitbenchError, match="BNNecks.fc_bin.*16x256x74.*--dataset"):
            load_published(path, "deepgaitv2", dataset)
    # GREW / Gait3D have 1-4-4-1 blocks: with the class count forced, the missing blocks are named
    with pytest.raises(GaitbenchError, match="lacks entry 'layer2.1.conv1"):
        load_published(path, "deepgaitv2", "gait3d", num_classes=74)
    with pytest.raises(GaitbenchError, match="'layer0.forward_block.0.weight' does not belong"):
        load_published(path, "gaitbase", "casia-b")
    with pytest.raises(GaitbenchError, match="'Backbone.forward_block.conv1.conv.weight'"):
        load_published(fidelity_checkpoint("gaitbase_casia-b"), "deepgaitv2", "casia-b")


def test_deepgaitv2_convert_cli_rebuilds_the_reference_model(tmp_path, clip):
    out = tmp_path / "deepgaitv2.pt"
    path = fidelity_checkpoint("deepgaitv2_casia-b")
    result = CliRunner().invoke(
        app, ["convert", str(path), "-m", "deepgaitv2", "-d", "casia-b", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    model = build_from_checkpoint(torch.load(out, weights_only=True)).eval()
    with torch.no_grad():
        emb = model(clip).embeddings.numpy()
    assert np.abs(emb - reference_embeddings("deepgaitv2")).max() < 1e-4
    wrong = CliRunner().invoke(
        app, ["convert", str(path), "-m", "deepgaitv2", "-d", "grew", "-o", str(tmp_path / "x")]
    )
    assert wrong.exit_code == 1 and "Traceback" not in wrong.output
    assert "BNNecks.fc_bin" in wrong.output and not (tmp_path / "x").exists()
