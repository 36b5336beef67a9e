"""Training end to end on a generated store: the loss falls, a SIGKILLed run resumes to the same
weights bit for bit, Ctrl-C saves, a NaN stops with the last good checkpoint kept, a corrupt
newest checkpoint is passed over, and a 2-process torchrun (gloo) run works."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from gaitbench.cli import app
from gaitbench.data.store import StoreWriter
from gaitbench.errors import GaitbenchError
from gaitbench.models import build_from_checkpoint
from gaitbench.training import find_recipe, load_checkpoint, load_recipe, train
from gaitbench.training.runinfo import read_run_info, wall_seconds

torch.set_num_threads(1)
REPO = Path(__file__).resolve().parents[1]
SMALL = [
    "data.ids_per_batch=3", "data.seqs_per_id=2", "data.frames=4", "data.workers=0",
    "optimizer.name=adam", "optimizer.lr=1e-3", "scheduler.milestones=[]", "train.log_every=2",
]  # fmt: skip


def make_store(path: Path, subjects: int = 10, train: int = 6) -> Path:
    """Each subject a bar of its own width and height swinging at its own phase, plus noise."""
    rng = np.random.default_rng(0)
    ids = [f"{s + 1:03d}" for s in range(subjects)]
    partition = {"train": ids[:train], "test": ids[train:]}
    with StoreWriter(path, dataset="casia-b", size=64, source="test", partition=partition) as w:
        for s in range(subjects):
            width, top = 4 + 2 * (s % 5), 4 + 3 * (s // 5)
            for q in range(3):
                seq = np.zeros((int(rng.integers(6, 12)), 64, 64), np.uint8)
                for t in range(len(seq)):
                    x = 32 + int(6 * np.sin(2 * np.pi * (t / 8 + s / subjects)))
                    seq[t, top:60, x - width // 2 : x + width // 2] = 255
                    seq[t][rng.random((64, 64)) < 0.02] = 255
                w.add(ids[s], f"nm-{q + 1:02d}", "090", seq)
    return path


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return make_store(tmp_path_factory.mktemp("train") / "s.h5")


def recipe(model: str = "gaitset-tiny", *extra: str):
    return load_recipe(find_recipe(model, "casia-b"), [f"model.name={model}", *SMALL, *extra])


def weights(run: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(run / "checkpoints" / "last.pt")["model"]


def assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


@pytest.fixture(scope="module")
def reference(store, tmp_path_factory) -> Path:
    """An uninterrupted 10-iteration run, a checkpoint every 2 iterations, all kept."""
    run = tmp_path_factory.mktemp("ref") / "run"
    train(
        recipe("gaitset-tiny", "train.iterations=10", "train.save_every=2", "train.keep_last=10"),
        store,
        run,
    )
    return run


def test_few_steps_decrease_the_loss(store, tmp_path):
    r = recipe("gaitbase-tiny", "train.iterations=24", "train.log_every=8", "train.save_every=100")
    result = train(r, store, tmp_path / "run")
    first, last = result.logs[0], result.logs[-1]
    assert last["loss"] < 0.8 * first["loss"], (first, last)
    assert {"triplet", "ce", "active_triplets", "accuracy", "lr", "it_per_s", "data_wait"} <= set(
        last
    )
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [x["iteration"] for x in lines] == [8, 16, 24]


def test_checkpoint_describes_itself_and_rebuilds_the_model(reference):
    files = sorted(p.name for p in (reference / "checkpoints").iterdir())
    assert files == [f"iter-{i:07d}.pt" for i in (2, 4, 6, 8, 10)] + ["last.pt"]
    ckpt = torch.load(reference / "checkpoints" / "last.pt", weights_only=True)
    for key in ("model", "iteration", "model_name", "model_args", "config", "optimizer",
                "scheduler", "scaler", "sampler", "rng", "gaitbench_version"):  # fmt: skip
        assert key in ckpt, key
    assert ckpt["iteration"] == 10 and ckpt["model_name"] == "gaitset-tiny"
    assert ckpt["config"]["model"]["num_classes"] == 6
    model = build_from_checkpoint(ckpt)
    model.load_state_dict(ckpt["model"])
    out = model(torch.rand(2, 4, 64, 44))
    assert out.embeddings.shape[0] == 2
    config = (reference / "config.yaml").read_text()
    assert "name: gaitset-tiny" in config and "iterations: 10" in config


def test_periodic_evaluation_is_logged(tmp_path):
    ids = [f"{i:03d}" for i in range(1, 8)]
    conditions = [f"nm-0{i}" for i in range(1, 7)] + ["bg-01", "bg-02", "cl-01", "cl-02"]
    path = tmp_path / "casia.h5"
    with StoreWriter(path, dataset="casia-b", size=64, source="test",
                     partition={"train": ids[:4], "test": ids[4:]}) as w:  # fmt: skip
        for s, sid in enumerate(ids):
            for cond in conditions:
                for view in ("000", "090"):
                    seq = np.zeros((5, 64, 64), np.uint8)
                    seq[:, 10:60, 26 - 2 * s : 38 + 2 * s] = 255
                    w.add(sid, cond, view, seq)
    train(
        recipe("gaitset-tiny", "train.iterations=2", "train.eval_every=2"), path, tmp_path / "run"
    )
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    evals = [x for x in lines if "eval" in x]
    assert len(evals) == 1 and evals[0]["iteration"] == 2
    assert set(evals[0]["eval"]) == {"NM", "BG", "CL"}
    assert 0 <= evals[0]["eval"]["NM"]["rank1"] <= 100


def test_keep_last_prunes_old_checkpoints(store, tmp_path):
    train(
        recipe("gaitpart-tiny", "train.iterations=6", "train.save_every=1", "train.keep_last=2"),
        store,
        tmp_path,
    )
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert names == ["iter-0000005.pt", "iter-0000006.pt", "last.pt"]


def _script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "job.py"
    path.write_text("import torch; torch.set_num_threads(1)\n" + textwrap.dedent(body))
    return path


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"process ended early: {proc.stderr.read().decode()[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"{path} never appeared")
        time.sleep(0.01)


def test_sigkill_then_resume_equals_uninterrupted(store, reference, tmp_path):
    run = tmp_path / "run"
    # The killed run is told to go on for 1000 iterations so that it is surely still running
    # when it is killed; the batches and the LR schedule do not depend on the total.
    script = _script(
        tmp_path,
        f"""
        from gaitbench.training import find_recipe, load_recipe, train
        r = load_recipe(find_recipe("gaitset-tiny", "casia-b"),
                        ["model.name=gaitset-tiny", *{SMALL!r}, "train.iterations=1000",
                         "train.save_every=2", "train.keep_last=10"])
        train(r, {str(store)!r}, {str(run)!r})
    """,
    )
    proc = subprocess.Popen([sys.executable, str(script)], stderr=subprocess.PIPE)
    _wait_for(run / "checkpoints" / "iter-0000004.pt", proc)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    # run.json kept the killed run's time up to a checkpoint it saved (2 at the least: the kill
    # may fall between saving 4 and recording it).
    killed = [(s["from"], s["to"]) for s in read_run_info(run)["segments"]]
    assert len(killed) == 1 and killed[0][0] == 0 and killed[0][1] % 2 == 0 and killed[0][1] >= 2
    result = train(
        recipe("gaitset-tiny", "train.iterations=10", "train.save_every=2"), store, run, resume=True
    )
    assert result.resumed_from is not None and result.iteration == 10
    # The resumed segment starts at the checkpoint; the run's wall time is known when the
    # killed run's segment reached that checkpoint, and unknown (a gap) otherwise.
    start = int(result.resumed_from.stem.split("-")[1])
    info = read_run_info(run)
    segments = [(s["from"], s["to"]) for s in info["segments"]]
    assert segments == [k for k in killed if k[1] <= start] + [(start, 10)]
    assert (wall_seconds(info) is not None) == (killed[0][1] == start)
    assert_same_weights(weights(run), weights(reference))
    ours = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    theirs = torch.load(reference / "checkpoints" / "last.pt", weights_only=True)
    assert ours["optimizer"]["state"][0]["exp_avg"].equal(
        theirs["optimizer"]["state"][0]["exp_avg"]
    )
    # metrics.jsonl holds each logged iteration once, even those the killed run had logged.
    its = [json.loads(x)["iteration"] for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert its == [2, 4, 6, 8, 10]


def test_corrupt_newest_checkpoint_falls_back(store, reference, tmp_path):
    run = tmp_path / "run"
    train(recipe("gaitset-tiny", "train.iterations=6", "train.save_every=2"), store, run)
    newest = run / "checkpoints" / "iter-0000006.pt"
    newest.write_bytes(newest.read_bytes()[:1000])  # a truncated file (last.pt shares it)
    result = train(
        recipe("gaitset-tiny", "train.iterations=10", "train.save_every=2"), store, run, resume=True
    )
    assert [p.name for p, _ in result.skipped] == ["iter-0000006.pt"]
    assert result.resumed_from.name == "iter-0000004.pt"
    assert_same_weights(weights(run), weights(reference))


def test_nan_stops_and_keeps_the_last_good_checkpoint(store, tmp_path):
    r = recipe("gaitset-tiny", "optimizer.name=sgd", "optimizer.lr=1e30", "train.iterations=6",
               "train.save_every=1", "train.log_every=1")  # fmt: skip
    with pytest.raises(GaitbenchError, match="NaN or infinite by iteration 2.*iter-0000001.pt"):
        train(r, store, tmp_path)
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == [
        "iter-0000001.pt",
        "last.pt",
    ]
    good = load_checkpoint(tmp_path / "checkpoints" / "last.pt")
    assert all(torch.isfinite(v).all() for v in good["model"].values() if v.is_floating_point())
    assert '"event": "nan"' in (tmp_path / "metrics.jsonl").read_text()


def _cli_script(tmp_path: Path) -> Path:
    return _script(tmp_path, "from gaitbench.cli import main\nmain()\n")


def test_ctrl_c_saves_and_exits_cleanly(store, tmp_path):
    run = tmp_path / "run"
    args = ["train", "gaitset-tiny", "--data", str(store), "--out", str(run), "--iterations", "1000",
            "--save-every", "3", *[a for s in SMALL for a in ("--set", s)]]  # fmt: skip
    proc = subprocess.Popen([sys.executable, str(_cli_script(tmp_path)), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    _wait_for(run / "checkpoints" / "iter-0000003.pt", proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err.decode()[-2000:]
    assert b"Traceback" not in err and b"interrupted at iteration" in out
    last = load_checkpoint(run / "checkpoints" / "last.pt")
    newest = sorted((run / "checkpoints").glob("iter-*.pt"))[-1]
    assert last["iteration"] >= 3 and newest.name == f"iter-{last['iteration']:07d}.pt"


def test_cli_errors_name_the_problem(store, tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["train", "gaitset-tiny", "--data", str(store), "--out", str(tmp_path / "r"),
                              "--set", "optimizer.learning_rate=1"])  # fmt: skip
    assert res.exit_code == 1 and "optimizer.learning_rate" in res.output
    env = {"GAITBENCH_DATA": str(tmp_path / "nodata")}
    res = runner.invoke(app, ["train", "gaitset-tiny"], env=env)
    assert res.exit_code == 1 and "gaitbench synth" in res.output and "casia-b-64.h5" in res.output
    res = runner.invoke(app, ["train", "gaitsett", "--data", str(store)])
    assert res.exit_code == 1 and "unknown model 'gaitsett'" in res.output
    bad = tmp_path / "bad.h5"
    bad.write_bytes(store.read_bytes()[:4096])  # a truncated store: refused before any output
    res = runner.invoke(
        app, ["train", "gaitset-tiny", "--data", str(bad), "--out", str(tmp_path / "r")]
    )
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert res.exit_code == 1 and len(lines) == 1 and "truncated" in lines[0], lines
    assert not (tmp_path / "r").exists()


def test_cli_trains_and_writes_the_run_folder(store, tmp_path):
    run = tmp_path / "run"
    res = CliRunner().invoke(app, ["train", "gaitpart-tiny", "--data", str(store), "--out", str(run),
                                   "--iterations", "4", "--save-every", "2", "--seed", "3",
                                   *[a for s in SMALL for a in ("--set", s)]])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert {p.name for p in run.iterdir()} == {
        "config.yaml",
        "checkpoints",
        "metrics.jsonl",
        "run.json",
    }
    ckpt = load_checkpoint(run / "checkpoints" / "last.pt")
    assert ckpt["iteration"] == 4 and ckpt["config"]["train"]["seed"] == 3


def test_torchrun_two_processes_gloo(store, tmp_path):
    run = tmp_path / "run"
    args = ["train", "gaitset-tiny", "--data", str(store), "--out", str(run), "--iterations", "4",
            "--save-every", "2", *[a for s in SMALL for a in ("--set", s)]]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           str(_cli_script(tmp_path)), *args]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, env=env, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    ckpt = load_checkpoint(run / "checkpoints" / "last.pt")
    assert ckpt["iteration"] == 4 and not any(k.startswith("module.") for k in ckpt["model"])
    model = build_from_checkpoint(ckpt)
    model.load_state_dict(ckpt["model"])  # strict: loads in one process
    assert torch.isfinite(model(torch.rand(2, 4, 64, 44)).embeddings).all()
    its = [json.loads(x)["iteration"] for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert its == [2, 4]  # written by rank 0 only
