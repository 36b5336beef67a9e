"""`gaitbench compare` on hand-made per-probe outcomes: the hand-computed difference, an interval
that covers it, p-values that say noise is noise, seeds resampled, different data refused."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from gaitbench.cli import app
from gaitbench.errors import GaitbenchError
from gaitbench.evaluation.compare import Side, compare, view_pair_rank1, view_rank1

runner = CliRunner()
FP = "sha256:00000000000000aa"


def view_result(run: str, hits000: list[int], hits090: list[int], fp: str = FP) -> dict:
    """A CASIA-B-style results dict with two views: probes of view 000 are scored against gallery
    view 090 and vice versa (the identical view is excluded)."""
    probes = [f"{i:03d}/nm-05/000" for i in range(len(hits000))]
    probes += [f"{i:03d}/nm-05/090" for i in range(len(hits090))]
    outcome = [f"-{h}" for h in hits000] + [f"{h}-" for h in hits090]
    return {
        "schema": "gaitbench-results/2",
        "run": run,
        "protocol": "casia-b",
        "protocol_options": {"drop_missing": False},
        "model": "m",
        "dataset": "casia-b",
        "data": {"fingerprint": fp, "kind": "synthetic"},
        "training": None,
        "metric": "euc",
        "metrics": {},
        "per_probe": {
            "layout": "view-pairs",
            "gallery_views": ["000", "090"],
            "conditions": {
                "NM": {
                    "probe": probes,
                    "view": ["000"] * len(hits000) + ["090"] * len(hits090),
                    "outcome": outcome,
                }
            },
        },
        "_path": f"{run}.json",
    }


def rank_layout(r: dict, ranks000: list, ranks090: list, unmatched: str = "miss") -> dict:
    """``r`` with its view-pair outcomes written as ranks (the current layout) instead of the
    older hit-only strings: None = identical view, or a subject absent from that gallery view."""
    c = r["per_probe"]["conditions"]["NM"]
    c.pop("outcome")
    c["rank"] = [[None, k] for k in ranks000] + [[k, None] for k in ranks090]
    r["per_probe"]["unmatched"] = unmatched
    return r


def ranking_result(run: str, rank: list, ap: list) -> dict:
    r = view_result(run, [], [])
    r["protocol"] = "gait3d"
    r["per_probe"] = {
        "layout": "ranking",
        "unmatched": "skip",
        "probe": [f"p{i}" for i in range(len(rank))],
        "rank": rank,
        "ap": ap,
    }
    return r


def test_hand_computed_difference_and_its_interval():
    # A: view 000 hits 2 of 4 (50 %), view 090 1 of 4 (25 %) -> rank-1 37.5
    # B: view 000 3 of 4 (75 %),      view 090 2 of 4 (50 %) -> rank-1 62.5;  B - A = 25.0
    a = Side("a", [view_result("a", [1, 1, 0, 0], [1, 0, 0, 0])])
    b = Side("b", [view_result("b", [1, 1, 1, 0], [1, 1, 0, 0])])
    (c,) = compare(a, b, samples=2000, seed=0)
    assert (c.condition, c.metric, c.n_probe) == ("NM", "rank1", 8)
    assert (c.a, c.b, c.difference) == (37.5, 62.5, 25.0)
    assert c.ci[0] <= 25.0 <= c.ci[1] and 0 < c.p_value <= 1
    # B never misses where A hits: every resampled difference is >= 0
    assert c.ci[0] >= 0.0


def test_rank_layout_hits_are_rank_1_and_old_files_still_compare():
    # The hand-computed case above as ranks: a hit is rank 1, whatever the other ranks are.
    a_old = view_result("a", [1, 1, 0, 0], [1, 0, 0, 0])
    a_new = rank_layout(view_result("a", [1, 1, 0, 0], [1, 0, 0, 0]), [1, 1, 3, 2], [1, 7, 2, 4])
    b_new = rank_layout(view_result("b", [1, 1, 1, 0], [1, 1, 0, 0]), [1, 1, 1, 5], [1, 1, 2, 2])
    b_old = view_result("b", [1, 1, 1, 0], [1, 1, 0, 0])
    for a, b in ((a_new, b_new), (a_old, b_new), (a_new, b_old)):
        (c,) = compare(Side("a", [a]), Side("b", [b]), samples=500, seed=0)
        assert (c.a, c.b, c.difference) == (37.5, 62.5, 25.0)
        assert c.ci[0] <= 25.0 <= c.ci[1]


def test_rank_layout_absent_subjects_miss_or_are_left_out():
    # View 000: 4 probes, ranks 1, 1, 2 and None (subject absent from gallery view 090): 2 of 4
    # hits when absent subjects count as misses (the reference), 2 of 3 when they are left out.
    for unmatched, expect in (("miss", (50.0 + 100.0) / 2), ("skip", (66.67 + 100.0) / 2)):
        r = rank_layout(view_result("a", [0] * 4, [1]), [1, 1, 2, None], [1], unmatched)
        (c,) = compare(Side("a", [r]), Side("b", [dict(r, run="b")]), samples=200)
        assert c.a == pytest.approx(expect) and c.difference == 0.0
    # without "unmatched" (no such file is written; defensive) the protocol option decides
    r = rank_layout(view_result("a", [0] * 4, [1]), [1, 1, 2, None], [1])
    del r["per_probe"]["unmatched"]
    r["protocol_options"] = {"drop_missing": True}
    (c,) = compare(Side("a", [r]), Side("b", [dict(r, run="b")]), samples=200)
    assert c.a == pytest.approx((66.67 + 100.0) / 2)


def test_the_figure_is_the_protocols_rounded_average():
    # 3 probes in view 000: 2 hits -> 66.666.. rounded per cell to 66.67, as the reference does
    pview = np.array([0, 0, 0, 1])
    hits = np.array([[0, 1], [0, 1], [0, 0], [1, 0]], dtype=float)
    counted = np.array([[0, 1], [0, 1], [0, 1], [1, 0]], dtype=bool)
    assert view_rank1(np.ones((1, 4)), pview, hits, counted)[0] == pytest.approx(
        (66.67 + 100.0) / 2
    )
    # bootstrap weights: probe 2 drawn twice, probe 1 never -> view 000 = 1 hit of 3 draws
    w = np.array([[1, 0, 2, 1]], dtype=float)
    assert view_rank1(w, pview, hits, counted)[0] == pytest.approx((33.33 + 100.0) / 2)


def test_view_pair_cells_are_hit_rates_and_average_to_the_figure():
    # view 000 against gallery 090: 2 of 4 hits; 090 against 000: 1 of 4; diagonal never counted
    r = view_result("a", [1, 1, 0, 0], [1, 0, 0, 0])
    for res in (
        r,
        rank_layout(view_result("a", [1, 1, 0, 0], [1, 0, 0, 0]), [1, 1, 3, 2], [1, 7, 2, 4]),
    ):
        views, cells = view_pair_rank1(res, "NM")
        assert views == ["000", "090"]
        assert cells[0, 1] == 50.0 and cells[1, 0] == 25.0
        assert np.isnan(cells[0, 0]) and np.isnan(cells[1, 1])
        assert np.nanmean(np.nanmean(cells, axis=1)) == 37.5  # the protocol's rank-1
    # 3 probes, 2 hits: rounded per cell as the protocol rounds it; absent subjects left out
    # under drop_missing
    r = rank_layout(view_result("a", [0] * 3, [1]), [1, 1, 2], [1])
    assert view_pair_rank1(r, "NM")[1][0, 1] == 66.67
    r = rank_layout(view_result("a", [0] * 4, [1]), [1, 1, 2, None], [1], unmatched="skip")
    assert view_pair_rank1(r, "NM")[1][0, 1] == 66.67
    with pytest.raises(GaitbenchError, match="no view-pair outcomes for BG"):
        view_pair_rank1(r, "BG")
    with pytest.raises(GaitbenchError, match="no view-pair outcomes for NM"):
        view_pair_rank1(ranking_result("g", [1], [1.0]), "NM")


def test_identical_runs_are_not_significant_and_a_large_gain_is():
    same = view_result("a", [1, 0] * 50, [0, 1] * 50)
    (c,) = compare(Side("a", [same]), Side("b", [dict(same, run="b")]), samples=500)
    assert c.difference == 0.0 and c.ci == (0.0, 0.0) and c.p_value == 1.0
    assert not c.significant
    better = view_result("b", [1] * 100, [1] * 100)
    (c,) = compare(Side("a", [same]), Side("b", [better]), samples=500)
    assert c.difference == 50.0 and c.significant and c.p_value < 0.01


def test_seeds_are_averaged_and_resampled():
    # A: two seeds at 37.5 and 62.5 -> 50.0; B one run at 62.5 -> B - A = 12.5
    a = Side(
        "a",
        [
            view_result("a-s0", [1, 1, 0, 0], [1, 0, 0, 0]),
            view_result("a-s1", [1, 1, 1, 0], [1, 1, 0, 0]),
        ],
    )
    b = Side("b", [view_result("b", [1, 1, 1, 0], [1, 1, 0, 0])])
    (c,) = compare(a, b, samples=2000)
    assert (c.a, c.b, c.difference) == (50.0, 62.5, 12.5)
    assert c.ci[0] <= 12.5 <= c.ci[1]
    # resampling the seeds widens the interval against treating A as its mean alone
    (one,) = compare(Side("a", [a.results[0]]), b, samples=2000)
    assert c.ci[1] - c.ci[0] > 0 and one.difference == 25.0


def test_ranking_protocol_rank1_and_map():
    # skip unmatched: A rank-1 = 1 of 3 valid probes, B 3 of 3; mAP A (1 + .5 + .2) / 3, B 1
    a = Side("a", [ranking_result("a", [1, 2, None, 5], [1.0, 0.5, None, 0.2])])
    b = Side("b", [ranking_result("b", [1, 1, None, 1], [1.0, 1.0, None, 1.0])])
    got = {c.metric: c for c in compare(a, b, samples=1000)}
    assert got["rank1"].difference == pytest.approx(100 - 100 / 3)
    assert got["rank5"].difference == pytest.approx(0.0)
    assert got["mAP"].a == pytest.approx(170 / 3) and got["mAP"].difference == pytest.approx(
        100 - 170 / 3
    )
    for c in got.values():
        assert c.ci[0] <= c.difference <= c.ci[1]


def test_different_data_is_refused_naming_both_fingerprints():
    a = Side("a", [view_result("a", [1], [1])])
    b = Side("b", [view_result("b", [1], [1], fp="sha256:00000000000000bb")])
    with pytest.raises(GaitbenchError, match="sha256:00000000000000aa.*sha256:00000000000000bb"):
        compare(a, b)


def test_cli_compare_json_and_errors(tmp_path):
    for name, h in (("a", [1, 1, 0, 0]), ("b", [1, 1, 1, 1])):
        r = view_result(name, h, h)
        if name == "b":  # B in the current rank layout, A in the older hit-only one
            r = rank_layout(r, [1, 1, 1, 1], [1, 1, 1, 1])
        r.pop("_path")
        (tmp_path / f"{name}.json").write_text(json.dumps(r))
    res = runner.invoke(app, ["compare", str(tmp_path / "a.json"), str(tmp_path / "b.json"),
                              "--json", "--samples", "500"])  # fmt: skip
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    (c,) = out["comparisons"]
    assert (c["a"], c["b"], c["difference"]) == (50.0, 100.0, 50.0)
    assert c["ci95"][0] <= 50.0 <= c["ci95"][1] and out["fingerprint"] == FP
    res = runner.invoke(app, ["compare", str(tmp_path / "a.json"), str(tmp_path / "b.json")])
    assert res.exit_code == 0 and "significant" in res.stdout and "+50.00" in res.stdout
    old = {k: v for k, v in json.loads((tmp_path / "a.json").read_text()).items()}
    old.update(schema="gaitbench-results/1", per_probe=None)
    (tmp_path / "old.json").write_text(json.dumps(old))
    res = runner.invoke(app, ["compare", str(tmp_path / "old.json"), str(tmp_path / "b.json")])
    assert res.exit_code == 1 and "per-probe outcomes" in res.output
