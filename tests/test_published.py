"""Published checkpoints: strict loading through the name tables, clear errors for the wrong
model / variant / file, and `gaitbench convert` to a self-describing gaitbench checkpoint.

The published-format checkpoints here are written by the test (our weights renamed to the
reference's names), so these tests need no shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from gaitbench.cli import app
from gaitbench.errors import GaitbenchError
from gaitbench.models import build_from_checkpoint, create, load_published
from gaitbench.models.published import name_table, reference_name, reference_names

torch.set_num_threads(1)
REFERENCE = Path(__file__).parent / "fixtures" / "reference"


def published_format(model: torch.nn.Module, name: str) -> dict:
    table = name_table(name)
    return {
        "model": {reference_name(k, table): v for k, v in model.state_dict().items()},
        "iteration": 1234,
    }


@pytest.fixture(scope="module")
def gaitgl_ckpt(tmp_path_factory) -> tuple[Path, torch.nn.Module]:
    torch.manual_seed(0)
    model = create("gaitgl").eval()
    with torch.no_grad():  # non-default BN statistics, so a mix-up would show
        model.bn.running_mean.normal_(0, 0.1)
        model.bn.running_var.uniform_(0.5, 1.5)
    path = tmp_path_factory.mktemp("ckpt") / "gaitgl_casia-b.pt"
    torch.save(published_format(model, "gaitgl"), path)
    return path, model


def test_reference_names_are_the_tsv_names():
    with torch.device("meta"):
        model = create("hstl")
    names = list(reference_names(model, "hstl"))
    tsv = [
        line.split("\t")[0]
        for line in (REFERENCE / "hstl_casia-b.tsv").read_text().splitlines()[1:]
    ]
    assert names == tsv  # same entries, same order


def test_load_published_strict_and_eval(gaitgl_ckpt):
    path, model = gaitgl_ckpt
    loaded = load_published(path, "gaitgl", "casia-b")
    assert not loaded.training
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v), k
    sils = torch.rand(1, 4, 64, 44)
    with torch.no_grad():
        assert torch.equal(loaded(sils).embeddings, model(sils).embeddings)


def test_checkpoint_of_another_model_names_first_entry(gaitgl_ckpt):
    path, _ = gaitgl_ckpt
    with pytest.raises(
        GaitbenchError,
        match=r"entry 'conv3d\.0\.conv3d\.weight' does not belong "
        r"to model 'hstl'",
    ):
        load_published(path, "hstl", "casia-b")


def test_checkpoint_of_another_variant_names_entry_and_shapes(gaitgl_ckpt):
    path, _ = gaitgl_ckpt
    # the CASIA-B layer has no index; OU-MVLP's block holds two layers (GLConvA0.0, .1)
    with pytest.raises(
        GaitbenchError,
        match=r"entry 'GLConvA0\.global_conv3d\.conv3d\.weight' "
        r"does not belong to model 'gaitgl' \(oumvlp\)",
    ):
        load_published(path, "gaitgl", "oumvlp")


def test_missing_entry_is_named(tmp_path, gaitgl_ckpt):
    path, _ = gaitgl_ckpt
    state = torch.load(path, weights_only=True)
    del state["model"]["Bn.running_var"]
    torch.save(state, tmp_path / "partial.pt")
    with pytest.raises(GaitbenchError, match="lacks entry 'Bn.running_var'"):
        load_published(tmp_path / "partial.pt", "gaitgl")


def test_bad_files(tmp_path):
    with pytest.raises(GaitbenchError, match="not found"):
        load_published(tmp_path / "nope.pt", "gaitgl")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(GaitbenchError, match="cannot be read"):
        load_published(tmp_path / "junk.pt", "gaitgl")
    torch.save({"weights": [1, 2]}, tmp_path / "odd.pt")
    with pytest.raises(GaitbenchError, match="no state dict"):
        load_published(tmp_path / "odd.pt", "gaitgl")


def test_model_without_published_format(tmp_path):
    with pytest.raises(GaitbenchError, match="no published checkpoint format.*gaitgl"):
        load_published(tmp_path / "x.pt", "hstl-tiny")


def test_convert_cli_writes_a_gaitbench_checkpoint(tmp_path, gaitgl_ckpt):
    path, model = gaitgl_ckpt
    out = tmp_path / "ours" / "gaitgl.pt"
    runner = CliRunner()
    result = runner.invoke(
        app, ["convert", str(path), "--model", "gaitgl", "--dataset", "casia-b", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    ckpt = torch.load(out, weights_only=True)
    assert ckpt["model_name"] == "gaitgl" and ckpt["iteration"] == 1234
    assert ckpt["model_args"] == {"dataset": "casia-b", "num_classes": None}
    assert set(ckpt) >= {"model", "iteration", "model_name", "model_args", "gaitbench_version"}
    rebuilt = build_from_checkpoint(ckpt).eval()
    sils = torch.rand(1, 4, 64, 44)
    with torch.no_grad():
        assert torch.equal(rebuilt(sils).embeddings, model(sils).embeddings)
    assert [p.name for p in out.parent.iterdir()] == ["gaitgl.pt"]  # no temp file left

    again = runner.invoke(app, ["convert", str(path), "-m", "gaitgl", "-o", str(out)])
    assert again.exit_code == 1 and "exists" in again.output


def test_convert_cli_wrong_model_leaves_nothing(tmp_path, gaitgl_ckpt):
    path, _ = gaitgl_ckpt
    out = tmp_path / "hstl.pt"
    result = CliRunner().invoke(app, ["convert", str(path), "-m", "hstl", "-o", str(out)])
    assert result.exit_code == 1
    assert "conv3d.0.conv3d.weight" in result.output
    assert not out.exists() and list(tmp_path.iterdir()) == []
