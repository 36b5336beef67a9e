"""The run folder's life (gaitbench.training.run_folder): one process at a time, a resume that
keeps the run's settings, and nothing written by a command that is refused."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_train import SMALL, _cli_script, _wait_for, make_store
from typer.testing import CliRunner

from gaitbench.cli import app
from gaitbench.errors import GaitbenchError
from gaitbench.training import load_checkpoint
from gaitbench.training.run_folder import LOCK_NAME, locked

runner = CliRunner()
SETS = [a for s in SMALL for a in ("--set", s)]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return make_store(tmp_path_factory.mktemp("run-folder") / "s.h5")


def _train(store: Path, run: Path, *args: str):
    return runner.invoke(
        app, ["train", "gaitset-tiny", "--data", str(store), "--out", str(run), *SETS, *args]
    )


def _error_line(res) -> str:
    """The one line a refused command prints (no traceback, exit status 1)."""
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert res.exit_code == 1 and len(lines) == 1, res.output
    assert lines[0].startswith("error: ") and isinstance(res.exception, SystemExit), res.output
    return lines[0]


def _snapshot(run: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run)): p.read_bytes() for p in run.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def finished(store, tmp_path_factory) -> Path:
    """A 4-iteration gaitset-tiny run, a checkpoint every 2."""
    run = tmp_path_factory.mktemp("finished") / "run"
    res = _train(store, run, "--iterations", "4", "--save-every", "2")
    assert res.exit_code == 0, res.output
    return run


def test_the_lock_names_its_holder_and_a_stale_one_is_taken_over(tmp_path):
    run = tmp_path / "run"
    with locked(run):
        assert (run / LOCK_NAME).is_file()
        with pytest.raises(GaitbenchError) as err, locked(run):
            pass
    message = str(err.value)
    assert f"pid {os.getpid()} on {socket.gethostname()} (started " in message
    assert "--out" in message
    assert not run.exists()  # made for the lock, empty again: removed
    run.mkdir()
    (run / LOCK_NAME).write_text('{"pid": 1, "host": "crashed", "started": "long ago"}\n')
    with locked(run):  # nobody holds it: a crash's leftover is taken over
        pass
    assert list(run.iterdir()) == []


def test_a_second_train_on_a_busy_folder_is_refused(store, tmp_path):
    run = tmp_path / "run"
    args = ["train", "gaitset-tiny", "--data", str(store), "--out", str(run), "--iterations",
            "1000", "--save-every", "2", *SETS]  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, str(_cli_script(tmp_path)), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(run / "checkpoints" / "iter-0000002.pt", proc)
        for extra in ([], ["--resume"]):
            line = _error_line(_train(store, run, "--set", "optimizer.lr=0.5", *extra))
            assert f"is in use by pid {proc.pid} on {socket.gethostname()}" in line, line
        assert "lr: 0.5" not in (run / "config.yaml").read_text()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert (run / LOCK_NAME).exists()  # the killed run's lock file: stale, taken over below
    reached = load_checkpoint(run / "checkpoints" / "last.pt")["iteration"]
    res = _train(store, run, "--resume", "--iterations", str(reached + 2))
    assert res.exit_code == 0, res.output
    assert load_checkpoint(run / "checkpoints" / "last.pt")["iteration"] == reached + 2
    assert not (run / LOCK_NAME).exists()


@pytest.mark.parametrize(
    ("args", "key", "old", "new"),
    [
        (["--set", "optimizer.lr=0.5"], "optimizer.lr", "0.001", "0.5"),
        (["--set", "data.ids_per_batch=4"], "data.ids_per_batch", "3", "4"),
        (["--seed", "7"], "train.seed", "0", "7"),
    ],
)
def test_resume_refuses_a_changed_setting_before_writing(finished, store, args, key, old, new):
    before = _snapshot(finished)
    line = _error_line(_train(store, finished, "--resume", *args))
    assert f"--resume: {key} is {old} in {finished / 'config.yaml'} but {new} now" in line, line
    assert "train.iterations" in line  # it says which keys may change
    assert _snapshot(finished) == before


def test_resume_as_another_model_is_one_line_and_writes_nothing(finished, store):
    before = _snapshot(finished)
    res = runner.invoke(
        app, ["train", "hstl-tiny", "--data", str(store), "--out", str(finished), "--resume", *SETS]
    )
    line = _error_line(res)
    assert 'model.name is "gaitset-tiny"' in line and '"hstl-tiny" now' in line, line
    assert _snapshot(finished) == before


def test_resume_may_change_the_safe_keys(finished, store, tmp_path):
    run = tmp_path / "run"
    subprocess.run(["cp", "-r", str(finished), str(run)], check=True)
    res = _train(store, run, "--resume", "--iterations", "6", "--set", "train.log_every=3",
                 "--set", "train.keep_last=5", "--save-every", "3")  # fmt: skip
    assert res.exit_code == 0, res.output
    assert f"resumed from {run / 'checkpoints' / 'iter-0000004.pt'}" in res.output
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["train"]["iterations"] == 6 and config["train"]["log_every"] == 3
    assert load_checkpoint(run / "checkpoints" / "last.pt")["iteration"] == 6


def test_a_refused_train_removes_the_folders_it_made(store, tmp_path):
    run = tmp_path / "runs" / "deeper" / "run"
    # Found inside the lock, after --name wrote run.json: SelfGait fine-tuning on a labelled
    # fraction with fewer subjects than P.
    args = ["--stage", "finetune", "--labels", "0.2", "--name", "x", *SETS]
    res = runner.invoke(
        app, ["train", "selfgait-tiny", "--data", str(store), "--out", str(run), *args]
    )
    assert res.exit_code == 1 and "error: --labels 0.2 keeps 2 of 6" in res.output, res.output
    assert list(tmp_path.iterdir()) == []


def test_resume_with_nothing_to_resume_is_an_error(store, tmp_path):
    line = _error_line(_train(store, tmp_path / "typo", "--resume"))
    assert "run folder" in line and "does not exist" in line and "drop --resume" in line
    assert not (tmp_path / "typo").exists()
    (tmp_path / "empty").mkdir()
    line = _error_line(_train(store, tmp_path / "empty", "--resume"))
    assert "has no checkpoint" in line
    assert list((tmp_path / "empty").iterdir()) == []


def test_a_new_run_into_a_finished_one_is_refused(finished, store):
    before = _snapshot(finished)
    line = _error_line(_train(store, finished))
    assert "already has checkpoints: pass --resume" in line
    assert _snapshot(finished) == before


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--set", "model.name=hstl-tiny"], "--set 'model.name=hstl-tiny' and MODEL both set"),
        (["--set", "dataset=oumvlp"], "--set 'dataset=oumvlp' and --dataset both set"),
        (["-n", "4", "--set", "train.iterations=5"], "and --iterations both set"),
    ],
)
def test_a_key_set_twice_is_refused(store, tmp_path, args, expected):
    line = _error_line(_train(store, tmp_path / "run", *args))
    assert expected in line, line
    assert not (tmp_path / "run").exists()


def test_out_onto_a_file_is_one_line(store, tmp_path):
    (tmp_path / "file").write_text("x")
    line = _error_line(_train(store, tmp_path / "file", "-n", "2"))
    assert "is a file" in line
    assert (tmp_path / "file").read_text() == "x"
