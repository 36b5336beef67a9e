"""Each case of "no surprises" (issue 20) that the option walk in test_cli_options.py does not
already hold: what an option does when it is valid but cannot act, and what a bad input says."""

from __future__ import annotations

import json
import pickle
import shutil

import cv2
import numpy as np
import pytest
import torch
from _eval_helpers import make_run, make_store
from typer.testing import CliRunner

from gaitbench.cli import app
from gaitbench.data.store import StoreWriter
from gaitbench.device import resolve_device
from gaitbench.errors import GaitbenchError
from gaitbench.paths import check_output

runner = CliRunner()
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")


@pytest.fixture
def read_only(tmp_path):
    """A folder this process cannot write into (skipped where it can: root, for one)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        (folder / "probe").touch()
    except PermissionError:
        yield folder
    else:
        pytest.skip("this user writes into read-only folders (root, or CAP_DAC_OVERRIDE)")
    finally:
        folder.chmod(0o755)


def _one_error(res) -> str:
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit), res.output
    assert len(lines) == 1 and lines[0].startswith("error: "), res.output
    return lines[0]


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    root = tmp_path_factory.mktemp("surprises")
    store, run = make_store(root / "s.h5"), make_run(root / "run")
    res = runner.invoke(app, ["evaluate", str(run), "--data", str(store)])
    assert res.exit_code == 0, res.output
    return store, run


# -- --device --------------------------------------------------------------------------------


def test_device_names():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device(" CPU ") == "cpu"
    assert resolve_device("auto") in ("cuda", "mps", "cpu")
    with pytest.raises(GaitbenchError, match="'gpu' is not a device: use auto, cpu, cuda, cuda:N"):
        resolve_device("gpu")


@no_cuda
@pytest.mark.parametrize("name", ["cuda", "cuda:0", "cuda:1"])
def test_cuda_without_cuda_says_what_there_is(name):
    with pytest.raises(
        GaitbenchError, match=f"--device {name}: no CUDA device is visible .*has cpu"
    ):
        resolve_device(name)


@pytest.mark.skipif(
    torch.backends.mps.is_available(), reason="this machine has Apple's MPS backend"
)
def test_mps_without_mps_says_what_there_is():
    with pytest.raises(GaitbenchError, match="--device mps: .* not available here; .*has cpu"):
        resolve_device("mps")


@no_cuda
def test_train_and_evaluate_refuse_an_absent_device_in_one_line(evaluated, tmp_path):
    store, run = evaluated
    evaluate = ["evaluate", str(run), "--data", str(store), "--out", str(tmp_path / "e")]
    line = _one_error(runner.invoke(app, [*evaluate, "--device", "cuda"]))
    assert "no CUDA device is visible" in line
    train = ["train", "gaitset-tiny", "--data", str(store), "--out", str(tmp_path / "t")]
    line = _one_error(runner.invoke(app, [*train, "--device", "mps"]))
    assert "--device mps" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# -- options that could not act --------------------------------------------------------------


def test_evaluate_refuses_another_model_name_for_a_gaitbench_checkpoint(evaluated, tmp_path):
    store, run = evaluated
    evaluate = ["evaluate", str(run), "--data", str(store), "--out", str(tmp_path)]
    line = _one_error(runner.invoke(app, [*evaluate, "--model", "hstl-tiny"]))
    assert "--model hstl-tiny, but" in line and "holds a gaitset-tiny" in line
    res = runner.invoke(app, [*evaluate, "--model", "gaitset-tiny"])
    assert res.exit_code == 0, res.output  # the same name: nothing to refuse


def test_evaluate_embeddings_writes_results_into_out(evaluated, tmp_path):
    _, run = evaluated
    emb = run / "embeddings-casia-b.h5"
    res = runner.invoke(app, ["evaluate", "--embeddings", str(emb), "--metric", "cos",
                              "--out", str(tmp_path / "out")])  # fmt: skip
    assert res.exit_code == 0, res.output
    written = json.loads((tmp_path / "out" / "results-casia-b.json").read_text())
    assert written["metric"] == "cos" and set(written["metrics"]) == {"NM", "BG", "CL"}
    res = runner.invoke(app, ["evaluate", "--embeddings", str(emb), "--batch-size", "4"])
    assert "--batch-size has no effect with --embeddings" in _one_error(res)


def test_synth_png_refuses_size_and_synth_takes_preps_sizes(tmp_path):
    res = runner.invoke(app, ["synth", str(tmp_path / "raw"), "--format", "png", "--size", "64"])
    assert "--size has no effect with --format png" in _one_error(res)
    for command in (["synth", str(tmp_path / "s.h5")], ["prep", "casia-b", str(tmp_path)]):
        res = runner.invoke(app, [*command, "--size", "100"])
        assert "--size 100 is not supported: use 64 or 128" in _one_error(res)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_synth_preview_shows_every_subject_asked_for(tmp_path):
    sheet = tmp_path / "sheet.png"
    res = runner.invoke(app, ["synth", "--preview", str(sheet), "--subjects", "4",
                              "--views", "90", "--frames", "10-10"])  # fmt: skip
    assert res.exit_code == 0 and "preview of 4 subjects written" in res.output, res.output
    # One 144-pixel row per subject and condition (nm, bg, cl), 2-pixel rules between rows.
    assert cv2.imread(str(sheet)).shape[0] == 4 * 3 * 144 + (4 * 3 - 1) * 2


def test_train_refuses_a_store_the_model_cannot_take_before_writing(tmp_path):
    ids = [f"{i:03d}" for i in range(1, 5)]
    with StoreWriter(tmp_path / "s128.h5", dataset="casia-b", size=128, source="test",
                     partition={"train": ids[:3], "test": ids[3:]}) as w:  # fmt: skip
        for sid in ids:
            for cond in ("nm-01", "nm-02"):
                w.add(sid, cond, "090", np.full((6, 128, 128), 255, np.uint8))
    run = tmp_path / "run"
    res = runner.invoke(app, ["train", "hstl-tiny", "--data", str(tmp_path / "s128.h5"), "--out",
                              str(run), "-n", "1", "--name", "x", "--set", "data.ids_per_batch=2",
                              "--set", "data.workers=0"])  # fmt: skip
    line = _one_error(res)
    assert "cannot take the 128x128 frames" in line and "use a store made with --size 64" in line
    assert not run.exists()


# -- outputs checked before work -------------------------------------------------------------


def test_check_output_refuses_in_one_line(tmp_path):
    (tmp_path / "file").write_text("x")
    (tmp_path / "folder").mkdir()
    with pytest.raises(GaitbenchError, match="is a file, not a folder"):
        check_output(tmp_path / "file", folder=True)
    with pytest.raises(GaitbenchError, match="is a folder, not a file"):
        check_output(tmp_path / "folder")
    with pytest.raises(GaitbenchError, match=r"file is a file, not a folder: pass another path"):
        check_output(tmp_path / "file" / "deeper" / "out.h5")
    free = shutil.disk_usage(tmp_path).free
    with pytest.raises(GaitbenchError, match=r"free on .*needed: free some space"):
        check_output(tmp_path / "big.h5", need_bytes=free * 2)
    assert check_output(tmp_path / "new" / "deeper" / "out.h5").name == "out.h5"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "folder"]  # probes removed


def test_read_only_folders_are_refused_before_work(evaluated, read_only):
    store, run = evaluated
    locked = read_only
    for args in (
        ["train", "gaitset-tiny", "--data", str(store), "--out", str(locked / "run")],
        ["evaluate", str(run), "--data", str(store), "--out", str(locked)],
        ["report", str(run / "results-casia-b.json"), "--out", str(locked / "t.md")],
        ["report", str(run / "results-casia-b.json"), "--plots", str(locked / "plots")],
        ["synth", str(locked / "s.h5"), "--subjects", "2"],
        ["synth", "--preview", str(locked / "p.png")],
        ["export", str(store), str(locked / "e.npz")],
        ["demo", "--out", str(locked / "demo"), "--quick"],
    ):
        line = _one_error(runner.invoke(app, args))
        assert "is not writable (permission denied)" in line, (args, line)
        assert "disk space" not in line
    assert list(locked.iterdir()) == []


# -- results files ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"protocol": "bogus"}, "protocol 'bogus' is not one of casia-b"),
        ({"metrics.NM.rank1": "high"}, "metrics.NM.rank1 is 'high', not a number"),
        ({"metrics.BG.rank1_per_view.090": None}, None),  # a missing view is allowed
    ],
)
def test_report_refuses_a_results_file_with_a_wrong_value(evaluated, tmp_path, change, expected):
    _, run = evaluated
    results = json.loads((run / "results-casia-b.json").read_text())
    for key, value in change.items():
        *path, leaf = key.split(".")
        node = results
        for part in path:
            node = node[part]
        node[leaf] = value
    (tmp_path / "r.json").write_text(json.dumps(results))
    res = runner.invoke(app, ["report", str(tmp_path / "r.json")])
    if expected is None:
        assert res.exit_code == 0, res.output
    else:
        assert expected in _one_error(res)


# -- smaller drifts --------------------------------------------------------------------------


def test_prep_of_a_pkl_tree_without_layout_names_the_option(tmp_path):
    folder = tmp_path / "pkl" / "001" / "nm-01" / "090"
    folder.mkdir(parents=True)
    (folder / "090.pkl").write_bytes(pickle.dumps(np.zeros((3, 64, 64), np.uint8)))
    line = _one_error(runner.invoke(app, ["prep", "casia-b", str(tmp_path / "pkl"),
                                          "--out", str(tmp_path / "s.h5")]))  # fmt: skip
    assert line.endswith("it looks like an OpenGait pkl tree: pass --layout opengait"), line


def test_info_lists_each_count_once(evaluated):
    store, _ = evaluated
    res = runner.invoke(app, ["info", str(store)])
    assert res.exit_code == 0, res.output
    for name in ("subjects", "sequences", "frames"):
        assert sum(1 for line in res.output.splitlines() if f"│ {name} " in line) == 1, name
    assert "2 train, 3 test subjects" in res.output  # the partition as counts, not id lists
