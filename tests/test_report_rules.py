"""The report's rules on hand-made results files: runs never merge, seeds aggregate to the
hand-computed mean and standard deviation, one tidy CSV that pandas reads, synthetic data never
titled as the real dataset, published rows only beside real data, the union of views, bold only
among our rows, --out DIR in every format, schema 1 still reports."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from gaitbench.cli import app
from gaitbench.reporting.report import build_report

runner = CliRunner()
REAL = "sha256:000000000000real"
SYNTH = "sha256:00000000000synth"


def result(run, model="gaitset-tiny", nm=50.0, seed=0, fp=SYNTH, kind="synthetic",
           views=("000", "090"), recipe="sha256:recipe0", iterations=400) -> dict:  # fmt: skip
    per_view = {v: nm + i for i, v in enumerate(views)}
    return {
        "schema": "gaitbench-results/2",
        "run": run,
        "protocol": "casia-b",
        "protocol_options": {"drop_missing": False},
        "model": model,
        "dataset": "casia-b",
        "data": {
            "file": "synth.h5" if kind == "synthetic" else "casia-b-64.h5",
            "fingerprint": fp,
            "kind": kind,
            "generator": {"subjects": 124, "views": [0, 90], "difficulty": "standard", "seed": 0}
            if kind == "synthetic"
            else None,
        },
        "training": {"seed": seed, "iterations": iterations, "recipe_hash": recipe},
        "metric": "euc",
        "params": 98824,
        "flops": 216467456,
        "metrics": {
            "NM": {"rank1": nm, "rank1_per_view": per_view},
            "BG": {"rank1": nm - 10, "rank1_per_view": {v: nm - 10 for v in views}},
        },
        "per_probe": None,
    }


def write(folder: Path, name: str, r: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(r))
    return folder / name


def test_two_runs_with_one_model_name_stay_two_rows(tmp_path):
    # same model, different recipes (e.g. the label-efficiency fine-tunes): never merged
    write(tmp_path / "a", "results-casia-b.json", result("ft-pre-0.1", nm=30.0, recipe="sha256:r1"))
    write(tmp_path / "b", "results-casia-b.json", result("ft-pre-1.0", nm=40.0, recipe="sha256:r2"))
    rep = build_report([tmp_path], published=False)
    s = rep.summary
    assert list(s.run) == ["ft-pre-0.1", "ft-pre-1.0"] and list(s.NM) == [30.0, 40.0]
    assert list(s.n) == [1, 1]
    (pv,) = rep.per_view.values()
    assert len(pv) == 4 and set(pv.run) == {"ft-pre-0.1", "ft-pre-1.0"}
    # schema-1-like files without run names: the file name tells them apart
    write(tmp_path / "c", "x.json", dict(result("same", nm=1.0), training=None))
    write(tmp_path / "c", "y.json", dict(result("same", nm=2.0), training=None))
    rep = build_report([tmp_path / "c"], published=False)
    assert list(rep.summary.run) == ["same (x.json)", "same (y.json)"]


def test_three_seeds_aggregate_to_mean_and_std(tmp_path):
    for seed, nm in ((0, 50.0), (1, 60.0), (2, 70.0)):
        write(
            tmp_path / f"gs-s{seed}",
            "results-casia-b.json",
            result(f"gs-s{seed}", nm=nm, seed=seed),
        )
    write(tmp_path / "other", "results-casia-b.json", result("gp", model="gaitpart-tiny", nm=20.0))
    rep = build_report([tmp_path], published=False)
    s = rep.summary.set_index("model")
    # mean 60.0; sample std sqrt(((-10)^2 + 0 + 10^2) / 2) = 10.0
    assert s.loc["gaitset-tiny", "NM"] == 60.0 and s.loc["gaitset-tiny", "n"] == 3
    assert s.loc["gaitset-tiny", "run"] == "gs-s* [seeds 0, 1, 2]"
    assert "| gs-s* [seeds 0, 1, 2] | gaitset-tiny | ours | 3 | 400 | euc |" in rep.text
    assert "**60.0 ± 10.0**" in rep.text  # and the best of the two rows
    assert "20.0" in rep.text and "**20.0" not in rep.text
    tidy = rep.tidy
    nm = tidy[(tidy.model == "gaitset-tiny") & (tidy.condition == "NM") & (tidy.view == "")]
    assert nm[["value", "std", "n"]].values.tolist() == [[60.0, 10.0, 3]]
    assert nm.seeds.item() == "0 1 2"
    # per view: views 000 = nm, 090 = nm + 1 -> 61.0 +- 10.0
    assert "61.0 ± 10.0" in rep.text
    tex = build_report([tmp_path], "latex", published=False).text
    assert all(line.count("$") % 2 == 0 for line in tex.splitlines())
    assert "$\\mathbf{60.0} \\pm 10.0$" in tex and "$\\mathbf{61.0} \\pm 10.0$" in tex
    # --per-seed: one row each
    per = build_report([tmp_path], published=False, per_seed=True).summary
    assert sorted(per.run) == ["gp", "gs-s0", "gs-s1", "gs-s2"] and set(per.n) == {1}


def test_same_seed_twice_or_different_budget_is_not_a_seed_group(tmp_path):
    write(tmp_path / "a", "r.json", result("a", nm=50.0, seed=0))
    write(tmp_path / "b", "r.json", result("b", nm=60.0, seed=0))  # a copy, not another seed
    write(tmp_path / "c", "r.json", result("c", nm=70.0, seed=1, iterations=800))
    assert sorted(build_report([tmp_path], published=False).summary.run) == ["a", "b", "c"]


def test_csv_is_one_tidy_table_pandas_reads(tmp_path):
    write(tmp_path / "s0", "r.json", result("s0", nm=50.0, seed=0))
    write(tmp_path / "s1", "r.json", result("s1", nm=70.0, seed=1))
    write(tmp_path / "real", "r.json", result("real", nm=80.0, fp=REAL, kind="real"))
    res = runner.invoke(app, ["report", str(tmp_path), "--csv"])
    assert res.exit_code == 0, res.output
    df = pd.read_csv(io.StringIO(res.stdout), keep_default_na=False, na_values=[""])
    for col in ("run", "model", "origin", "data_kind", "dataset", "condition", "view", "metric",
                "value", "std", "n", "params", "flops"):  # fmt: skip
        assert col in df.columns, col
    ours = df[(df.origin == "ours") & (df.condition == "NM") & df.view.isna()]
    agg = ours[ours.data_kind == "synthetic"]
    assert agg[["value", "std", "n"]].values.tolist() == [[60.0, pytest.approx(14.1421, 1e-4), 2]]
    assert ours[ours.data_kind == "real"].value.tolist() == [80.0]
    pub = df[df.origin == "published"]
    assert set(pub.data_kind) == {"real"} and "HSTL" in set(pub.model)
    assert df.params.dropna().astype(int).eq(98824).any()
    assert "results files read; 0 other JSON files skipped" in res.stderr


def test_synthetic_is_never_titled_as_the_real_dataset(tmp_path):
    write(tmp_path / "syn", "r.json", result("syn", nm=50.0))
    rep = build_report([tmp_path])
    assert "## Synthetic walkers, CASIA-B protocol (gaitbench synth: 124 subjects" in rep.text
    assert "\n## CASIA-B" not in rep.text and "not the real dataset" in rep.text
    syn = rep.summary[rep.summary.data.str.startswith("Synthetic")]
    assert set(syn.origin) == {"ours"}  # no published row beside synthetic results ...
    assert "## Published figures, real CASIA-B" in rep.text  # ... only in their own block
    # beside real data of the dataset, the published rows are in the same table
    write(tmp_path / "real", "r.json", result("real", nm=80.0, fp=REAL, kind="real"))
    rep = build_report([tmp_path])
    real = rep.summary[rep.summary.data.str.startswith("CASIA-B (real data")]
    assert set(real.origin) == {"ours", "published"} and "HSTL" in set(real.model)
    # the separate block keeps only rows of other protocols (SelfGait's release split)
    assert "| HSTL | published | casia-b |" not in rep.text
    assert "| SelfGait | published | selfgait-release |" in rep.text


def test_published_rows_of_another_protocol_stay_apart(tmp_path, monkeypatch):
    from gaitbench.reporting import tables

    pub = tables.load_published()
    pub["results"].append(
        {"model": "X", "dataset": "casia-b", "protocol": "selfgait-release",
         "metrics": {"NM": 99.0}, "source": "test"}
    )  # fmt: skip
    monkeypatch.setattr(tables, "load_published", lambda: pub)
    write(tmp_path / "real", "r.json", result("real", nm=80.0, fp=REAL, kind="real"))
    rep = build_report([tmp_path])
    real = rep.summary[rep.summary.data.str.startswith("CASIA-B (real data")]
    assert "X" not in set(real.model) and "HSTL" in set(real.model)
    assert "| X | published | selfgait-release |" in rep.text


def test_per_view_union_of_views_and_bold_only_where_rows_compete(tmp_path):
    write(tmp_path / "four", "r.json", result("four", nm=50.0, views=("000", "090")))
    write(tmp_path / "eleven", "r.json", result("eleven", nm=40.0, views=("000", "018", "090")))
    rep = build_report([tmp_path], published=False)
    (pv,) = rep.per_view.values()
    assert list(pv.columns) == ["run", "model", "origin", "distance", "condition", "000", "018",
                                "090", "mean"]  # fmt: skip
    four = pv[(pv.run == "four") & (pv.condition == "NM")].iloc[0]
    assert pd.isna(four["018"]) and four["090"] == 51.0 and four["distance"] == "euc"
    # 018 has one value only: nothing to compete with, so not bold
    assert "| eleven | gaitset-tiny | ours | euc | NM | 40.0 | 41.0 | 42.0 | 40.0 |" in rep.text
    assert (
        "| four | gaitset-tiny | ours | euc | NM | **50.0** | - | **51.0** | **50.0** |" in rep.text
    )


def test_out_dir_writes_every_table_in_every_format(tmp_path):
    write(tmp_path / "in" / "a", "r.json", result("a", nm=50.0))
    (tmp_path / "in" / "notes.json").write_text('{"not": "results"}')
    out = tmp_path / "tables"
    res = runner.invoke(app, ["report", str(tmp_path / "in"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "1 results files read; 1 other JSON files skipped" in res.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == ["per_view.csv", "per_view.md", "per_view.tex", "results.csv", "summary.csv",
                     "summary.md", "summary.tex"]  # fmt: skip
    assert pd.read_csv(out / "summary.csv").run.tolist()[0] == "a"
    assert "\\begin{table}" in (out / "per_view.tex").read_text()
    assert pd.read_csv(out / "results.csv").columns[0] == "run"


def test_schema_1_file_still_reports(tmp_path):
    v1 = result("ignored", nm=55.0)
    for key in ("run", "data", "training", "per_probe"):
        v1.pop(key)
    v1["schema"] = "gaitbench-results/1"
    write(tmp_path / "hstl-old", "results-casia-b.json", v1)
    rep = build_report([tmp_path])
    assert rep.summary.run.tolist()[0] == "hstl-old" and rep.summary.NM.tolist()[0] == 55.0
    assert "## CASIA-B protocol, data not recorded (real or synthetic unknown)" in rep.text


def test_published_row_beside_results_on_its_own_protocol(tmp_path):
    write(tmp_path / "sg", "r.json", dict(result("sg", nm=80.0, fp=REAL, kind="real"),
                                          protocol="selfgait-release"))  # fmt: skip
    rep = build_report([tmp_path])
    (group,) = [d for d in rep.summary.data.unique() if "SelfGait release split" in d]
    rows = rep.summary[rep.summary.data == group]
    assert set(rows.model) == {"gaitset-tiny", "SelfGait"}  # no CASIA-B-protocol row beside it
    assert rows.loc[rows.model == "SelfGait", "NM"].item() == 93.5
