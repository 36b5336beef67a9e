"""Equality (0.01 points) with the numbers OpenGait's own evaluator gave on tests/fixtures/eval."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from gaitbench.errors import GaitbenchError
from gaitbench.evaluation.compare import _view_outcomes, view_rank1
from gaitbench.evaluation.embeddings import EmbeddingSet, load_embeddings
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
        # The per-probe ranks give back the protocol's rank-1 matrix exactly (rank 1 = a hit;
        # null = identical view, or a subject absent there, a miss); no rank below 1.
        c = r.per_probe["conditions"][cond]
        rank = np.array([[np.nan if x is None else x for x in row] for row in c["rank"]])
        assert np.nanmin(rank) >= 1
        pview = np.array([views.index(v) for v in c["view"]])
        for pv in np.unique(pview):
            hits = 100 * (rank[pview == pv] == 1).mean(axis=0)
            off = [gv for gv in range(len(views)) if gv != pv]
            np.testing.assert_array_equal(np.round(hits, 2)[off], r.rank1_matrix[cond][pv, off])
            assert np.isnan(rank[pview == pv, pv]).all()
        _, pv_code, h, counted = _view_outcomes(r.per_probe, cond)
        weights = np.ones((1, len(pv_code)))
        assert view_rank1(weights, pv_code, h, counted)[0] == pytest.approx(
            r.metrics[cond]["rank1"], abs=1e-9
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


@pytest.mark.parametrize("drop_missing", [False, True])
def test_view_pair_ranks_by_hand(drop_missing):
    # OU-MVLP layout, one part and channel: euc distances between these integer points are exact.
    # Probes (gallery view): subject 1 at 0 (090), rank 3 behind subjects 2 and 3; subject 2 at 10
    # (000), rank 1; subject 5 at 0 (090) has no gallery sequence at all.
    rows = [
        ("2", "01", "090", 1.0), ("3", "01", "090", 2.0), ("1", "01", "090", 3.0),
        ("4", "01", "090", 4.0),
        ("1", "01", "000", -1.0), ("2", "01", "000", 9.0), ("3", "01", "000", 7.0),
        ("1", "00", "000", 0.0), ("2", "00", "090", 10.0), ("5", "00", "000", 0.0),
    ]  # fmt: skip
    subject, cond, view, x = zip(*rows)
    es = EmbeddingSet(np.array(x, np.float32).reshape(-1, 1, 1), subject, cond, view)
    r = evaluate(es, "oumvlp", drop_missing=drop_missing)
    pp = r.per_probe
    assert pp["gallery_views"] == ["000", "090"]
    assert pp["unmatched"] == ("skip" if drop_missing else "miss")
    c = pp["conditions"]["NM"]
    assert c["probe"] == ["1/00/000", "2/00/090", "5/00/000"]
    assert c["rank"] == [[None, 3], [1, None], [None, None]]
    # view 000: subject 1 misses, subject 5 misses (counted) or is left out; view 090 hits
    assert r.metrics["NM"]["rank1_per_view"] == {"000": 0.0, "090": 100.0}
    _, pview, hits, counted = _view_outcomes(pp, "NM")
    np.testing.assert_array_equal(hits, [[0, 0], [1, 0], [0, 0]])
    np.testing.assert_array_equal(counted, [[0, 1], [1, 0], [0, not drop_missing]])


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
