"""The HDF5 store: round trip, atomic writes, lazy per-process handles, consistency checks."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

from gaitbench.data.store import FORMAT, VERSION, Store, StoreWriter
from gaitbench.errors import GaitbenchError


def _sequences(
    n: int = 12, size: int = 64, seed: int = 0
) -> list[tuple[str, str, str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        frames = rng.integers(0, 256, (int(rng.integers(1, 40)), size, size), dtype=np.uint8)
        out.append((f"{i % 5:03d}", f"nm-0{i % 3 + 1}", f"{(i * 18) % 180:03d}", frames))
    return out


def _write(path, seqs, **kw) -> None:
    kw.setdefault("dataset", "casia-b")
    kw.setdefault("size", seqs[0][3].shape[1] if seqs else 64)
    kw.setdefault("source", "test")
    with StoreWriter(path, **kw) as w:
        for s in seqs:
            w.add(*s)


def test_round_trip(tmp_path):
    seqs = _sequences()
    path = tmp_path / "s.h5"
    _write(path, seqs, partition={"train": ["000", "001"], "test": ["002", "003", "004"]})
    store = Store(path)
    assert len(store) == len(seqs)
    assert store.dataset == "casia-b" and store.size == 64
    assert store.attrs["format"] == FORMAT and store.attrs["version"] == VERSION
    assert store.attrs["sequences"] == len(seqs)
    assert store.attrs["frames"] == sum(len(s[3]) for s in seqs)
    assert store.partition == {"train": ["000", "001"], "test": ["002", "003", "004"]}
    assert store.subjects() == ["000", "001", "002", "003", "004"]
    assert list(store.index.columns) == ["subject", "condition", "view", "offset", "length"]
    for i, (subject, cond, view, frames) in enumerate(seqs):
        row = store.index.iloc[i]
        assert (row.subject, row.condition, row.view) == (subject, cond, view)
        assert row.length == len(frames)
        assert isinstance(row.subject, str)
        np.testing.assert_array_equal(store.read(i), frames)
    np.testing.assert_array_equal(store.read(-1), seqs[-1][3])
    with pytest.raises(IndexError):
        store.read(len(seqs))


def test_in_memory_equals_file(tmp_path):
    seqs = _sequences(size=32)
    path = tmp_path / "s.h5"
    _write(path, seqs)
    disk, mem = Store(path), Store(path, in_memory=True)
    assert mem.in_memory and not disk.in_memory
    for i in range(len(seqs)):
        np.testing.assert_array_equal(mem.read(i), disk.read(i))


def test_no_partition_attribute(tmp_path):
    _write(tmp_path / "s.h5", _sequences(3))
    assert Store(tmp_path / "s.h5").partition is None


def test_existing_store_needs_force(tmp_path):
    path = tmp_path / "s.h5"
    _write(path, _sequences(2))
    with pytest.raises(GaitbenchError, match="--force"):
        StoreWriter(path, dataset="casia-b", size=64, source="t")
    _write(path, _sequences(5, seed=1), force=True)
    assert len(Store(path)) == 5


def test_exception_mid_write_leaves_nothing(tmp_path):
    path = tmp_path / "s.h5"
    seqs = _sequences(6)
    with pytest.raises(RuntimeError, match="boom"):
        with StoreWriter(path, dataset="casia-b", size=64, source="t") as w:
            for i, s in enumerate(seqs):
                w.add(*s)
                if i == 3:
                    raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_failed_force_rewrite_keeps_old_store(tmp_path):
    path = tmp_path / "s.h5"
    _write(path, _sequences(2))
    with pytest.raises(RuntimeError):
        with StoreWriter(path, dataset="casia-b", size=64, source="t", force=True) as w:
            w.add(*_sequences(1)[0])
            raise RuntimeError("interrupted")
    assert len(Store(path)) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.h5"]


def test_add_validates_frames(tmp_path):
    with StoreWriter(tmp_path / "s.h5", dataset="x", size=64, source="t") as w:
        with pytest.raises(ValueError):
            w.add("1", "a", "0", np.zeros((3, 64, 44), np.uint8))
        with pytest.raises(ValueError):
            w.add("1", "a", "0", np.zeros((0, 64, 64), np.uint8))
        with pytest.raises(ValueError):
            w.add("1", "a", "0", np.zeros((2, 64, 64), np.float32))
        w.add("1", "a", "0", np.zeros((2, 64, 64), np.uint8))
    assert len(Store(tmp_path / "s.h5")) == 1


def test_truncated_store_is_refused(tmp_path):
    path = tmp_path / "s.h5"
    _write(path, _sequences(20))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(GaitbenchError, match="truncated or not a gaitbench store"):
        store = Store(path)
        for i in range(len(store)):  # if the header survived, reading the data must fail clearly
            store.read(i)


def test_foreign_files_are_refused(tmp_path):
    text = tmp_path / "notes.h5"
    text.write_text("hello")
    with pytest.raises(GaitbenchError, match="not a readable HDF5"):
        Store(text)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(GaitbenchError, match="format attribute"):
        Store(other)
    with pytest.raises(GaitbenchError, match="not found"):
        Store(tmp_path / "missing.h5")


def test_newer_version_is_refused(tmp_path):
    path = tmp_path / "s.h5"
    _write(path, _sequences(2))
    with h5py.File(path, "a") as f:
        f.attrs["version"] = VERSION + 1
    with pytest.raises(GaitbenchError, match="format version"):
        Store(path)


def test_offsets_out_of_bounds_are_refused(tmp_path):
    path = tmp_path / "s.h5"
    _write(path, _sequences(4))
    with h5py.File(path, "a") as f:
        f["index/offset"][3] = 10_000
    with pytest.raises(GaitbenchError, match="out of bounds"):
        Store(path)


def test_counts_are_checked(tmp_path):
    path = tmp_path / "s.h5"
    _write(path, _sequences(4))
    with h5py.File(path, "a") as f:
        f.attrs["sequences"] = 5
    with pytest.raises(GaitbenchError, match="rows, expected 5"):
        Store(path)


def _child_read(store: Store, queue) -> None:
    queue.put((store._pid == os.getpid(), store.read(1).sum(), store._pid == os.getpid()))


def test_handle_reopens_after_fork(tmp_path):
    path = tmp_path / "s.h5"
    seqs = _sequences(3)
    _write(path, seqs)
    store = Store(path)
    store.read(0)  # parent handle open
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child_read, args=(store, queue))
    proc.start()
    before, total, after = queue.get(timeout=30)
    proc.join(30)
    assert (before, after) == (False, True)
    assert total == seqs[1][3].sum()
    # a pickled store (spawned workers) carries no handle
    import pickle

    clone = pickle.loads(pickle.dumps(store))
    assert clone._handle is None
    np.testing.assert_array_equal(clone.read(2), seqs[2][3])


def test_disk_full_gives_one_line_and_no_file(tmp_path):
    # A file-size limit makes writes fail with EFBIG, as a full disk does with ENOSPC.
    script = textwrap.dedent(
        f"""
        import resource, signal, numpy as np
        from gaitbench.data.store import StoreWriter
        from gaitbench.errors import GaitbenchError
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
        rng = np.random.default_rng(0)
        try:
            with StoreWriter({str(tmp_path / "s.h5")!r}, dataset="x", size=64, source="t") as w:
                for i in range(60):
                    w.add(str(i), "a", "0", rng.integers(0, 256, (100, 64, 64), dtype=np.uint8))
        except GaitbenchError as exc:
            print("ERR", exc)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr  # no crash in HDF5 after the failed write
    assert "ERR could not write store" in out.stdout, out.stdout + out.stderr
    assert len(out.stdout.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_partition_attribute_is_json(tmp_path):
    path = tmp_path / "s.h5"
    _write(path, _sequences(2), partition={"train": ["000"], "test": ["001"]})
    with h5py.File(path, "r") as f:
        assert json.loads(f.attrs["partition"]) == {"train": ["000"], "test": ["001"]}
