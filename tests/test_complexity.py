"""Complexity: parameters and fvcore FLOPs with their stated input and convention, equal to the
reference figures; the `complexity` and `models` commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from gaitbench.cli import app
from gaitbench.errors import GaitbenchError
from gaitbench.models import create, get_entry, list_models
from gaitbench.reporting.complexity import complexity, model_complexity, model_table

torch.set_num_threads(1)
SUMMARY = json.loads(
    (Path(__file__).parent / "fixtures" / "reference" / "summary.json").read_text()
)


def test_complexity_states_input_and_convention():
    result = complexity("gaitgl-tiny", frames=12)
    assert result["model"] == "gaitgl-tiny" and result["input"] == [1, 12, 64, 44]
    assert "multiply-add = one FLOP" in result["convention"]
    assert result["flops"] == sum(result["flops_by_operator"].values()) > 0
    assert "aten::leaky_relu" in result["skipped"]


def test_flops_scale_with_frames_for_a_frame_wise_model():
    # GaitBase's convolutions all run frame by frame: their FLOPs are linear in frames.
    model = create("gaitbase-tiny")
    f10 = model_complexity(model, frames=10)["flops_by_operator"]["conv"]
    f20 = model_complexity(model, frames=20)["flops_by_operator"]["conv"]
    assert f20 == 2 * f10


def test_model_complexity_counts_dense_convolutions_and_restores_the_model():
    from gaitbench.models.hstl import SupportConv3d

    model = create("hstl-tiny").train()
    result = model_complexity(model, frames=4)  # traced on zeros: dense counting still needed
    assert result["flops_by_operator"]["conv"] > 0
    assert model.training
    assert not any(m.literal for m in model.modules() if isinstance(m, SupportConv3d))


# FACTS_deepgaitv2 section 1: fvcore's split by operator of the 1-1-1-1 and 1-4-4-1 variants.
DEEPGAITV2_BY_OPERATOR = {
    (1, 1, 1, 1): {"conv": 41_572_270_080, "batch_norm": 86_507_520, "matmul": 2_097_152},
    (1, 4, 4, 1): {"conv": 85_172_060_160, "batch_norm": 159_498_240, "matmul": 2_097_152},
}


@pytest.mark.parametrize("variant", sorted(SUMMARY))
def test_cli_json_prints_the_reference_figures(variant):
    # `gaitbench complexity MODEL --dataset D --json` for every variant in summary.json
    name, dataset = variant.split("_")
    result = CliRunner().invoke(app, ["complexity", name, "--dataset", dataset, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["model"], data["dataset"], data["input"]) == (name, dataset, [1, 30, 64, 44])
    assert data["params"] == SUMMARY[variant]["params"]
    assert data["flops"] == SUMMARY[variant]["fvcore_flops_30x64x44"]
    assert {"convention", "skipped", "flops_by_operator"} <= set(data)
    if name == "deepgaitv2":
        layers = tuple(get_entry(name).arguments(dataset)["layers"])
        assert data["flops_by_operator"] == DEEPGAITV2_BY_OPERATOR[layers]


def test_cli_unknown_model_is_one_red_line():
    result = CliRunner().invoke(app, ["complexity", "hstll"])
    assert result.exit_code == 1
    assert "unknown model 'hstll'" in result.output and "Traceback" not in result.output


def test_unknown_dataset_variant():
    with pytest.raises(GaitbenchError, match="no 'gait3d' variant"):
        complexity("gaitgl", "gait3d")


def test_models_table_and_cli():
    rows = {r["model"]: r for r in model_table()}
    assert set(rows) == set(list_models())
    assert rows["hstl"]["params"] == 4_745_834 and rows["hstl"]["published"]
    assert rows["gaitgl"]["params"] == 3_096_673
    result = CliRunner().invoke(app, ["models"])
    assert result.exit_code == 0
    assert "hstl-tiny" in result.output and "4,745,834" in result.output
