"""The synthetic-against-real table and Kendall's tau, on hand-made results JSON."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gaitbench.errors import GaitbenchError
from gaitbench.reporting.synth_vs_real import (
    load,
    one_side_only,
    rank_agreement,
    side_by_side,
    store_script,
    to_markdown,
)

COMPARE = Path(__file__).resolve().parents[1] / "results" / "synth-vs-real" / "compare.py"


def result(model: str, nm: float, bg: float, cl: float, kind: str | None = None) -> dict:
    r = {
        "schema": "gaitbench-results/1",
        "protocol": "casia-b",
        "model": model,
        "dataset": "casia-b",
        "metric": "euc",
        "metrics": {c: {"rank1": v} for c, v in (("NM", nm), ("BG", bg), ("CL", cl))},
    }
    if kind:
        r["schema"] = "gaitbench-results/2"
        r["data"] = {"kind": kind, "fingerprint": "sha256:0"}
    return r


SYNTH = [
    result("gaitset-tiny", 50.0, 30.0, 20.0),
    result("gaitpart-tiny", 40.0, 35.0, 10.0),
    result("hstl-tiny", 60.0, 20.0, 30.0),
    result("gei", 21.0, 15.0, 6.0),
]
REAL = [
    result("gaitset-tiny", 62.0, 46.0, 26.0),  # seed 0
    result("gaitset-tiny", 64.0, 44.0, 28.0),  # seed 1
    result("gaitpart-tiny", 55.0, 40.0, 20.0),
    result("hstl-tiny", 70.0, 30.0, 15.0),
    result("gei", 23.4, 16.2, 6.6),
]


def test_side_by_side_means_seeds_and_orders_by_real():
    df = side_by_side(SYNTH, REAL)
    # real mean over conditions: hstl 38.33, gaitset 45.0, gaitpart 38.33 -> gaitset, then the
    # two tied by name; the floor last
    assert list(dict.fromkeys(df.model)) == ["gaitset-tiny", "gaitpart-tiny", "hstl-tiny", "gei"]
    row = df[(df.model == "gaitset-tiny") & (df.condition == "NM")].iloc[0]
    assert (row.synthetic, row.real, row.difference) == (50.0, 63.0, -13.0)
    assert (row.n_synthetic, row.n_real) == (1, 2) and not row.within
    mean = df[(df.model == "gaitset-tiny") & (df.condition == "mean")].iloc[0]
    assert mean.real == pytest.approx(45.0) and mean.synthetic == pytest.approx(100 / 3)
    gei = df[(df.model == "gei") & (df.condition == "CL")].iloc[0]
    assert gei.difference == pytest.approx(-0.6) and gei.within


def test_kendall_tau_over_trained_models_only():
    agreement = rank_agreement(side_by_side(SYNTH, REAL)).set_index("condition")
    # NM: synthetic hstl > gaitset > gaitpart, real hstl > gaitset > gaitpart: the same order
    assert agreement.loc["NM", "tau"] == pytest.approx(1.0) and agreement.loc["NM", "models"] == 3
    # BG: synthetic gaitpart > gaitset > hstl; real gaitset (45) > gaitpart (40) > hstl (30):
    # one of the three pairs is discordant -> (2 - 1) / 3
    assert agreement.loc["BG", "tau"] == pytest.approx(1 / 3)
    # CL: synthetic hstl > gaitset > gaitpart; real gaitset (27) > gaitpart (20) > hstl (15):
    # hstl's two pairs discordant, one concordant -> (1 - 2) / 3
    assert agreement.loc["CL", "tau"] == pytest.approx(-1 / 3)


def test_fewer_than_two_models_give_no_tau():
    agreement = rank_agreement(side_by_side(SYNTH[:1] + SYNTH[3:], REAL[:1] + REAL[4:]))
    assert agreement["tau"].isna().all() and (agreement["models"] == 1).all()


def test_markdown_names_the_floor_and_the_differences():
    df = side_by_side(SYNTH, REAL)
    text = to_markdown(df, rank_agreement(df))
    assert "| gei (floor) | 21.0 | 23.4 | -2.4 |" in text
    # gaitset-tiny: one synthetic run, two real seeds, counted at the row's end
    assert next(x for x in text.splitlines() if x.startswith("| gaitset-tiny ")).endswith(
        "| 1 / 2 |"
    )
    assert "| NM | 1.00 |" in text
    within = int(df.within.sum())
    assert f"{within} of 16 figures within 5 points" in text


def test_load_refuses_the_wrong_kind_and_empty_input(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(result("gei", 1, 2, 3, kind="real")))
    (tmp_path / "notes.json").write_text("{}")  # not a results file: ignored
    assert [r["model"] for r in load([tmp_path], "real")] == ["gei"]
    with pytest.raises(GaitbenchError, match="computed on real data but is passed as synthetic"):
        load([tmp_path], "synthetic")
    with pytest.raises(GaitbenchError, match="no gaitbench results JSON"):
        load([tmp_path / "notes.json"], "real")


def test_models_on_one_side_only_are_named():
    extra = [*REAL, result("deepgaitv2-tiny", 70.0, 60.0, 30.0)]
    left_out = one_side_only(SYNTH, extra)
    assert left_out == {"synthetic": [], "real": ["deepgaitv2-tiny"]}
    df = side_by_side(SYNTH, extra)
    assert "deepgaitv2-tiny" not in set(df.model)
    text = to_markdown(df, rank_agreement(df), left_out)
    assert "Left out, real results only: deepgaitv2-tiny." in text


def test_no_common_model_is_an_error():
    with pytest.raises(GaitbenchError, match="no model on both sides"):
        side_by_side(SYNTH[:1], REAL[2:3])


def test_different_budgets_on_the_two_sides_are_refused():
    def trained(r: dict, iterations: int, p: int = 8) -> dict:
        return r | {"training": {"iterations": iterations, "batch": {"p": p, "k": 4, "frames": 30}}}

    synth = [trained(SYNTH[0], 2), SYNTH[3]]  # the floor has no training: never a mismatch
    real = [trained(REAL[0], 400), trained(REAL[1], 400), REAL[4]]
    with pytest.raises(
        GaitbenchError,
        match=r"gaitset-tiny was trained with 2 iterations of 8 x 4 x 30 on the synthetic side "
        r"but 400 iterations of 8 x 4 x 30 on the real side: compare equal budgets",
    ):
        side_by_side(synth, real)
    real[1] = trained(REAL[1], 400, p=4)  # two budgets among the real seeds: named both
    with pytest.raises(GaitbenchError, match="400 iterations of 4 x 4 x 30 / 400 iterations of 8"):
        side_by_side([trained(SYNTH[0], 400), SYNTH[3]], real)
    df = side_by_side([trained(SYNTH[0], 400), SYNTH[3]], [trained(REAL[0], 400), REAL[4]])
    assert sorted(set(df.model)) == ["gaitset-tiny", "gei"]
    # A file that does not record its budget (older results) is not refused.
    assert len(side_by_side(SYNTH, [trained(REAL[0], 400), *REAL[1:]])) == 16


def test_compare_script_writes_the_tables(tmp_path):
    for side, rs in (("synthetic", SYNTH), ("real", REAL)):
        (tmp_path / side).mkdir()
        for i, r in enumerate(rs):
            (tmp_path / side / f"{i}.json").write_text(json.dumps(r))
    out = tmp_path / "out"
    args = ["--synthetic", str(tmp_path / "synthetic"), "--real", str(tmp_path / "real")]
    proc = subprocess.run(
        [sys.executable, str(COMPARE), *args, "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert (out / "table.md").read_text() == proc.stdout
    table = pd.read_csv(out / "table.csv")
    assert len(table) == 16 and set(table.condition) == {"NM", "BG", "CL", "mean"}
    agreement = pd.read_csv(out / "agreement.csv")
    assert math.isclose(agreement.set_index("condition").loc["NM", "tau"], 1.0)


SMALL_SPEC_ARGS = dict(subjects=6, views=(0, 90), frames=(8, 10), seed=1)


@pytest.fixture(scope="module")
def small_store(tmp_path_factory):
    """(spec, store path): 6 synthetic walkers, views 0 and 90, rendered once for the script tests."""
    from gaitbench.data import synth

    spec = synth.SynthSpec(**SMALL_SPEC_ARGS)
    path = tmp_path_factory.mktemp("small") / "s.h5"
    return spec, synth.synthesize(path, spec, "store", workers=1).path


def test_gei_views_script_on_a_small_store(tmp_path, small_store):
    from gaitbench.data import synth

    spec, store = small_store
    script = COMPARE.parent / "gei_views.py"
    out = tmp_path / "views.md"
    done = subprocess.run(
        [sys.executable, str(script), str(store), "--out", str(out)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    row = out.read_text().splitlines()[2].split(" | ")
    assert row[0] == "| s.h5" and row[1] == "synthetic"
    # The same GEI-NN as synth.calibrate on the store's own test subjects (its partition).
    test = [int(x) for x in spec.partition()["test"]]
    same = synth.calibrate(spec, test, workers=1, same_view=True)
    other = synth.calibrate(spec, test, workers=1)
    # Rendered once and scored twice (docs/synth_levels.py): the same figures.
    geis = synth.render_geis(spec, test, workers=1)
    assert synth.gei_nn(geis, same_view=True) == same and synth.gei_nn(geis) == other
    expect = [f"{r[c]['mean']:.1f}" for r in (same, other) for c in ("NM", "BG", "CL")]
    assert [x.strip(" |") for x in row[3:]] == expect
    bad = subprocess.run([sys.executable, str(script), str(tmp_path / "missing.h5")],
                         capture_output=True, text=True)  # fmt: skip
    assert bad.returncode == 1 and bad.stderr.startswith("error: ") and "missing.h5" in bad.stderr


def _script_module(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, COMPARE.parent / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lda_finds_the_direction_that_separates_people():
    import numpy as np

    gei_lda = _script_module("gei_lda")
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 50)
    # Four people apart along axis 2 only; most of the variance (sd 10) along axis 0 is not who
    # they are: PCA's first axis would be 0, LDA's must be 2.
    x = rng.normal(size=(200, 5)) * np.array([10.0, 1, 1, 1, 1])
    x[:, 2] += 3.0 * labels
    x -= x.mean(0)
    w = gei_lda.fit_lda(x, labels)
    assert w.shape == (5, 3)
    assert abs(w[:, 0][2]) / np.linalg.norm(w[:, 0]) > 0.95  # 0.987 with this draw
    mean, axes = gei_lda.principal_axes(x)
    assert abs(axes[0, 0]) > 0.99 and np.allclose(mean, 0)


def test_gei_lda_script_on_a_small_store(tmp_path, small_store):
    from gaitbench.data import synth

    spec, store = small_store
    script = COMPARE.parent / "gei_lda.py"
    out = tmp_path / "lda.md"
    done = subprocess.run(
        [sys.executable, str(script), str(store), "--pca", "2,3", "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    rows = [r.split(" | ") for r in out.read_text().splitlines()[2:]]
    assert [r[0] for r in rows] == ["| s.h5", "| s.h5"] and [r[6] for r in rows] == ["2", "3"]
    # Its GEI columns are the protocol's GEI-NN (other views), as synth.calibrate computes it.
    test = [int(x) for x in spec.partition()["test"]]
    other = synth.calibrate(spec, test, workers=1)
    assert rows[0][3:6] == [f"{other[c]['mean']:.1f}" for c in ("NM", "BG", "CL")]
    for r in rows:
        assert all(0.0 <= float(x.strip(" |")) <= 100.0 for x in r[7:])
    bad = subprocess.run([sys.executable, str(script), str(store), "--pca", "0"],
                         capture_output=True, text=True)  # fmt: skip
    assert bad.returncode == 2 and "--pca" in bad.stderr and not bad.stdout


def test_store_table_names_each_store_and_checks_its_figures():
    from gaitbench.reporting.synth_vs_real import store_table

    about = {"kind": "real", "fingerprint": "sha256:0123456789abcdef"}
    text = store_table(["NM", "CL"], [("a.h5", about, ["97.9", "13.2"])])
    assert text.splitlines() == [
        "| store | kind | fingerprint | NM | CL |",
        "|---|---|---|---:|---:|",
        "| a.h5 | real | sha256:0123456789abcdef | 97.9 | 13.2 |",
    ]
    with pytest.raises(ValueError, match="1 figures for 2 columns"):
        store_table(["NM", "CL"], [("a.h5", about, ["97.9"])])


def test_strips_script_scores_each_strip_alone(tmp_path):
    """Embeddings where only strip 3 (parts 2 and 33) knows the subject: that strip scores 100 in
    every condition, a strip of pure noise about chance, and a file of another model is refused;
    HSTL's strips are its last pooling's bins, 2 of hstl-tiny's 32 or 4 of hstl's 64 a strip."""
    import numpy as np

    from gaitbench.evaluation.embeddings import EmbeddingSet, save_embeddings

    strips = _script_module("strips")
    rng = np.random.default_rng(0)
    conds = [f"nm-0{i}" for i in range(1, 7)] + ["bg-01", "bg-02", "cl-01", "cl-02"]
    rows = [(s, c, v) for s in range(20) for c in conds for v in ("000", "090")]
    emb = rng.normal(size=(len(rows), 62, 4)).astype(np.float32)
    for i, (s, _, _) in enumerate(rows):
        emb[i, [2, 33]] = 0.0
        emb[i, [2, 33], s % 4] = 10.0 * (1 + s // 4)  # a code only this subject has
    subjects = [f"{s:03d}" for s, _, _ in rows]
    attrs = {
        "model": "gaitset-tiny",
        "run": "toy",
        "data": json.dumps({"kind": "synthetic", "fingerprint": "sha256:00"}),
    }
    path = save_embeddings(
        tmp_path / "e.h5",
        EmbeddingSet(emb, subjects, [c for _, c, _ in rows], [v for _, _, v in rows], attrs=attrs),
    )
    out = tmp_path / "strips.md"
    assert strips.main([str(path), "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "| part | toy (synthetic, sha256:00) NM / BG / CL |"
    assert lines[2 + 3] == "| strip 3 | 100.0 / 100.0 / 100.0 |"
    noise = [float(x) for x in lines[2 + 1].split("|")[2].split("/")]
    assert all(x < 30 for x in noise)  # chance is 5 %
    attrs["model"] = "gaitpart-tiny"
    save_embeddings(
        tmp_path / "p.h5",
        EmbeddingSet(emb, subjects, [c for _, c, _ in rows], [v for _, _, v in rows], attrs=attrs),
    )
    assert strips.main([str(tmp_path / "p.h5")]) == 1
    # HSTL: hstl-tiny's 46 parts end in 32 strips of 2 rows, so strip 3 (rows 8-11) is parts
    # 14 + 4 and 14 + 5; a file of hstl-tiny's model with GaitSet's 62 parts is refused.
    groups = dict(strips.part_groups("hstl-tiny", "casia-b"))
    assert groups["all"] == list(range(46)) and groups["strip 3"] == [18, 19]
    assert groups["strip 16"] == [44, 45] and len(groups) == 17
    full = dict(strips.part_groups("hstl", "casia-b"))  # 9 region parts, 64 strips of 1 row
    assert len(full["all"]) == 73 and full["strip 1"] == [9, 10, 11, 12]
    hstl = np.zeros((len(rows), 46, 4), np.float32)
    hstl[:] = rng.normal(size=hstl.shape)
    hstl[:, [18, 19]] = emb[:, [2, 33]]
    attrs["model"] = "hstl-tiny"
    save_embeddings(
        tmp_path / "h.h5",
        EmbeddingSet(hstl, subjects, [c for _, c, _ in rows], [v for _, _, v in rows], attrs=attrs),
    )
    assert strips.main([str(tmp_path / "h.h5"), "--out", str(out)]) == 0
    assert out.read_text().splitlines()[2 + 3] == "| strip 3 | 100.0 / 100.0 / 100.0 |"
    save_embeddings(
        tmp_path / "h62.h5",
        EmbeddingSet(emb, subjects, [c for _, c, _ in rows], [v for _, _, v in rows], attrs=attrs),
    )
    assert strips.main([str(tmp_path / "h62.h5")]) == 1


def test_frame_stats_by_hand(tmp_path, small_store):
    """frame_stats.py: a 10 x 10 square moving one pixel per frame has, by hand, fill 100 / 2816,
    boundary 80 / 100 (the 12 x 12 dilation minus the 8 x 8 erosion), no soft edge, change 20 / 100
    (10 pixels leave and 10 arrive) and jitter 20 / 100 (four columns per row differ by one half
    from the mean of the neighbouring frames); the cycle repeat of a periodic and of a growing
    shape, by hand; the script writes one row per store and one error
    line for a missing one."""
    stats = _script_module("frame_stats")
    frames = np.zeros((3, 64, 44), np.uint8)
    for t in range(3):
        frames[t, 20:30, 10 + t : 20 + t] = 255
    got = stats.sequence_stats(frames)
    want = {"fill": 100 / 2816, "boundary": 0.8, "soft edge": 0.0, "change": 0.2, "jitter": 0.2}
    assert got == pytest.approx(want)
    assert stats.band_width(frames, slice(20, 30)) == pytest.approx(10.0)
    # two 3-pixel legs 2 pixels apart in rows 40-49 of 22 rows 40-61: 10 / 22 rows with a gap
    legs = np.zeros((2, 64, 44), np.uint8)
    legs[:, 40:50, 10:13] = legs[:, 40:50, 15:18] = 255
    legs[:, 50:60, 10:18] = 255
    assert stats.gap_rows(legs, slice(40, 62)) == pytest.approx(10 / 22)
    assert np.isnan(stats.sequence_stats(frames[:2])["jitter"])
    # A square going back and forth with a 24-frame period repeats exactly at lag 24; a bar of
    # 10 columns growing a row a frame (5 to 49 rows) differs by 10 P pixels at lag P, fill
    # 10 x 27 per frame on average: P / 27, least at the shortest lag, 18.
    swing = np.zeros((60, 64, 44), np.uint8)
    for t in range(60):
        x = abs(t % 24 - 12)
        swing[t, 20:30, 10 + x : 20 + x] = 255
    assert stats.cycle_repeat(swing) == (0.0, 24)
    grow = np.zeros((45, 64, 44), np.uint8)
    for t in range(45):
        grow[t, 10 : 15 + t, 10:20] = 255
    assert stats.cycle_repeat(grow) == pytest.approx((18 / 27, 18))
    assert stats.cycle_repeat(grow[:44]) is None
    # coat fill: a 10 x 12 block against a 10 x 10 one is 20 % fuller; coat legs: legs apart in
    # all 16 rows 44-59 without the coat, in the lower 8 with it: 0.5 - 1.0.
    nm, cl = np.zeros((2, 64, 44), np.uint8), np.zeros((2, 64, 44), np.uint8)
    nm[:, 20:30, 10:20] = cl[:, 20:30, 10:22] = 255
    apart, hem = np.zeros((2, 64, 44), np.uint8), np.zeros((2, 64, 44), np.uint8)
    apart[:, 44:60, 10:13] = apart[:, 44:60, 15:18] = 255
    hem[:] = apart
    hem[:, 44:52, 10:18] = 255
    assert stats.coat_stats([nm], [cl], [apart], [hem]) == pytest.approx((0.2, -0.5))
    assert np.isnan(stats.coat_stats([nm], [], [apart], [hem])[0])
    _, store = small_store
    out = tmp_path / "frames.md"
    done = subprocess.run(
        [sys.executable, str(COMPARE.parent / "frame_stats.py"), str(store), "--sequences", "20",
         "--out", str(out)], capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = out.read_text().splitlines()
    assert len(lines) == 3 and lines[2].startswith(
        f"| {store.parent.name}/s.h5 | synthetic | sha256:"
    )
    assert len(lines[2].split(" | ")) == 3 + len(stats.COLUMNS)
    bad = subprocess.run([sys.executable, str(COMPARE.parent / "frame_stats.py"),
                          str(tmp_path / "missing.h5")], capture_output=True, text=True)  # fmt: skip
    assert bad.returncode == 1 and bad.stderr.startswith("error: ") and "missing.h5" in bad.stderr


def test_store_script_rows_and_a_bad_store(tmp_path, small_store, capsys):
    """store_script: one table row per figure list a store's measure returns, named by ``name``
    with the store's kind and fingerprint; a missing store after a good one is one error line,
    exit status 1 and no table written."""
    _, store = small_store
    out = tmp_path / "t.md"
    rows = lambda s: [[str(len(s.index)), "a"], [str(len(s.index)), "b"]]  # noqa: E731
    assert store_script([store], ["sequences", "tag"], rows, out, name=lambda p: "mine") == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 4 and all(
        line.startswith("| mine | synthetic | sha256:") for line in lines[2:]
    )
    assert [line.split(" | ")[-1] for line in lines[2:]] == ["a |", "b |"]
    capsys.readouterr()
    again = tmp_path / "u.md"
    assert store_script([store, tmp_path / "missing.h5"], ["sequences", "tag"], rows, again) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "missing.h5" in err[0]
    assert not again.exists()


def _view_pair_result(model: str, ranks: dict[str, list[list]]) -> dict:
    """A CASIA-B results dict with views 000 / 090 / 180 whose NM outcomes are the given ranks
    (one row per probe, one column per gallery view; None = the identical view)."""
    views = ["000", "090", "180"]
    probe, view, rank = [], [], []
    for v in views:
        for i, row in enumerate(ranks[v]):
            probe.append(f"{i:03d}/nm-05/{v}")
            view.append(v)
            rank.append(row)
    return {
        "schema": "gaitbench-results/2",
        "protocol": "casia-b",
        "model": model,
        "data": {"kind": "real", "fingerprint": "sha256:00"},
        "per_probe": {
            "layout": "view-pairs",
            "gallery_views": views,
            "unmatched": "miss",
            "conditions": {"NM": {"probe": probe, "view": view, "rank": rank}},
        },
    }


def test_view_pairs_script_by_hand(tmp_path):
    """view_pairs.py on hand-made outcomes: cells (000->090) 50, (000->180) 100, (090->000) 100,
    (090->180) 50, (180->000) 50, (180->090) 50. Pairs 90 degrees apart: (50+100+50+50)/4 = 62.5;
    180 apart, which are also the mirror pairs: (100+50)/2 = 75; the protocol's figure: the mean
    of the probe views' means (75, 75, 50) = 66.7. A second seed of all hits is averaged cell by
    cell; files of two models under one label are refused."""
    vp = _script_module("view_pairs")
    ranks = {
        "000": [[None, 1, 1], [None, 2, 1]],
        "090": [[1, None, 3], [1, None, 1]],
        "180": [[2, 2, None], [1, 1, None]],
    }
    a = tmp_path / "a.json"
    a.write_text(json.dumps(_view_pair_result("m", ranks)))
    perfect = {v: [[None if j == i else 1 for j in range(3)]] for i, v in enumerate(ranks)}
    b = tmp_path / "b.json"
    b.write_text(json.dumps(_view_pair_result("m", perfect)))
    out = tmp_path / "vp.md"
    assert vp.main([f"one={a}", f"two={a},{b}", "--out", str(out)]) == 0
    head, _, one, two = out.read_text().splitlines()
    assert head == "| run | kind | seeds | 90 deg | 180 deg | mirror | all |"
    assert one == "| one | real | 1 | 62.5 | 75.0 | 75.0 | 66.7 |"
    assert two.split(" | ")[2:] == ["2", "81.2", "87.5", "87.5", "83.3 |"]
    c = tmp_path / "c.json"
    c.write_text(json.dumps(_view_pair_result("other", ranks)))
    assert vp.main([f"mixed={a},{c}"]) == 1
    assert vp.main(["no-label"]) == 1


def test_candidates_script_ranks_candidates_by_hand(tmp_path, capsys):
    """candidates.py on two hand-made candidates against REAL (gaitset-tiny's real side is the
    mean of its two seeds, 63 / 45 / 27). "two" trains three models: it comes first though
    "one", a screen of the floor and gaitset-tiny, has more of its figures within 5 points.
    one: floor -2.4 / -1.2 / -0.6, gaitset-tiny 60 / 43 / 20 -> -3.0 / -2.0 / -7.0: 5 of 6,
    worst 7.0. two: SYNTH's floor and gaitset-tiny (two seeds, 50 / 30 / 20 and 60 / 40 / 30,
    mean 55 / 35 / 25 -> -8.0 / -10.0 / -2.0), gaitpart-tiny -15 / -5 / -10, hstl-tiny
    -10 / -10 / +15: 5 of 12 (the floor's three, gaitset-tiny's CL, gaitpart-tiny's BG at
    exactly 5), worst 15.0; spread on NM 60 - 55 = 5.0 against real's 70 - 63 = 7.0. Means over
    conditions: synthetic gaitset 38.3 > hstl 36.7 > gaitpart 28.3; real gaitset 45.0 > hstl
    38.3 = gaitpart 38.3: two concordant pairs, none discordant, one tied on the real side, so
    tau-b = 2 / sqrt(3 x 2) = 0.82."""
    cand = _script_module("candidates")
    cal, real = tmp_path / "calibration", tmp_path / "real"
    real.mkdir()
    for i, r in enumerate(REAL):
        (real / f"{i}.json").write_text(json.dumps(r))
    one = [
        result("gei", 21.0, 15.0, 6.0, "synthetic"),
        result("gaitset-tiny", 60, 43, 20, "synthetic"),
    ]
    two = [result(r["model"], *(r["metrics"][c]["rank1"] for c in ("NM", "BG", "CL")), "synthetic")
           for r in SYNTH] + [result("gaitset-tiny", 60, 40, 30, "synthetic")]  # fmt: skip
    for label, rs in (("one", one), ("two", two)):
        (cal / label / "synthetic").mkdir(parents=True)
        for i, r in enumerate(rs):
            (cal / label / "synthetic" / f"{i}.json").write_text(json.dumps(r))
    out = tmp_path / "candidates.md"
    assert cand.main(["--calibration", str(cal), "--real", str(real), "--out", str(out)]) == 0
    head, _, first, second = out.read_text().splitlines()[:4]
    assert head.startswith(
        "| candidate | store | within 5 | worst | gei | gaitset-tiny | hstl-tiny |"
    )
    cells = [x.strip() for x in first.strip("|").split("|")]
    assert cells[:7] == ["`two`", "sha256:0", "5 of 12", "15.0", "-2.4 / -1.2 / -0.6",
                         "-8.0 / -10.0 / -2.0 (2)", "-10.0 / -10.0 / +15.0 (1)"]  # fmt: skip
    assert cells[8] == "-15.0 / -5.0 / -10.0 (1)" and cells[-2:] == ["5.0 (7.0)", "0.82"]
    cells = [x.strip() for x in second.strip("|").split("|")]
    assert cells[:6] == ["`one`", "sha256:0", "5 of 6", "7.0", "-2.4 / -1.2 / -0.6",
                         "-3.0 / -2.0 / -7.0 (1)"]  # fmt: skip
    assert cells[6] == "-" and cells[-2:] == ["-", "-"]
    (cal / "bad" / "synthetic").mkdir(parents=True)
    (cal / "bad" / "synthetic" / "x.json").write_text(json.dumps(result("gei", 1, 1, 1, "real")))
    assert cand.main(["--calibration", str(cal), "--real", str(real)]) == 1
    assert "candidate bad:" in capsys.readouterr().err
