"""What the CLI prints when it is not a terminal: nothing wrapped or truncated, so every file name
in a log is one piece, whatever the length of the path it lives under."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
from rich.table import Table

from gaitbench.console import Console

REPO = Path(__file__).resolve().parents[1]


def _deep(root: Path, length: int = 600) -> Path:
    folder = root
    while len(str(folder)) < length:
        folder = folder / ("a-rather-long-folder-name-" + "x" * 24)
    folder.mkdir(parents=True)
    return folder


def _gaitbench(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, COLUMNS="80")  # a narrow width in the environment changes nothing
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "gaitbench", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_from_a_very_deep_folder_prints_whole_file_names(tmp_path):
    deep = _deep(tmp_path)
    folder = deep / "raw" / "001" / "nm-01" / "000"
    folder.mkdir(parents=True)
    for t in range(1, 7):
        img = np.zeros((240, 320), np.uint8)
        cv2.ellipse(img, (150 + 4 * t, 120), (20, 60), 0, 0, 360, 255, -1)
        cv2.imwrite(str(folder / f"001-nm-01-000-{t:03d}.png"), img)
    corrupt = folder / "001-nm-01-000-007.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")

    prep = _gaitbench(["prep", "casia-b", "raw", "--out", "s.h5", "--workers", "1"], cwd=deep)
    assert prep.returncode == 0, prep.stderr
    warning = [line for line in prep.stderr.splitlines() if "corrupt PNG" in line]
    assert len(warning) == 1 and str(corrupt.relative_to(deep)) in warning[0], prep.stderr
    assert "Traceback" not in prep.stderr

    out = deep / "exported.npz"
    export = _gaitbench(["export", str(deep / "s.h5"), str(out)], cwd=deep)
    assert export.returncode == 0, export.stderr
    assert any(str(out) in line for line in export.stdout.splitlines()), export.stdout


def test_a_table_keeps_its_natural_width_in_a_file(tmp_path):
    name = "/".join(["folder-with-a-long-name"] * 12) + "/checkpoint.pt"
    table = Table("file", "size")
    table.add_row(name, "12 MB")
    with open(tmp_path / "log", "w") as log:
        console = Console(file=log)
        console.print(table)
        console.rule("[bold]title[/]")
        console.print("x" * 300)
    lines = (tmp_path / "log").read_text().splitlines()
    assert any(name in line for line in lines)
    assert (
        max(len(line) for line in lines) == len(name) + 12
    )  # 3 borders, 4 padding, "12 MB": no fill
    assert "x" * 300 in lines
    assert sum(1 for line in lines if "title" in line) == 1 and len(lines[-2]) == 80
