"""``--precision``: auto resolves per device, config.yaml and the checkpoint record the resolved
precision, a run resumed in its own precision equals the uninterrupted run bit for bit (fp32,
bf16 autocast, fp16 autocast with a loss scaler), and asking a run for another precision on
resume is refused in one line."""

from __future__ import annotations

import pytest
import torch
import yaml
from test_train import SMALL, assert_same_weights, make_store, recipe, weights
from typer.testing import CliRunner

from gaitbench.cli import app
from gaitbench.errors import GaitbenchError
from gaitbench.training import load_checkpoint, train
from gaitbench.training import precision as P

torch.set_num_threads(1)
CPU, CUDA = torch.device("cpu"), torch.device("cuda")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("precision") / "s.h5")


def test_explicit_precisions_pass_through_and_unknown_is_refused():
    for p in ("fp32", "bf16", "fp16"):
        assert P.resolve_precision(p, CPU, True, "fp16") == p
    with pytest.raises(GaitbenchError, match="unknown precision 'fp8'"):
        P.resolve_precision("fp8", CPU, True, "fp16")


def test_auto_on_this_cpu_is_bf16_exactly_when_the_cpu_has_it():
    expected = "bf16" if P.native_bf16(CPU) else "fp32"
    assert P.resolve_precision("auto", CPU, True, "fp16") == expected
    assert P.resolve_precision("auto", CPU, False, "fp16") == "fp32"  # the recipe said no AMP


def test_auto_on_gpus_with_and_without_bf16(monkeypatch):
    # The hardware query is the only thing replaced: the decision table around it is real.
    monkeypatch.setattr(P, "native_bf16", lambda device: True)
    assert P.resolve_precision("auto", CUDA, True, "fp16") == "bf16"
    monkeypatch.setattr(P, "native_bf16", lambda device: False)
    assert P.resolve_precision("auto", CUDA, True, "fp16") == "fp16"
    assert P.resolve_precision("auto", CPU, True, "fp16") == "fp32"
    with pytest.raises(GaitbenchError, match="does not support bfloat16: use --precision fp16"):
        P.resolve_precision("bf16", CUDA, True, "fp16")


def test_checkpoints_from_before_the_option_keep_their_arithmetic():
    old = {"config": {"train": {"amp": True, "amp_dtype": "fp16"}}}
    assert P.checkpoint_precision(old, CPU) == "fp32"
    assert P.checkpoint_precision(old, CUDA) == "fp16"
    assert P.checkpoint_precision({"config": {"train": {"precision": "bf16"}}}, CPU) == "bf16"


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_resume_in_each_precision_equals_uninterrupted(store, tmp_path, precision):
    def r(iterations):
        return recipe(
            "gaitset-tiny",
            f"train.iterations={iterations}",
            "train.save_every=3",
            f"train.precision={precision}",
        )

    whole, split = tmp_path / "whole", tmp_path / "split"
    train(r(6), store, whole)
    train(r(3), store, split)
    result = train(r(6), store, split, resume=True)
    assert result.resumed_from is not None and result.iteration == 6
    assert_same_weights(weights(split), weights(whole))
    saved = yaml.safe_load((split / "config.yaml").read_text())
    assert saved["train"]["precision"] == precision
    ckpt = load_checkpoint(split / "checkpoints" / "last.pt")
    assert ckpt["config"]["train"]["precision"] == precision
    # fp16 trains with a live loss scaler (its scale is saved); the others with none
    assert bool(ckpt["scaler"]) == (precision == "fp16")


def test_cli_records_the_resolved_precision_and_refuses_a_change_on_resume(store, tmp_path):
    run = tmp_path / "run"
    args = ["train", "gaitset-tiny", "--data", str(store), "--out", str(run), "--iterations", "2",
            "--save-every", "2", *[a for s in SMALL for a in ("--set", s)]]  # fmt: skip
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    resolved = yaml.safe_load((run / "config.yaml").read_text())["train"]["precision"]
    assert resolved == ("bf16" if P.native_bf16(CPU) else "fp32")
    other = "fp16" if resolved != "fp16" else "fp32"
    more = [*args[: -len(SMALL) * 2], "--resume", "--iterations", "4", "--precision", other]
    res = CliRunner().invoke(app, more)
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert res.exit_code == 1 and len(lines) == 1, res.output
    assert "train.precision" in lines[0] and f'"{resolved}"' in lines[0], lines[0]
    res = CliRunner().invoke(app, [*args[:4], "--out", str(tmp_path / "r2"), "--precision", "fp8"])
    assert res.exit_code == 1 and "fp8" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "r2" / "checkpoints").exists()
