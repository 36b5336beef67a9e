"""Layout readers on small generated trees, frame ordering, and the restricted unpickler."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest

from gaitbench.data.layouts import discover, frame_order, guess_layout
from gaitbench.data.pickles import load_array, loads_array
from gaitbench.errors import GaitbenchError


def _png(path: Path, value: int = 255) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.zeros((24, 16), np.uint8)
    img[4:20, 4:12] = value
    assert cv2.imwrite(str(path), img)


def test_frame_order_is_numeric():
    names = [Path(f"001-nm-01-090-{i}.png") for i in (10, 9, 100, 1)]
    assert [p.name for p in sorted(names, key=frame_order)] == [
        "001-nm-01-090-1.png",
        "001-nm-01-090-9.png",
        "001-nm-01-090-10.png",
        "001-nm-01-090-100.png",
    ]


def test_casia_b(tmp_path):
    for subject, cond, view in [
        ("001", "nm-01", "090"),
        ("001", "bg-02", "000"),
        ("002", "cl-01", "018"),
    ]:
        for i in (2, 10, 1):
            _png(tmp_path / subject / cond / view / f"{subject}-{cond}-{view}-{i}.png")
    (tmp_path / "001" / "nm-01" / "090" / "notes.txt").write_text("ignored")
    seqs = discover("casia-b", tmp_path)
    assert [s.key for s in seqs] == ["001__bg-02__000", "001__nm-01__090", "002__cl-01__018"]
    assert [f.name for f in seqs[1].files] == [
        "001-nm-01-090-1.png",
        "001-nm-01-090-2.png",
        "001-nm-01-090-10.png",
    ]


def test_oumvlp(tmp_path):
    for view, seq, subject in [
        ("000", "00", "00001"),
        ("015", "01", "00001"),
        ("000", "01", "00002"),
    ]:
        for i in (1, 2):
            _png(tmp_path / f"Silhouette_{view}-{seq}" / subject / f"{i:04d}.png")
    (tmp_path / "README").mkdir()
    seqs = discover("oumvlp", tmp_path)
    assert [s.key for s in seqs] == ["00001__00__000", "00001__01__015", "00002__01__000"]
    assert guess_layout(tmp_path) == "oumvlp"


def test_grew(tmp_path):
    _png(tmp_path / "train" / "00001" / "4XPn5Z28" / "00001.png")
    _png(tmp_path / "train" / "00001" / "4XPn5Z28" / "4XPn5Z28_gei.png")  # GEI: skipped
    (tmp_path / "train" / "00001" / "4XPn5Z28" / "00001_2d_pose.txt").write_text("0 0")
    _png(tmp_path / "test" / "gallery" / "00007" / "bbb" / "00001.png")
    _png(tmp_path / "test" / "gallery" / "00007" / "aaa" / "00001.png")
    _png(tmp_path / "test" / "probe" / "zzz" / "00003.png")
    seqs = discover("grew", tmp_path)
    assert [s.key for s in seqs] == [
        "00001train__00__4XPn5Z28",
        "00007__01__aaa",
        "00007__02__bbb",
        "probe__03__zzz",
    ]
    assert [f.name for f in seqs[0].files] == ["00001.png"]


def test_gait3d(tmp_path):
    _png(tmp_path / "2D_Silhouettes" / "0002" / "camid33_videoid2" / "seq0" / "human_crop_f11.png")
    _png(tmp_path / "2D_Silhouettes" / "0002" / "camid33_videoid2" / "seq0" / "human_crop_f9.png")
    seqs = discover("gait3d", tmp_path)
    assert [s.key for s in seqs] == ["0002__camid33_videoid2__seq0"]
    assert [f.name for f in seqs[0].files] == ["human_crop_f9.png", "human_crop_f11.png"]
    # RAW may also be the 2D_Silhouettes folder itself
    assert [s.key for s in discover("gait3d", tmp_path / "2D_Silhouettes")] == [seqs[0].key]


def test_opengait(tmp_path):
    folder = tmp_path / "001" / "nm-01" / "000"
    folder.mkdir(parents=True)
    arr = np.arange(2 * 64 * 64, dtype=np.uint8).reshape(2, 64, 64)
    (folder / "000.pkl").write_bytes(pickle.dumps(arr))
    (folder / "ratios.pkl").write_bytes(pickle.dumps(np.ones(2)))
    seqs = discover("opengait", tmp_path)
    assert [s.key for s in seqs] == ["001__nm-01__000"]
    assert [f.name for f in seqs[0].files] == ["000.pkl"]
    np.testing.assert_array_equal(load_array(seqs[0].files[0]), arr)


def test_bad_raw_folders(tmp_path):
    with pytest.raises(GaitbenchError, match="not found"):
        discover("casia-b", tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(GaitbenchError, match="is empty"):
        discover("casia-b", empty)
    _png(tmp_path / "ou" / "Silhouette_000-00" / "00001" / "0001.png")
    with pytest.raises(GaitbenchError, match="matches no casia-b layout.*looks like a oumvlp"):
        discover("casia-b", tmp_path / "ou")
    with pytest.raises(GaitbenchError, match="unknown layout"):
        discover("casiab", tmp_path / "ou")


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_unpickler_reads_arrays(protocol):
    for arr in (np.arange(12, dtype=np.uint8).reshape(3, 4), np.ones((2, 2), np.float32)[:, ::-1]):
        out = loads_array(pickle.dumps(arr, protocol=protocol))
        np.testing.assert_array_equal(out, arr)
        assert out.dtype == arr.dtype


class _Evil:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_unpickler_refuses_code(tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "000.pkl"
    bad.write_bytes(pickle.dumps(_Evil(str(marker))))
    with pytest.raises(GaitbenchError, match=r"posix\.mkdir.*refused and not executed"):
        load_array(bad)
    assert not marker.exists()  # the payload never ran
    # sanity check of the test itself: the plain unpickler would have run it
    pickle.loads(bad.read_bytes())
    assert marker.exists()


def test_unpickler_refuses_non_arrays(tmp_path):
    path = tmp_path / "x.pkl"
    path.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(GaitbenchError, match="dict instead of a numpy array"):
        load_array(path)
    path.write_bytes(pickle.dumps(np.array([object(), 1], dtype=object)))
    with pytest.raises(GaitbenchError, match="refused"):
        load_array(path)
    path.write_bytes(pickle.dumps(np.zeros(4, np.uint8))[:-7])
    with pytest.raises(GaitbenchError, match="not a readable pickle"):
        load_array(path)
