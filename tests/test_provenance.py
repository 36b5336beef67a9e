"""Provenance: the store's fingerprint (a content hash, stable across re-writes), real or
synthetic, `info --json`, the run folder remembering its store, and results files (schema 2) that
name their data, training and per-probe outcomes with no absolute path in them."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
import yaml
from _eval_helpers import make_store
from typer.testing import CliRunner

from gaitbench.cli import app
from gaitbench.data.store import Store, StoreWriter, provenance
from gaitbench.evaluation.results import load_results, upgrade_v1

torch.set_num_threads(1)
runner = CliRunner()
SMALL = [
    "--set", "data.ids_per_batch=2", "--set", "data.seqs_per_id=2", "--set", "data.frames=4",
    "--set", "data.workers=0", "--set", "train.log_every=1", "--set", "scheduler.milestones=[]",
]  # fmt: skip


def _strings(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, str):
        yield value


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 2-iteration gaitset-tiny run trained through the CLI with --name, then evaluated
    without --data (the store comes from the run folder)."""
    tmp = tmp_path_factory.mktemp("prov")
    store = make_store(tmp / "data" / "casia-b-64.h5")
    run = tmp / "runs" / "folder-name"
    res = runner.invoke(
        app,
        ["train", "gaitset-tiny", "--data", str(store), "-n", "2", "--seed", "3",
         "--out", str(run), "--name", "my-run", *SMALL],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["evaluate", str(run), "--batch-size", "4"])
    assert res.exit_code == 0, res.output
    return tmp, store, run


def test_fingerprint_is_a_content_hash(tmp_path):
    a = make_store(tmp_path / "a.h5")
    b = make_store(tmp_path / "other-name.h5")  # same content, another file and time
    with Store(a) as sa, Store(b) as sb:
        assert sa.attrs["created"] and sa.attrs["fingerprint"] == sb.attrs["fingerprint"]
        assert sa.attrs["fingerprint"].startswith("sha256:") and sa.attrs["kind"] == "real"
    c = make_store(tmp_path / "c.h5", subjects=("075", "076", "078"))  # one id differs
    with Store(a) as sa, Store(c) as sc:
        assert sa.attrs["fingerprint"] != sc.attrs["fingerprint"]
    # A store written before fingerprints: computed on demand, to the same value.
    with h5py.File(b, "a") as f:
        del f.attrs["fingerprint"], f.attrs["kind"]
    with Store(a) as sa, Store(b) as sb:
        stored, computed = provenance(sa), provenance(sb)
    assert computed["fingerprint"] == stored["fingerprint"]
    assert (stored["fingerprint_source"], computed["fingerprint_source"]) == ("stored", "computed")
    assert computed["kind"] == "real" and computed["file"] == "other-name.h5"


def test_one_frame_changed_changes_the_fingerprint(tmp_path):
    def write(path, value):
        with StoreWriter(path, dataset="casia-b", size=64, source="test") as w:
            frames = np.zeros((20, 64, 64), np.uint8)
            frames[13, 5, 7] = value
            w.add("001", "nm-01", "000", frames)
        with Store(path) as s:
            return s.attrs["fingerprint"]

    assert write(tmp_path / "a.h5", 255) == write(tmp_path / "b.h5", 255)
    assert write(tmp_path / "c.h5", 255) != write(tmp_path / "d.h5", 254)


def test_info_json_and_synthetic_kind(tmp_path):
    out = tmp_path / "synth.h5"
    res = runner.invoke(
        app, ["synth", str(out), "--subjects", "3", "--views", "0,90", "--frames", "4-5"]
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["info", str(out), "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout)
    assert info["kind"] == "synthetic" and info["fingerprint"].startswith("sha256:")
    assert info["fingerprint_source"] == "stored"
    gen = info["generator"]
    assert (gen["subjects"], gen["views"], gen["frames"], gen["seed"]) == (3, [0, 90], [4, 5], 0)
    assert gen["difficulty"] == "standard" and gen["version"] == 1
    assert info["sequences"] == 3 * 10 * 2 and info["subjects"] == 3


def test_a_prepped_synthetic_png_tree_stays_synthetic(tmp_path):
    """synth --format png leaves gaitbench-synth.json at the tree's root; prep reads it, so the
    demo's store (synth PNG -> prep) is never labelled real. Without the marker: real."""
    raw = tmp_path / "raw"
    args = ["--subjects", "3", "--views", "0,90", "--frames", "4-5"]
    res = runner.invoke(app, ["synth", str(raw), "--format", "png", *args])
    assert res.exit_code == 0, res.output
    for name in ("marked.h5", "unmarked.h5"):
        if name == "unmarked.h5":
            (raw / "gaitbench-synth.json").unlink()
        res = runner.invoke(app, ["prep", "casia-b", str(raw), "--out", str(tmp_path / name),
                                  "--workers", "1"])  # fmt: skip
        assert res.exit_code == 0, res.output
    with Store(tmp_path / "marked.h5") as s:
        marked = provenance(s)
    assert marked["kind"] == "synthetic"
    gen = marked["generator"]
    assert (gen["subjects"], gen["views"], gen["frames"], gen["seed"]) == (3, [0, 90], [4, 5], 0)
    with Store(tmp_path / "unmarked.h5") as s:
        unmarked = provenance(s)
    assert unmarked["kind"] == "real" and unmarked["generator"] is None
    # the same frames either way: the marker changes the label, not the content
    assert marked["fingerprint"] == unmarked["fingerprint"]


def test_evaluate_reads_the_store_from_the_run_folder(trained):
    _, store, run = trained
    info = json.loads((run / "run.json").read_text())
    assert Path(info["store"]) == store.resolve() and info["name"] == "my-run"
    # the precision the run used: config.yaml's resolved one (bf16 on a CPU that computes it)
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert info["precision"] == config["train"]["precision"] in ("fp32", "bf16")
    assert info["seed"] == 3 and info["device"] == "cpu"
    assert [(s["from"], s["to"]) for s in info["segments"]] == [(0, 2)]
    r = load_results(run / "results-casia-b.json")
    assert r["schema"] == "gaitbench-results/2" and r["run"] == "my-run"
    with Store(store) as s:
        assert r["data"]["fingerprint"] == s.attrs["fingerprint"]
    assert r["data"]["file"] == "casia-b-64.h5" and r["data"]["kind"] == "real"
    # make_store: test subjects 075-077, 8 conditions x 2 views; probes nm-05/06, bg-01, cl-01
    assert r["data"]["test"] == {"subjects": 3, "sequences": 48, "probe": 24, "gallery": 24}
    t = r["training"]
    assert (t["seed"], t["iterations"], t["device"]) == (3, 2, "cpu")
    assert t["precision"] == info["precision"]
    # Rounded to 0.1 s: two iterations on an idle machine may round to 0.0.
    assert t["batch"] == {"p": 2, "k": 2, "frames": 4} and t["wall_seconds"] >= 0
    assert (
        t["recipe_hash"].startswith("sha256:") and t["data_fingerprint"] == r["data"]["fingerprint"]
    )


def test_a_checkpoint_file_of_a_run_takes_the_runs_record(trained, tmp_path):
    """Evaluating RUN/checkpoints/X.pt (a learning curve's points) reads RUN/run.json as the run
    folder does: its name (NAME@ITERATION before the last), seed, device and store; the wall time
    only when the training segments end exactly at that checkpoint; the results stay beside the
    checkpoint. A copy outside a run folder has no record to read."""
    tmp, store, _ = trained
    run = tmp / "runs" / "curve"
    res = runner.invoke(
        app,
        ["train", "gaitset-tiny", "--data", str(store), "-n", "4", "--seed", "5", "--save-every",
         "2", "--set", "train.keep_last=2", "--out", str(run), "--name", "curve-run", *SMALL],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    info = json.loads((run / "run.json").read_text())
    assert [(s["from"], s["to"]) for s in info["segments"]] == [(0, 4)]
    ckpts = run / "checkpoints"
    for name, it, run_name, wall in [
        ("iter-0000002.pt", 2, "curve-run@2", None),  # the one segment runs past it
        ("iter-0000004.pt", 4, "curve-run", info["segments"][0]["wall_seconds"]),
    ]:
        res = runner.invoke(app, ["evaluate", str(ckpts / name), "--batch-size", "4"])
        assert res.exit_code == 0, res.output
        r = load_results(ckpts / "results-casia-b.json")
        t = r["training"]
        assert (r["run"], r["iteration"], r["checkpoint"]) == (run_name, it, name)
        assert (t["seed"], t["device"], t["iterations"], t["wall_seconds"]) == (5, "cpu", it, wall)
        assert t["precision"] == info["precision"] and r["data"]["file"] == "casia-b-64.h5"
    copy = tmp_path / "iter-0000002.pt"
    copy.write_bytes((ckpts / "iter-0000002.pt").read_bytes())
    res = runner.invoke(app, ["evaluate", str(copy), "--data", str(store), "--batch-size", "4"])
    assert res.exit_code == 0, res.output
    r = load_results(tmp_path / "results-casia-b.json")
    assert r["run"] == "iter-0000002" and r["training"]["device"] is None
    assert r["training"]["seed"] == 5  # from the checkpoint's own recipe


def test_results_hold_no_absolute_path(trained):
    tmp, _, run = trained
    text = (run / "results-casia-b.json").read_text()
    assert str(tmp) not in text and str(Path(tmp).resolve()) not in text
    r = json.loads(text)
    assert not [s for s in _strings(r) if s.startswith("/") or ":\\" in s]
    assert r["checkpoint"] == "checkpoints/last.pt" and r["embeddings"] == "embeddings-casia-b.h5"
    # --embeddings --json carries the same provenance, still without paths
    res = runner.invoke(app, ["evaluate", "--embeddings", str(run / "embeddings-casia-b.h5"),
                              "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    again = json.loads(res.stdout)
    assert again["run"] == "my-run" and again["data"]["fingerprint"] == r["data"]["fingerprint"]
    assert not [s for s in _strings(again) if s.startswith("/")]


def test_per_probe_outcomes_give_the_protocol_figures(trained):
    """Rank-1 recomputed from the per-probe outcomes equals the protocol's figure."""
    _, _, run = trained
    r = load_results(run / "results-casia-b.json")
    pp = r["per_probe"]
    assert pp["layout"] == "view-pairs" and pp["gallery_views"] == ["000", "090"]
    assert pp["unmatched"] == "miss"
    for cond, m in r["metrics"].items():
        c = pp["conditions"][cond]
        assert len(c["probe"]) == len(c["rank"]) == r["n_probe"][cond]
        per_view = []
        for pv in pp["gallery_views"]:
            rows = [o for o, v in zip(c["rank"], c["view"]) if v == pv]
            cells = []
            for g, gv in enumerate(pp["gallery_views"]):
                if gv == pv:
                    assert {o[g] for o in rows} == {None}
                    continue
                assert all(o[g] is None or o[g] >= 1 for o in rows)
                cells.append(round(100 * sum(o[g] == 1 for o in rows) / len(rows), 2))
            per_view.append(sum(cells) / len(cells))
            assert per_view[-1] == pytest.approx(m["rank1_per_view"][pv])
        assert sum(per_view) / len(per_view) == pytest.approx(m["rank1"])


def test_schema_1_converts_with_a_note():
    v1 = {
        "schema": "gaitbench-results/1", "protocol": "casia-b", "model": "hstl",
        "dataset": "casia-b", "metric": "euc", "metrics": {"NM": {"rank1": 90.0}},
        "checkpoint": "/tmp/x/runs/hstl/checkpoints/last.pt",
    }  # fmt: skip
    v2 = upgrade_v1(v1, run="hstl-old")
    assert v2["schema"] == "gaitbench-results/2" and v2["run"] == "hstl-old"
    assert v2["data"] is None and v2["training"] is None and v2["per_probe"] is None
    assert v2["checkpoint"] == "last.pt" and "fingerprint" in v2["notes"][-1]


def test_the_wall_time_needs_segments_from_zero_without_a_gap():
    from gaitbench.training.runinfo import wall_seconds

    seg = lambda a, b, s: {"from": a, "to": b, "wall_seconds": s}  # noqa: E731
    assert wall_seconds({"segments": [seg(0, 2, 1.25), seg(2, 6, 2.0)]}) == 3.2  # 3.25, rounded
    assert wall_seconds({"segments": [seg(1800, 3200, 2896.8)]}) is None  # the start unrecorded
    assert wall_seconds({"segments": [seg(0, 2, 1.0), seg(4, 6, 1.0)]}) is None  # a gap
    assert wall_seconds({"segments": []}) is None and wall_seconds(None) is None
