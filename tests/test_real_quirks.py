"""Real CASIA-B's quirks through prep, train and evaluate, on a copy of the real mini set
(../shared/real/casia-b-mini) damaged the way the full set is: sequences of 1 to 4 frames, an
empty and a truncated sequence file, subjects with missing sequences and a missing view. Nothing
crashes, and whatever is skipped or cannot be used as the protocol designs is counted and said.

The silhouettes are only copied into the test's temporary folder, never into the repository."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from gaitbench.cli import app
from gaitbench.data.pickles import load_array
from gaitbench.data.store import Store

torch.set_num_threads(1)
MINI = Path(__file__).resolve().parents[2] / "shared" / "real" / "casia-b-mini"
pytestmark = pytest.mark.skipif(
    not MINI.is_dir(),
    reason=f"real CASIA-B mini set not found at {MINI} (../shared/real is not distributed)",
)
runner = CliRunner()

TRAIN, TEST, VIEWS = ("001", "002", "003", "004"), ("075", "076", "077"), ("000", "090")
# (path, frames kept): truncated to 1-4 frames as the full set's shortest sequences are, or to 0
SHORT = {
    "001/nm-01/000": 1,  # training
    "002/bg-01/090": 3,  # training
    "075/nm-05/090": 2,  # probe
    "076/nm-01/000": 4,  # gallery
    "075/bg-02/000": 0,  # an empty probe sequence: skipped at prep
}
DAMAGED = "076/bg-01/090"  # a truncated pickle: skipped at prep
ABSENT = ["076/cl-02", "076/nm-03"]  # missing sequences (every view), a probe and a gallery one
NO_VIEW = ("077", "090")  # a test subject never recorded from one view


def flat(text: str) -> str:
    """Rich wraps lines at the terminal width: compare text with whitespace runs collapsed."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("real") / "casia-b-quirks"
    for subject in TRAIN + TEST:
        for cond in sorted(p.name for p in (MINI / subject).iterdir()):
            for view in VIEWS:
                src = MINI / subject / cond / view / f"{view}.pkl"
                dst = root / subject / cond / view / f"{view}.pkl"
                dst.parent.mkdir(parents=True)
                shutil.copyfile(src, dst)
    for key, n in SHORT.items():
        path = root / key / f"{key[-3:]}.pkl"
        path.write_bytes(pickle.dumps(load_array(path)[:n]))
    damaged = root / DAMAGED / f"{DAMAGED[-3:]}.pkl"
    damaged.write_bytes(damaged.read_bytes()[:100])
    for key in ABSENT:
        shutil.rmtree(root / key)
    subject, view = NO_VIEW
    for cond in (root / subject).iterdir():
        shutil.rmtree(cond / view)
    return root


@pytest.fixture(scope="module")
def prepped(raw, tmp_path_factory):
    store = tmp_path_factory.mktemp("store") / "casia-b-quirks.h5"
    args = ["prep", "casia-b", str(raw), "--layout", "opengait", "--out", str(store)]
    res = runner.invoke(app, [*args, "--workers", "1"])
    return store, res


def test_prep_skips_and_counts(prepped):
    store, res = prepped
    assert res.exit_code == 0, res.output
    out = flat(res.output)
    # 7 subjects x 10 conditions x 2 views = 140 cells; absent: 10 (077 at 090) + 2 x 2 deleted
    # folders, the empty and the damaged sequence.
    assert "sequences written │ 124" in out
    assert "sequences with no valid frame (skipped) │ 1" in out
    assert "damaged pkl files (skipped) │ 1" in out
    assert "sequences with fewer than 5 frames │ 4" in out
    assert "sequences absent from the full grid │ 16 of 140" in out
    assert "incomplete subjects │ 3 (075, 076, 077)" in out
    assert f"damaged pkl file (truncated or not a pickle), sequence skipped: {DAMAGED}" in out
    with Store(store) as s:
        assert len(s) == 124
        lengths = {f"{r.subject}/{r.condition}/{r.view}": r.length for r in s.index.itertuples()}
    assert {k: lengths.get(k, 0) for k in SHORT} == SHORT


def test_train_and_evaluate_say_what_they_cannot_use(prepped, tmp_path):
    store, _ = prepped
    run = tmp_path / "run"
    args = ["train", "gaitset-tiny", "-n", "2", "--data", str(store), "--out", str(run)]
    sets = ["data.ids_per_batch=4", "data.seqs_per_id=2", "data.workers=0", "train.log_every=1"]
    res = runner.invoke(app, [*args, *[x for s in sets for x in ("--set", s)]])
    assert res.exit_code == 0, res.output
    # 4 training subjects x 10 conditions x 2 views; the 1- and 3-frame ones are below 30 frames
    assert "training split: 2 of 80 sequences shorter than the 30-frame clip" in flat(res.output)

    res = runner.invoke(app, ["evaluate", str(run), "--data", str(store), "--batch-size", "8"])
    assert res.exit_code == 0, res.output
    results = json.loads((run / "results-casia-b.json").read_text())
    # Probes per condition: NM 075 x4 + 076 x4 + 077 x2 (000 only); BG 075 x3 (one empty),
    # 076 x3 (one damaged), 077 x2; CL 075 x4, 076 x2 (cl-02 absent), 077 x2. Each probe has one
    # other gallery view; 077's probes (all at 000) find no 077 gallery sequence at 090.
    assert results["n_probe"] == {"NM": 10, "BG": 8, "CL": 8}
    assert results["missing_gallery"] == {
        "NM": {"missing": 2, "pairs": 10},
        "BG": {"missing": 2, "pairs": 8},
        "CL": {"missing": 2, "pairs": 8},
    }
    assert results["n_unused"] == 0
    assert (
        "probe x gallery-view pairs without the probe's subject: NM 2 of 10, BG 2 of 8, "
        "CL 2 of 8; counted as misses" in flat(res.output)
    )


def test_gei_floor_on_the_quirks_and_drop_missing(prepped, tmp_path):
    store, _ = prepped
    base = ["evaluate", "--model", "gei", "--data", str(store)]
    res = runner.invoke(app, [*base, "--out", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    kept = json.loads((tmp_path / "a" / "results-casia-b.json").read_text())
    res = runner.invoke(app, [*base, "--out", str(tmp_path / "b"), "--drop-missing"])
    assert res.exit_code == 0, res.output
    assert "left out" in flat(res.output)
    dropped = json.loads((tmp_path / "b" / "results-casia-b-drop-missing.json").read_text())
    # View 000's probes: 077's two NM probes are certain misses against gallery view 090 when
    # counted, and left out when dropped; so dropping can only raise view 000's figure.
    for cond in ("NM", "BG", "CL"):
        a = kept["metrics"][cond]["rank1_per_view"]
        b = dropped["metrics"][cond]["rank1_per_view"]
        assert b["000"] >= a["000"] and b["090"] == a["090"]
    assert dropped["missing_gallery"] == kept["missing_gallery"]
