import json
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
from _eval_helpers import make_run, make_store
from typer.testing import CliRunner

from gaitbench.cli import app
from gaitbench.errors import GaitbenchError
from gaitbench.reporting.report import build_report, latex_document
from gaitbench.reporting.tables import load_published

torch.set_num_threads(1)
runner = CliRunner()
EVAL = Path(__file__).parent / "fixtures" / "eval"


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory):
    """Two real CASIA-B results (two tiny models evaluated on a generated store), one Gait3D
    result from the fixture embeddings, and a metrics log for the training curves."""
    tmp = tmp_path_factory.mktemp("report")
    store = make_store(tmp / "casia-b-64.h5")
    for name in ("gaitset-tiny", "gaitpart-tiny"):
        run_dir = make_run(tmp / "runs" / name, name)
        res = runner.invoke(app, ["evaluate", str(run_dir), "--data", str(store)])
        assert res.exit_code == 0, res.output
        with open(run_dir / "metrics.jsonl", "w") as f:
            for it in range(1, 6):
                f.write(json.dumps({"iteration": it * 10, "loss": 1.0 / it, "lr": 1e-4}) + "\n")
    res = runner.invoke(app, ["evaluate", "--embeddings", str(EVAL / "gait3d.h5"), "--json"])
    (tmp / "runs" / "gait3d-fixture").mkdir()
    (tmp / "runs" / "gait3d-fixture" / "results-gait3d.json").write_text(res.stdout)
    return tmp / "runs"


def test_published_figures_have_sources():
    pub = load_published()
    models = {p["model"] for p in pub["results"]}
    assert models == {
        "HSTL", "GaitSet", "GaitPart", "GaitGL", "GaitBase",
        "DeepGaitV2", "DeepGaitV2-3D", "SelfGait",
    }  # fmt: skip
    assert all(p.get("source") for p in pub["results"])
    hstl = {p["dataset"]: p["metrics"] for p in pub["results"] if p["model"] == "HSTL"}
    assert hstl["casia-b"] == {"NM": 98.1, "BG": 95.9, "CL": 88.9}
    assert hstl["gait3d"]["mAP"] == 55.48 and hstl["grew"]["rank1"] == 62.7


def test_deepgaitv2_rows_say_which_variant_they_belong_to():
    pub = load_published()
    rows = {(p["model"], p["dataset"]): p for p in pub["results"] if "DeepGaitV2" in p["model"]}
    assert set(rows) == {
        ("DeepGaitV2", "gait3d"), ("DeepGaitV2", "sustech1k"),
        ("DeepGaitV2-3D", "oumvlp"), ("DeepGaitV2-3D", "grew"),
    }  # fmt: skip
    assert rows["DeepGaitV2", "gait3d"]["metrics"] == {"rank1": 74.4}
    assert rows["DeepGaitV2", "sustech1k"]["metrics"]["ALL"] == 82.4
    assert rows["DeepGaitV2-3D", "oumvlp"]["metrics"] == {"NM": 92.0}
    assert rows["DeepGaitV2-3D", "grew"]["metrics"] == {"rank1": 79.4}
    for key in (("DeepGaitV2-3D", "oumvlp"), ("DeepGaitV2-3D", "grew")):
        assert "another variant" in rows[key]["variant"] and "DeepGaitV2-3D" in rows[key]["source"]
    assert all(p["source"].startswith("og-zoo (DeepGaitV2-") for p in rows.values())
    # the complexity shown beside the Gait3D row is that of the Gait3D variant (1-4-4-1)
    comp = pub["complexity"]
    assert comp["DeepGaitV2"]["params"] == 25_492_160 and "DeepGaitV2-3D" not in comp


def test_markdown_summary_and_per_view(results_dir):
    rep = build_report([results_dir], "markdown")
    s = rep.summary
    ours = s[s.origin == "ours"]
    assert set(ours.model) == {"gaitset-tiny", "gaitpart-tiny", "unknown"}
    assert set(ours.run) == {"gaitset-tiny", "gaitpart-tiny", "gait3d"}
    real = s[s.data.str.startswith("CASIA-B (real data; store casia-b-64.h5, sha256:")]
    # published CASIA-B rows sit beside the real CASIA-B results ...
    assert "HSTL" in set(real[real.origin == "published"].model)
    assert real.loc[real.model == "HSTL", "NM"].item() == 98.1
    # ... Gait3D's only in a separate, labelled block: the fixture embeddings record no store
    assert "## Gait3D protocol, data not recorded" in rep.text
    assert "## Published figures, real Gait3D" in rep.text
    # SelfGait's CASIA-B figure is on its release's split: not beside our CASIA-B protocol rows,
    # but in the labelled block with its protocol
    assert "SelfGait" not in set(real.model)
    assert "| SelfGait | published | selfgait-release |" in rep.text
    (title,) = rep.per_view
    assert list(rep.per_view[title].columns[-3:]) == ["000", "090", "mean"]
    # bold only among our rows: the published 98.1 is higher, yet one of ours is bold
    assert "| run | model | origin |" in rep.text and "**98.1**" not in rep.text
    assert "**64.6**" not in rep.text  # GaitBase's published Gait3D rank-1 competes with no one


def test_csv_and_no_published(results_dir):
    rep = build_report([results_dir], "csv", published=False)
    assert rep.text.splitlines()[0].startswith("run,model,origin,data_kind,dataset,")
    assert "published" not in rep.text


def test_latex_well_formed_and_compiles(results_dir, tmp_path):
    tex = build_report([results_dir], "latex").text
    assert tex.count("\\begin{table}") == tex.count("\\end{table}") == 5
    assert "\\toprule" in tex and "\\bottomrule" in tex and "\\textbf{" in tex
    assert "one multiply-add counted as one FLOP" in tex and "identical views excluded" in tex
    body = tex.replace("\\\\", "")
    assert body.count("{") - body.count("\\{") == body.count("}") - body.count("\\}")
    width = None
    for line in tex.splitlines():  # every row has as many cells as its tabular has columns
        if line.startswith("\\begin{tabular}"):
            width = len(line.split("{")[2].rstrip("}"))
        elif line.endswith("\\\\"):
            assert len(line.split(" & ")) == width, line
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex not installed: well-formedness checked only")
    (tmp_path / "t.tex").write_text(latex_document(tex))
    proc = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert (tmp_path / "t.pdf").stat().st_size > 1000


def test_cli_report_with_plots(results_dir, tmp_path):
    out = tmp_path / "table.tex"
    res = runner.invoke(
        app,
        [
            "report",
            str(results_dir),
            "--latex",
            "--out",
            str(out),
            "--plots",
            str(tmp_path / "plots"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert out.read_text().startswith("\\begin{table}")
    names = {p.name for p in (tmp_path / "plots").iterdir()}
    for stem in ("rank1_per_view_casia-b", "training_curves"):
        assert {f"{stem}.png", f"{stem}.pdf"} <= names
    assert (tmp_path / "plots" / "rank1_per_view_casia-b.png").stat().st_size > 5000


def test_report_errors(tmp_path):
    with pytest.raises(GaitbenchError, match="no results JSON"):
        build_report([tmp_path])
    (tmp_path / "results-x.json").write_text("{}")
    # under a folder, a JSON file that is not a results file is skipped (and counted) ...
    with pytest.raises(GaitbenchError, match=r"no results JSON .*\(1 other JSON files\)"):
        build_report([tmp_path])
    # ... named on its own, it is an error
    with pytest.raises(GaitbenchError, match="not gaitbench results"):
        build_report([tmp_path / "results-x.json"])
    res = runner.invoke(app, ["report", str(tmp_path), "--latex", "--csv"])
    assert res.exit_code == 1 and "one output format" in res.output
