"""`gaitbench demo` end to end on a very small preset (seconds), and its refusal to clobber."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from gaitbench import demo
from gaitbench.cli import app


@pytest.fixture
def micro(monkeypatch):
    preset = demo.DemoPreset(
        "micro",
        subjects=10,
        views=(54, 90),
        frames=(12, 14),
        iterations=2,
        models=("gaitset-tiny",),
        ids_per_batch=2,
        seqs_per_id=2,
    )
    monkeypatch.setitem(demo.PRESETS, "quick", preset)
    return preset


def test_demo_runs_every_stage(tmp_path, micro):
    out = tmp_path / "demo"
    res = CliRunner().invoke(app, ["demo", "--quick", "--out", str(out), "--workers", "1"])
    assert res.exit_code == 0, res.output
    record = json.loads((out / "demo.json").read_text())
    assert record["preset"]["name"] == "micro"
    assert list(record["seconds"]) == [
        "synth",
        "prep",
        "train gaitset-tiny",
        "evaluate gaitset-tiny",
        "report",
    ]
    # 10 subjects at ratio 0.6: 4 test subjects, every probe condition scored.
    results = json.loads((out / "runs" / "gaitset-tiny" / "results-casia-b.json").read_text())
    assert results["protocol"] == "casia-b" and results["model"] == "gaitset-tiny"
    assert set(record["rank1"]["gaitset-tiny"]) == {"NM", "BG", "CL"}
    assert all(0 <= v <= 100 for v in record["rank1"]["gaitset-tiny"].values())
    for name in ("report.md", "report.tex", "report.csv", "COMMANDS.md", "synth-casia-b-64.h5"):
        assert (out / name).is_file(), name
    assert (out / "plots" / "rank1_per_view_casia-b.png").is_file()
    assert "gaitset-tiny" in (out / "report.md").read_text()
    assert "\\begin{tabular}" in (out / "report.tex").read_text()
    assert "gaitbench prep casia-b" in (out / "COMMANDS.md").read_text()
    assert "published" in res.output  # the published rows are labelled in the terminal table

    again = CliRunner().invoke(app, ["demo", "--quick", "--out", str(out)])
    assert again.exit_code == 1 and "--force" in again.output


def test_demo_never_deletes_a_foreign_folder(tmp_path, micro):
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.tex").write_text("precious")
    res = CliRunner().invoke(app, ["demo", "--quick", "--out", str(out), "--force"])
    assert res.exit_code == 1 and "not a gaitbench demo" in res.output
    assert (out / "chapter1.tex").read_text() == "precious"
