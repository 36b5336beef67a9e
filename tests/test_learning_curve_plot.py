"""results/real-casia-b/plot_learning_curve.py on hand-made results JSON: the table it prints
and the one plot it draws."""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "results" / "real-casia-b" / "plot_learning_curve.py"


def _result(iteration, nm, bg, cl):
    metrics = {c: {"rank1": v} for c, v in (("NM", nm), ("BG", bg), ("CL", cl))}
    return {"schema": "gaitbench-results/1", "protocol": "casia-b", "model": "gaitset-tiny",
            "dataset": "casia-b", "metric": "euc", "iteration": iteration, "metrics": metrics}  # fmt: skip


def _run(args):
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, check=False
    )


def test_points_sorted_by_iteration_with_the_floor(tmp_path):
    files = []
    for it, nm in ((800, 70.0), (200, 40.25), (400, 60.0)):
        files.append(tmp_path / f"gaitset-tiny-{it}.json")
        files[-1].write_text(json.dumps(_result(it, nm, nm - 10, nm - 30)))
    floor = tmp_path / "gei.json"
    floor.write_text(json.dumps(_result(None, 23.41, 16.2, 6.57)))
    proc = _run([*files, "--floor", floor, "--out", tmp_path / "curve"])
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[2:] == [
        "| 200 | 40.2 | 30.2 | 10.2 |",
        "| 400 | 60.0 | 50.0 | 30.0 |",
        "| 800 | 70.0 | 60.0 | 40.0 |",
        "| GEI floor | 23.4 | 16.2 | 6.6 |",
    ]
    assert (tmp_path / "curve.md").read_text() == proc.stdout
    assert (tmp_path / "curve.png").stat().st_size > 1000 and (tmp_path / "curve.pdf").is_file()


def test_a_result_without_iteration_is_refused(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps(_result(None, 1, 2, 3)))
    proc = _run([path, "--out", tmp_path / "curve"])
    assert proc.returncode != 0 and "names no iteration" in proc.stderr
    assert not (tmp_path / "curve.png").exists()
