"""`gaitbench prep` / `info` / `export` end to end on the fixture and on generated trees."""

from __future__ import annotations

import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from gaitbench.cli import app
from gaitbench.data.export import export_store, store_info
from gaitbench.data.prep import prep
from gaitbench.data.store import Store
from gaitbench.errors import GaitbenchError

FIXTURE = Path(__file__).parent / "fixtures" / "align"
runner = CliRunner()


def _walker(t: int, shift: int = 0) -> np.ndarray:
    """A crude 240x320 silhouette: body ellipse plus swinging legs."""
    img = np.zeros((240, 320), np.uint8)
    cx = 100 + 6 * t + shift
    cv2.ellipse(img, (cx, 90), (18, 45), 0, 0, 360, 255, -1)
    cv2.circle(img, (cx, 35), 12, 255, -1)
    swing = int(15 * np.sin(t / 2))
    cv2.line(img, (cx, 130), (cx + swing, 210), 255, 9)
    cv2.line(img, (cx, 130), (cx - swing, 210), 255, 9)
    return img


def _casia_tree(
    root: Path,
    subjects=("001", "002"),
    conds=("nm-01", "bg-01"),
    views=("000", "090"),
    frames: int = 6,
) -> Path:
    for s in subjects:
        for c in conds:
            for v in views:
                folder = root / s / c / v
                folder.mkdir(parents=True)
                for t in range(1, frames + 1):
                    img = _walker(t, shift=int(s) * 3 + int(v) // 10)
                    cv2.imwrite(str(folder / f"{s}-{c}-{v}-{t:03d}.png"), img)
    return root


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_fixture_through_cli_matches_reference(tmp_path):
    store, npz = tmp_path / "casia-b-64.h5", tmp_path / "out.npz"
    res = runner.invoke(
        app, ["prep", "casia-b", str(FIXTURE / "raw"), "--out", str(store), "--workers", "2"]
    )
    assert res.exit_code == 0, res.output
    assert "frames kept" in res.output
    res = runner.invoke(app, ["export", str(store), str(npz)])
    assert res.exit_code == 0, res.output
    got, expected = np.load(npz), np.load(FIXTURE / "expected_64x64.npz")
    assert sorted(got.files) == sorted(expected.files)
    for key in expected.files:
        assert got[key].shape == expected[key].shape
        assert got[key].tobytes() == expected[key].tobytes()


def test_summary_counts_and_worker_count_invariance(tmp_path):
    raw = _casia_tree(tmp_path / "raw")
    blank = raw / "002" / "nm-01" / "000" / "002-nm-01-000-003.png"
    cv2.imwrite(str(blank), np.zeros((240, 320), np.uint8))  # dropped by the pixel-sum rule
    one = prep("casia-b", raw, tmp_path / "w1.h5", workers=1)
    two = prep("casia-b", raw, tmp_path / "w2.h5", workers=2)
    assert one.sequences == two.sequences == 8
    assert one.raw_frames == 48 and one.frames_dropped == 1 and one.frames_kept == 47
    assert (one.unreadable_frames, one.empty_sequences, one.short_sequences) == (0, 0, 0)
    a, b = Store(tmp_path / "w1.h5"), Store(tmp_path / "w2.h5")
    assert a.index.equals(b.index)
    for i in range(len(a)):
        assert a.read(i).tobytes() == b.read(i).tobytes()
    assert a.attrs["dataset"] == "casia-b" and a.attrs["size"] == 64
    # re-prepping the same data (another file, another time) gives the same fingerprint
    assert a.attrs["kind"] == "real" and a.attrs["fingerprint"] == b.attrs["fingerprint"]
    info = store_info(a)
    assert (info.subjects, info.sequences, info.frames) == (2, 8, 47)
    assert info.per_condition.loc["nm-01", "000"] == 2


def test_size_128(tmp_path):
    raw = _casia_tree(tmp_path / "raw", subjects=("001",), conds=("nm-01",), views=("000",))
    prep("casia-b", raw, tmp_path / "s.h5", size=128, workers=1)
    store = Store(tmp_path / "s.h5")
    assert store.size == 128 and store.read(0).shape == (6, 128, 128)


def test_corrupt_png_is_skipped_and_counted(tmp_path):
    raw = _casia_tree(tmp_path / "raw", subjects=("001",), views=("000",))
    folder = raw / "001" / "nm-01" / "000"
    (folder / "001-nm-01-000-007.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    (folder / "001-nm-01-000-008.png").write_bytes(b"")
    res = runner.invoke(
        app, ["prep", "casia-b", str(raw), "--out", str(tmp_path / "s.h5"), "--workers", "1"]
    )
    assert res.exit_code == 0, res.output
    assert "unreadable or corrupt PNG, skipped" in res.output
    assert "001-nm-01-000-007.png" in res.output
    summary = prep("casia-b", raw, tmp_path / "t.h5", workers=1)
    assert summary.unreadable_frames == 2 and summary.frames_kept == 12


def test_sequence_with_no_valid_frame_is_left_out(tmp_path):
    raw = _casia_tree(tmp_path / "raw", subjects=("001",), conds=("nm-01",), views=("000",))
    empty = raw / "001" / "cl-01" / "000"
    empty.mkdir(parents=True)
    short = raw / "001" / "bg-01" / "000"
    short.mkdir(parents=True)
    for t in range(1, 4):
        cv2.imwrite(str(empty / f"001-cl-01-000-{t:03d}.png"), np.zeros((240, 320), np.uint8))
        cv2.imwrite(str(short / f"001-bg-01-000-{t:03d}.png"), _walker(t))
    summary = prep("casia-b", raw, tmp_path / "s.h5", workers=1)
    assert summary.empty_sequences == 1 and summary.short_sequences == 1
    assert summary.examples["empty"] == ["001/cl-01/000"]
    store = Store(tmp_path / "s.h5")
    assert sorted(store.index["condition"]) == ["bg-01", "nm-01"]


def test_no_valid_sequence_at_all_is_an_error(tmp_path):
    folder = tmp_path / "raw" / "001" / "nm-01" / "000"
    folder.mkdir(parents=True)
    cv2.imwrite(str(folder / "001-nm-01-000-001.png"), np.zeros((240, 320), np.uint8))
    with pytest.raises(GaitbenchError, match="no sequence .* has a valid frame"):
        prep("casia-b", tmp_path / "raw", tmp_path / "s.h5", workers=1)
    assert not (tmp_path / "s.h5").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["raw"]


def test_cli_bad_inputs_exit_1_with_one_line(tmp_path):
    cases = [
        (["prep", "casia-b", str(tmp_path / "missing")], "not found"),
        (["prep", "nope", str(tmp_path)], "unknown dataset"),
        (["prep", "casia-b", str(FIXTURE / "raw"), "--size", "100"], "--size 100"),
        (["info", str(tmp_path / "missing.h5")], "not found"),
    ]
    (tmp_path / "empty").mkdir()
    cases.append((["prep", "casia-b", str(tmp_path / "empty")], "is empty"))
    for args, message in cases:
        res = runner.invoke(
            app, [*args, "--out", str(tmp_path / "s.h5")] if args[0] == "prep" else args
        )
        assert res.exit_code == 1, (args, res.output)
        lines = [line for line in res.output.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error:"), lines  # no bar left above it
        assert message in res.output
    assert not (tmp_path / "s.h5").exists()


def test_existing_store_needs_force(tmp_path):
    out = tmp_path / "s.h5"
    assert (
        runner.invoke(
            app, ["prep", "casia-b", str(FIXTURE / "raw"), "--out", str(out), "--workers", "1"]
        ).exit_code
        == 0
    )
    before = out.stat().st_mtime_ns
    res = runner.invoke(app, ["prep", "casia-b", str(FIXTURE / "raw"), "--out", str(out)])
    assert res.exit_code == 1 and "--force" in res.output
    assert out.stat().st_mtime_ns == before
    res = runner.invoke(
        app,
        ["prep", "casia-b", str(FIXTURE / "raw"), "--out", str(out), "--force", "--workers", "1"],
    )
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("workers", [1, 2])
def test_interrupted_prep_leaves_nothing(tmp_path, workers):
    raw = _casia_tree(tmp_path / "raw")
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    def interrupt(done: int, total: int) -> None:
        if done == 3:  # Ctrl-C in the middle of writing
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        prep("casia-b", raw, out_dir / "s.h5", workers=workers, progress=interrupt)
    assert list(out_dir.iterdir()) == []


def test_default_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("GAITBENCH_DATA", str(tmp_path / "data"))
    _casia_tree(tmp_path / "data" / "raw" / "casia-b", subjects=("001",), views=("000",))
    res = runner.invoke(app, ["prep", "casia-b", "--workers", "1"])
    assert res.exit_code == 0, res.output
    assert len(Store(tmp_path / "data" / "casia-b-64.h5")) == 2


def test_opengait_export_and_reimport(tmp_path):
    raw = _casia_tree(tmp_path / "raw", subjects=("001",), views=("000", "018"))
    prep("casia-b", raw, tmp_path / "a.h5", workers=1)
    export_store(tmp_path / "a.h5", tmp_path / "pkl", "opengait")
    pkl = tmp_path / "pkl" / "001" / "nm-01" / "018" / "018.pkl"
    assert pickle.loads(pkl.read_bytes()).shape == (6, 64, 64)
    res = runner.invoke(
        app,
        [
            "prep",
            "casia-b",
            str(tmp_path / "pkl"),
            "--layout",
            "opengait",
            "--out",
            str(tmp_path / "b.h5"),
            "--workers",
            "1",
        ],
    )
    assert res.exit_code == 0, res.output
    a, b = Store(tmp_path / "a.h5"), Store(tmp_path / "b.h5")
    assert a.index.equals(b.index)
    assert all(np.array_equal(a.read(i), b.read(i)) for i in range(len(a)))
    with pytest.raises(GaitbenchError, match="already exists"):
        export_store(tmp_path / "a.h5", tmp_path / "pkl", "opengait")
    with pytest.raises(GaitbenchError, match="expected uint8"):
        prep("casia-b", tmp_path / "pkl", tmp_path / "c.h5", size=128, layout="opengait", workers=1)


def test_grew_frames_are_stored_unchanged(tmp_path):
    rng = np.random.default_rng(0)
    frames = (rng.random((3, 64, 64)) > 0.7).astype(np.uint8) * 255
    for t, frame in enumerate(frames):
        path = tmp_path / "raw" / "train" / "00001" / "abcd1234" / f"{t + 1:05d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), frame)
    prep("grew", tmp_path / "raw", tmp_path / "g.h5", workers=1)
    store = Store(tmp_path / "g.h5")
    assert store.index.iloc[0][["subject", "condition", "view"]].tolist() == [
        "00001train",
        "00",
        "abcd1234",
    ]
    np.testing.assert_array_equal(store.read(0), frames)
    with pytest.raises(GaitbenchError, match="stored unchanged"):
        prep("grew", tmp_path / "raw", tmp_path / "h.h5", size=128, workers=1)


def test_oumvlp_and_gait3d_prep(tmp_path):
    for t in range(1, 5):
        for folder in (
            tmp_path / "ou" / "Silhouette_030-01" / "00002",
            tmp_path / "g3" / "2D_Silhouettes" / "0002" / "camid0_videoid2" / "seq0",
        ):
            folder.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(folder / f"{t:04d}.png"), _walker(t))
    prep("oumvlp", tmp_path / "ou", tmp_path / "o.h5", workers=1)
    prep("gait3d", tmp_path / "g3", tmp_path / "g.h5", workers=1)
    assert Store(tmp_path / "o.h5").index.iloc[0][["subject", "condition", "view"]].tolist() == [
        "00002",
        "01",
        "030",
    ]
    assert Store(tmp_path / "g.h5").index.iloc[0][["subject", "condition", "view"]].tolist() == [
        "0002",
        "camid0_videoid2",
        "seq0",
    ]


def test_info_cli(tmp_path):
    store = tmp_path / "s.h5"
    prep("casia-b", FIXTURE / "raw", store, workers=1)
    res = runner.invoke(app, ["info", str(store)])
    assert res.exit_code == 0, res.output
    assert (
        "gaitbench-store" in res.output
        and "nm-03" in res.output
        and "frames per sequence" in res.output
    )
