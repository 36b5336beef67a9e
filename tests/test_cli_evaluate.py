import json

import h5py
import pytest
import torch
from _eval_helpers import make_run, make_store
from typer.testing import CliRunner

from gaitbench.cli import app

torch.set_num_threads(1)
runner = CliRunner()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("eval")
    return make_run(tmp / "run"), make_store(tmp / "casia-b-64.h5")


def test_evaluate_run_folder(run):
    run_dir, store = run
    res = runner.invoke(app, ["evaluate", str(run_dir), "--data", str(store), "--batch-size", "4"])
    assert res.exit_code == 0, res.output
    assert "CASIA-B" in res.output and "NM" in res.output
    results = json.loads((run_dir / "results-casia-b.json").read_text())
    assert results["schema"] == "gaitbench-results/2" and results["model"] == "gaitset-tiny"
    assert results["iteration"] == 7 and results["config_hash"].startswith("sha256:")
    assert set(results["metrics"]) == {"NM", "BG", "CL"}
    assert set(results["metrics"]["NM"]["rank1_per_view"]) == {"000", "090"}
    for m in results["metrics"].values():
        assert 0.0 <= m["rank1"] <= 100.0
    with h5py.File(run_dir / "embeddings-casia-b.h5") as f:
        # test split only: 3 subjects x 8 conditions x 2 views
        assert f["embeddings"].shape[0] == 48 and f.attrs["model"] == "gaitset-tiny"

    # --embeddings --json: only the JSON on stdout, same metrics
    res = runner.invoke(
        app,
        [
            "evaluate",
            "--embeddings",
            str(run_dir / "embeddings-casia-b.h5"),
            "--protocol",
            "casia-b",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    again = json.loads(res.stdout)
    assert again["metrics"] == results["metrics"]


def test_evaluate_cos_and_fixture_embeddings():
    from pathlib import Path

    fixture = Path(__file__).parent / "fixtures" / "eval" / "casia-b.h5"
    res = runner.invoke(
        app, ["evaluate", "--embeddings", str(fixture), "--metric", "cos", "--json"]
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["metric"] == "cos" and out["metrics"]["NM"]["rank1"] == pytest.approx(
        97.441, abs=0.01
    )


def test_evaluate_user_errors(run, tmp_path):
    run_dir, store = run
    res = runner.invoke(app, ["evaluate", str(tmp_path / "nothing")])
    assert res.exit_code == 1 and "neither a run folder nor a checkpoint" in res.output
    (tmp_path / "empty-run").mkdir()
    res = runner.invoke(app, ["evaluate", str(tmp_path / "empty-run")])
    assert res.exit_code == 1 and "checkpoints/last.pt" in res.output
    res = runner.invoke(app, ["evaluate", str(run_dir), "--data", str(tmp_path / "no.h5")])
    assert res.exit_code == 1 and "not found" in res.output
    res = runner.invoke(app, ["evaluate"])
    assert res.exit_code == 1 and "nothing to evaluate" in res.output
    # a foreign checkpoint needs --model/--dataset
    torch.save({"state": 1}, tmp_path / "foreign.pt")
    res = runner.invoke(app, ["evaluate", str(tmp_path / "foreign.pt"), "--data", str(store)])
    assert res.exit_code == 1 and "--model" in res.output
