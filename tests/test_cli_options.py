"""Every option of every command, given an invalid value, is refused with one `error:` line,
exit status 1 (gaitbench's check) or 2 (the command line's own), no traceback, nothing written.

The walk is driven by the command tree itself: a new option without an entry in `INVALID` fails
`test_every_option_has_invalid_values`, so it cannot go unchecked."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from _eval_helpers import make_run, make_store
from typer.testing import CliRunner

from gaitbench.cli import app

runner = CliRunner()
FIXTURE_RAW = Path(__file__).parent / "fixtures" / "align" / "raw"
COMMANDS = typer.main.get_command(app).commands

# Placeholders: MISSING is a path that does not exist, UNDER_FILE one below an existing file,
# A_FILE an existing file (given where a folder goes).
MISSING, UNDER_FILE, A_FILE = "<missing>", "<under-file>", "<a-file>"
INT = ["x", "-1"]
INVALID: dict[str, list[str]] = {
    "dataset": ["bogus"],
    "model": ["bogus"],
    "raw": [MISSING],
    "store": [MISSING],
    "checkpoint": [MISSING],
    "target": [MISSING],
    "paths": [MISSING],
    "data": [MISSING],
    "recipe": [MISSING],
    "init": [MISSING],
    "embeddings": [MISSING],
    "out": [UNDER_FILE],
    "out_dir": [UNDER_FILE],
    "preview": [UNDER_FILE],
    "plots": [UNDER_FILE],
    "submission": [UNDER_FILE],
    "size": [*INT, "100"],
    "workers": [*INT, "0"],
    "subjects": [*INT, "0"],
    "seed": INT,
    "shuffle_frames": INT,
    "iterations": [*INT, "0"],
    "save_every": [*INT, "0"],
    "batch_size": [*INT, "0"],
    "num_classes": [*INT, "0"],
    "frames": ["x", "0", "9-3"],
    "labels": ["x", "-0.5", "2"],
    "layout": ["bogus"],
    "fmt": ["bogus"],
    "views": ["bogus", "400"],
    "difficulty": ["bogus"],
    "tune": ["bogus", "wobble=1", "noise=x", "noise=-1", "noise=inf"],
    "overrides": ["bogus", "nokey.x=1", "optimizer.lr=-1"],
    "device": ["gpu", "cuda:99"],
    "precision": ["bogus", "fp8"],
    "partition": ["bogus"],
    "stage": ["bogus"],
    "pretext": ["bogus"],
    "protocol": ["bogus"],
    "metric": ["bogus"],
    "name": ["", " "],
    "a": [MISSING],
    "b": [MISSING],
    "samples": [*INT, "10"],
}
# Folder outputs also refuse an existing file (file outputs may replace one: --force).
FOLDERS = {("train", "out"), ("evaluate", "out_dir"), ("report", "plots"), ("demo", "out")}


@pytest.fixture(scope="module")
def things(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("options")
    store = make_store(root / "s.h5")
    run = make_run(root / "run")
    res = runner.invoke(app, ["evaluate", str(run), "--data", str(store)])
    assert res.exit_code == 0, res.output
    (root / "a-file").write_text("not a folder")
    return {
        "root": root,
        "store": store,
        "run": run,
        "results": run / "results-casia-b.json",
        "embeddings": run / "embeddings-casia-b.h5",
    }


def base(command: str, t: dict[str, Path], new: Path) -> dict[str, list[str]]:
    """A valid invocation of ``command``, as {param name: its words} (arguments in order)."""
    return {
        "prep": {"dataset": ["casia-b"], "raw": [str(FIXTURE_RAW)], "out": ["--out", f"{new}.h5"]},
        "info": {"store": [str(t["store"])]},
        "export": {"store": [str(t["store"])], "out": [f"{new}.npz"]},
        "synth": {"out": [f"{new}.h5"], "subjects": ["--subjects", "2"],
                  "views": ["--views", "90"], "frames": ["--frames", "4-5"]},
        "models": {},
        "complexity": {"model": ["gaitset-tiny"]},
        "convert": {"checkpoint": [str(t["run"] / "checkpoints" / "last.pt")],
                    "model": ["--model", "gaitset-tiny"], "out": ["--out", f"{new}.pt"]},
        "train": {"model": ["gaitset-tiny"], "data": ["--data", str(t["store"])],
                  "out": ["--out", str(new)], "iterations": ["-n", "1"],
                  "overrides": ["--set", "data.ids_per_batch=2", "--set", "data.workers=0"]},
        "evaluate": {"target": [str(t["run"])], "data": ["--data", str(t["store"])],
                     "out_dir": ["--out", str(new)]},
        "report": {"paths": [str(t["results"])], "out": ["--out", f"{new}.md"]},
        "demo": {"out": ["--out", str(new)], "quick": ["--quick"]},
        "compare": {"a": [str(t["results"])], "b": [str(t["results"])]},
    }[command]  # fmt: skip


def _cases():
    for name, cmd in COMMANDS.items():
        for param in cmd.params:
            if getattr(param, "is_flag", False) or name == "models":
                continue
            extra = [A_FILE] if (name, param.name) in FOLDERS else []
            for value in [*INVALID.get(param.name, []), *extra]:
                yield pytest.param(name, param.name, value, id=f"{name}-{param.name}={value}")


def test_every_option_has_invalid_values():
    missing = [
        f"{name} {param.name}"
        for name, cmd in COMMANDS.items()
        for param in cmd.params
        if not getattr(param, "is_flag", False) and param.name not in INVALID
    ]
    assert not missing, f"add invalid values for: {missing}"


@pytest.mark.parametrize(("command", "param", "value"), list(_cases()))
def test_an_invalid_value_is_one_error_line(things, tmp_path, command, param, value):
    new = tmp_path / "new"
    value = {
        MISSING: str(tmp_path / "does-not-exist"),
        UNDER_FILE: str(things["root"] / "a-file" / "x"),
        A_FILE: str(things["root"] / "a-file"),
    }.get(value, value)
    words = base(command, things, new)
    spec = next(p for p in COMMANDS[command].params if p.name == param)
    if spec.param_type_name == "argument":
        words[param] = [value]
    else:
        words[param] = [spec.opts[0], value]
    arguments = [p.name for p in COMMANDS[command].params if p.param_type_name == "argument"]
    args = [w for p in arguments for w in words.pop(p, [])]
    args += [w for ws in words.values() for w in ws]
    before = sorted(p.name for p in tmp_path.iterdir())
    res = runner.invoke(app, [command, *args])
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert res.exit_code in (1, 2), (args, res.output)
    assert isinstance(res.exception, SystemExit), (args, res.exception)
    assert len(lines) == 1 and lines[0].startswith("error: "), (args, res.output)
    assert sorted(p.name for p in tmp_path.iterdir()) == before, args  # nothing written
