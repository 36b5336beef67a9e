"""Equality (0.01 points) with the numbers OpenGait's own evaluator gave on tests/fixtures/eval."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from gaitbench.errors import GaitbenchError
from gaitbench.evaluation.embeddings import load_embeddings
from gaitbench.evaluation.protocols import evaluate, grew_submission

torch.set_num_threads(1)
EVAL = Path(__file__).parent / "fixtures" / "eval"


def expected(case):
    return json.loads((EVAL / f"{case}_expected.json").read_text())


@pytest.fixture(scope="module")
def sets():
    return {c: load_embeddings(EVAL / f"{c}.h5") for c in ("casia-b", "oumvlp", "gait3d", "grew")}


@pytest.mark.parametrize("case,metric", [("casia-b", "euc"), ("casia-b", "cos"), ("oumvlp", "euc")])
def test_view_protocols_equal_reference(sets, case, metric):
    exp = expected(case)[metric]
    views = expected(case)["views"]
    r = evaluate(sets[case], case, metric)
    assert r.views == views
    for key, value in exp["returned"].items():
        cond = key.split("/")[-1].split("@")[0]
        assert r.metrics[cond]["rank1"] == pytest.approx(value, abs=0.01)
        per = [r.metrics[cond]["rank1_per_view"][v] for v in views]
        np.testing.assert_allclose(per, exp["per_probe_view"][cond], atol=0.01)
        np.testing.assert_allclose(
            r.rank1_matrix[cond], exp["rank1_matrix_probe_view_x_gallery_view"][cond], atol=0.01
        )


def test_gait3d_equals_reference(sets):
    exp = expected("gait3d")["euc"]
    r = evaluate(sets["gait3d"], "gait3d")
    for ours, theirs in [
        ("rank1", "Rank-1"),
        ("rank5", "Rank-5"),
        ("rank10", "Rank-10"),
        ("mAP", "mAP"),
        ("mINP", "mINP"),
    ]:
        assert r.metrics[ours] == pytest.approx(exp[theirs], abs=0.01)
    assert r.n_probe["all"] == expected("gait3d")["n_probe"]
    assert r.options["n_valid"] < r.n_probe["all"]  # the fixture has unmatched probes, skipped


def test_gait3d_probe_list_equals_role_column(sets):
    es = sets["gait3d"]
    keys = [
        f"{s}-{c}-{v}"
        for s, c, v, role in zip(es.subject, es.condition, es.view, es.role)
        if role == "probe"
    ]
    no_role = es.subset(np.arange(len(es)))
    no_role.role = None
    a = evaluate(es, "gait3d").metrics
    b = evaluate(no_role, "gait3d", probe_keys=keys).metrics
    assert a == b
    with pytest.raises(GaitbenchError, match="probe list"):
        evaluate(no_role, "gait3d")


def test_grew_local_equals_reference(sets):
    exp = expected("grew")["euc"]
    r = evaluate(sets["grew"], "grew")
    for k in (1, 5, 10, 20):
        assert r.metrics[f"rank{k}"] == pytest.approx(exp[f"Rank-{k}"], abs=0.01)
    assert set(r.metrics) == {"rank1", "rank5", "rank10", "rank20", "mAP", "mINP"}


def test_oumvlp_drop_missing_variant(sets):
    es = sets["oumvlp"]
    miss = evaluate(es, "oumvlp")
    drop = evaluate(es, "oumvlp", drop_missing=True)
    assert "dropped" in drop.label and "dropped" not in miss.label
    # The fixture's gallery lacks ~5% of sequences: dropping those probes can only raise rank-1.
    assert drop.metrics["NM"]["rank1"] > miss.metrics["NM"]["rank1"] + 1.0
    assert drop.metrics["NM"]["rank1"] <= 100.0


def test_grew_submission_csv(sets, tmp_path):
    es = sets["grew"]
    out = grew_submission(es, tmp_path / "sub.csv")
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["videoId"] + [f"rank{k}" for k in range(1, 21)]
    n_probe = int((es.role == "probe").sum())
    assert len(rows) == 1 + n_probe and all(len(r) == 21 for r in rows)
    # rank-1 column against the labelled local probes equals the protocol's rank-1
    probe_subjects = es.subject[es.role == "probe"]
    hits = np.mean([int(r[1]) == int(s) for r, s in zip(rows[1:], probe_subjects)]) * 100
    assert hits == pytest.approx(evaluate(es, "grew").metrics["rank1"])
    assert not list(tmp_path.glob(".*tmp"))


def test_protocol_errors(sets):
    with pytest.raises(GaitbenchError, match="unknown protocol"):
        evaluate(sets["grew"], "market1501")
    with pytest.raises(GaitbenchError, match="gallery"):
        evaluate(sets["grew"], "casia-b")
    with pytest.raises(GaitbenchError, match="drop-missing"):
        evaluate(sets["gait3d"], "gait3d", drop_missing=True)
