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
from gaitbench.models import create, list_models
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


@pytest.mark.parametrize("variant", sorted(SUMMARY))
def test_reference_figures(variant):
    name, dataset = variant.split("_")
    result = complexity(name, dataset)
    assert result["params"] == SUMMARY[variant]["params"]
    assert result["flops"] == SUMMARY[variant]["fvcore_flops_30x64x44"]


def test_cli_json_prints_reference_figures_for_hstl():
    result = CliRunner().invoke(app, ["complexity", "hstl", "--dataset", "casia-b", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["model"] == "hstl" and data["dataset"] == "casia-b"
    assert data["input"] == [1, 30, 64, 44]
    assert data["params"] == 4_745_834 == SUMMARY["hstl_casia-b"]["params"]
    assert data["flops"] == 25_824_774_400 == SUMMARY["hstl_casia-b"]["fvcore_flops_30x64x44"]
    assert {"convention", "skipped"} <= set(data)


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
