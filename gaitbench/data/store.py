"""The gaitbench store: one HDF5 file per dataset and resolution holding aligned silhouettes.

Format ``gaitbench-store``, version 1::

    /frames                 uint8 [total_frames, size, size], chunked and gzip-compressed; the
                            frames of all sequences back to back, each sequence contiguous
    /index/offset           int64 [sequences]  first row of the sequence in /frames
    /index/length           int64 [sequences]  number of frames (>= 1)
    /index/subject          int32 [sequences]  code into /index/subject_names
    /index/condition        int32 [sequences]  code into /index/condition_names
    /index/view             int32 [sequences]  code into /index/view_names
    /index/<col>_names      UTF-8 bytes [distinct values], the strings behind the codes

    file attributes: format, version, dataset, size, gaitbench_version, source, created (ISO 8601,
    UTC), sequences, frames, fingerprint, kind (``real`` or ``synthetic``), optionally partition
    (JSON ``{"train": [...], "test": [...]}``) and, for synthetic stores, generator (JSON: the
    renderer's parameters and version).

The fingerprint (`fingerprint`) is a content hash of the stored frames and the index, computed
once when the store is written: re-prepping the same data gives the same fingerprint (the creation
time, gaitbench version, source path and file name do not enter it), so a results file names the
exact data it was computed on. Stores written before the fingerprint existed get it computed on
demand (`provenance`), a few seconds for CASIA-B.

Reading a sequence is one slice ``frames[offset : offset + length]``. The string columns are
stored as codes into small name tables so that opening a store with OU-MVLP's ~270k sequences reads
a handful of flat arrays, with no per-row Python work.

The writer fills a temporary sibling and renames it onto the target only when everything has been
written, so an interrupted or failed write never leaves a partial store. The reader checks the
format, version, shapes, counts and offset bounds on open, opens its h5py handle lazily once per
process (h5py handles do not survive a fork into DataLoader workers) and can load the whole frame
array into memory.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

from gaitbench import __version__
from gaitbench.errors import GaitbenchError
from gaitbench.paths import atomic_target

FORMAT = "gaitbench-store"
VERSION = 1
KINDS = ("real", "synthetic")

INDEX_COLUMNS = ("subject", "condition", "view")
# 8 frames of 64x64 per 32 KiB chunk: a random sequence read decompresses at most 14 frames it
# doesn't need. gzip level 1 reads ~25 % faster than level 4 for ~20 % more bytes (measured on
# aligned silhouettes: 390 vs 327 bytes a frame, a tenth of an OpenGait pkl).
CHUNK_BYTES = 32 * 1024
COMPRESSION = "gzip"
COMPRESSION_LEVEL = 1
# Frames buffered in memory before they are appended to /frames.
_FLUSH_FRAMES = 4096


def _chunk_frames(size: int) -> int:
    return max(1, CHUNK_BYTES // (size * size))


class StoreWriter:
    """Writes a store atomically: ``with StoreWriter(path, ...) as w: w.add(...)``.

    The file appears at ``path`` only when the ``with`` block ends without an exception.
    An existing store is refused unless ``force=True``; with ``force`` the old file stays in place
    until the new one is complete.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        dataset: str,
        size: int,
        source: str,
        force: bool = False,
        partition: dict | None = None,
        kind: str = "real",
        generator: dict | None = None,
    ) -> None:
        self.path = Path(path)
        if self.path.exists() and not force:
            raise GaitbenchError(f"store {self.path} already exists: pass --force to overwrite it")
        if self.path.is_dir():
            raise GaitbenchError(f"store path {self.path} is a directory: give a file name (.h5)")
        if size <= 0:
            raise GaitbenchError(f"store size must be positive, got {size}")
        self.dataset, self.size, self.source = dataset, int(size), str(source)
        self.partition = partition
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        self.kind, self.generator = kind, generator
        self._tmp = atomic_target(self.path)
        self._file: h5py.File | None = None
        self._frames: h5py.Dataset | None = None
        self._buffer: list[np.ndarray] = []
        self._buffered = 0
        self._written = 0
        self._offsets: list[int] = []
        self._lengths: list[int] = []
        self._columns: dict[str, list[str]] = {c: [] for c in INDEX_COLUMNS}

    # -- context manager ---------------------------------------------------------------------
    def __enter__(self) -> StoreWriter:
        self.open()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def open(self) -> None:
        """Create the temporary file (called by ``__enter__``)."""
        if not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        chunk = _chunk_frames(self.size)
        try:
            # No chunk cache: every flush writes whole compressed chunks straight to disk. With a
            # cache, HDF5 holds dirty chunks that it cannot write when the disk is full and then
            # crashes (segfault) on close; without one, the failure surfaces as an exception.
            self._file = h5py.File(self._tmp, "w", rdcc_nbytes=0)
            self._frames = self._file.create_dataset(
                "frames",
                shape=(0, self.size, self.size),
                maxshape=(None, self.size, self.size),
                dtype=np.uint8,
                chunks=(chunk, self.size, self.size),
                compression=COMPRESSION,
                compression_opts=COMPRESSION_LEVEL,
            )
        except OSError as exc:
            self.abort()
            raise GaitbenchError(
                f"cannot create store {self.path} ({_reason(exc)}): check the folder is writable"
            ) from None

    # -- writing -----------------------------------------------------------------------------
    def add(self, subject: str, condition: str, view: str, frames: np.ndarray) -> None:
        """Append one sequence: frames uint8 ``[T, size, size]``, T >= 1."""
        if self._file is None:
            raise RuntimeError("StoreWriter.add outside its `with` block")
        frames = np.asarray(frames)
        expected = (self.size, self.size)
        if frames.dtype != np.uint8 or frames.ndim != 3 or frames.shape[1:] != expected:
            raise ValueError(
                f"frames must be uint8 [T, {self.size}, {self.size}], got {frames.dtype} "
                f"{tuple(frames.shape)}"
            )
        if frames.shape[0] < 1:
            raise ValueError(f"sequence {subject}/{condition}/{view} has no frames")
        self._offsets.append(self._written + self._buffered)
        self._lengths.append(int(frames.shape[0]))
        for col, value in zip(INDEX_COLUMNS, (subject, condition, view)):
            self._columns[col].append(str(value))
        self._buffer.append(frames)
        self._buffered += frames.shape[0]
        if self._buffered >= _FLUSH_FRAMES:
            self._flush()

    def _flush(self, final: bool = False) -> None:
        """Append buffered frames; until the final flush, only whole chunks (the rest waits)."""
        if not self._buffered:
            return
        block = np.concatenate(self._buffer) if len(self._buffer) > 1 else self._buffer[0]
        chunk = self._frames.chunks[0]
        n = len(block) if final else len(block) // chunk * chunk
        try:
            self._frames.resize(self._written + n, axis=0)
            self._frames[self._written :] = block[:n]
        except (OSError, RuntimeError) as exc:
            self.abort()
            raise GaitbenchError(_write_failed(self.path, exc)) from None
        self._written += n
        rest = block[n:]
        self._buffer, self._buffered = ([rest] if len(rest) else []), len(rest)

    def close(self) -> None:
        """Write the index and attributes, then rename the temporary file onto the target."""
        if self._file is None:
            return
        self._flush(final=True)
        try:
            self._write_index()
            self._file.close()
            self._file = None
            os.replace(self._tmp, self.path)
        except (OSError, RuntimeError) as exc:
            self.abort()
            raise GaitbenchError(_write_failed(self.path, exc)) from None

    def abort(self) -> None:
        """Drop everything written so far; the target path is left untouched."""
        if self._file is not None:
            try:
                self._file.close()
            except Exception:  # already broken (e.g. disk full); the file is deleted anyway
                pass
            self._file = None
        self._tmp.unlink(missing_ok=True)

    def _write_index(self) -> None:
        f = self._file
        idx = f.create_group("index")
        idx.create_dataset("offset", data=np.asarray(self._offsets, dtype=np.int64))
        idx.create_dataset("length", data=np.asarray(self._lengths, dtype=np.int64))
        for col in INDEX_COLUMNS:
            codes, names = pd.factorize(pd.Series(self._columns[col], dtype=object), sort=True)
            encoded = [n.encode("utf-8") for n in names]
            encoded = np.array(encoded or [b""], dtype=bytes)[: len(names)]
            idx.create_dataset(col, data=codes.astype(np.int32))
            idx.create_dataset(f"{col}_names", data=encoded)
        attrs = {
            "format": FORMAT,
            "version": VERSION,
            "dataset": self.dataset,
            "size": self.size,
            "gaitbench_version": __version__,
            "source": self.source,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "sequences": len(self._lengths),
            "frames": self._written,
        }
        if self.partition is not None:
            attrs["partition"] = json.dumps(self.partition)
        attrs["kind"] = self.kind
        if self.generator is not None:
            attrs["generator"] = json.dumps(self.generator, sort_keys=True)
        attrs["fingerprint"] = fingerprint(f)
        f.attrs.update(attrs)


class Store:
    """Random access to a store's sequences: ``store.read(i)`` for row ``i`` of ``store.index``.

    ``index`` is a DataFrame with one row per sequence (subject, condition, view, offset, length).
    The h5py handle is opened lazily in each process, so a Store can be handed to DataLoader
    workers; ``in_memory=True`` reads all frames into RAM once instead.
    """

    def __init__(self, path: str | os.PathLike, in_memory: bool = False) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise GaitbenchError(
                f"store {self.path} not found: run `gaitbench prep` (or `gaitbench synth`) first"
            )
        if self.path.is_dir():
            raise GaitbenchError(f"store {self.path} is a directory: give the .h5 file inside it")
        self._handle: h5py.File | None = None
        self._pid: int | None = None
        self._memory: np.ndarray | None = None
        f = self._file()
        try:
            self.attrs: dict[str, Any] = {k: _plain(v) for k, v in f.attrs.items()}
            self._check_header(f)
            self.index = self._read_index(f)
        except BaseException:
            self.close()
            raise
        self.dataset: str = str(self.attrs["dataset"])
        self.size: int = int(self.attrs["size"])
        self._offsets = self.index["offset"].to_numpy()
        self._lengths = self.index["length"].to_numpy()
        raw_partition = self.attrs.get("partition")
        self.partition: dict | None = json.loads(raw_partition) if raw_partition else None
        if in_memory:
            try:
                self._memory = f["frames"][()]
            except OSError as exc:
                raise GaitbenchError(self._corrupt(f"frames unreadable, {_reason(exc)}")) from None

    # -- opening and checking -----------------------------------------------------------------
    def _file(self) -> h5py.File:
        """This process's h5py handle; reopened after a fork (the parent's is not usable)."""
        if self._handle is None or self._pid != os.getpid():
            try:
                self._handle = h5py.File(self.path, "r")
            except OSError as exc:
                reason = f"not a readable HDF5 file, {_reason(exc)}"
                raise GaitbenchError(self._corrupt(reason)) from None
            self._pid = os.getpid()
        return self._handle

    def _corrupt(self, what: str) -> str:
        return (
            f"store {self.path} is truncated or not a gaitbench store ({what}): "
            "re-create it with `gaitbench prep --force`"
        )

    def _check_header(self, f: h5py.File) -> None:
        fmt = self.attrs.get("format")
        if fmt != FORMAT:
            raise GaitbenchError(self._corrupt(f"format attribute {fmt!r}, expected {FORMAT!r}"))
        version = self.attrs.get("version")
        if version != VERSION:
            raise GaitbenchError(
                f"store {self.path} has format version {version}, this gaitbench reads version "
                f"{VERSION}: re-create it with `gaitbench prep --force` or use a matching gaitbench"
            )
        for key in ("dataset", "size", "sequences", "frames"):
            if key not in self.attrs:
                raise GaitbenchError(self._corrupt(f"attribute {key!r} missing"))
        needed = ["frames", "index/offset", "index/length"]
        needed += [f"index/{c}{s}" for c in INDEX_COLUMNS for s in ("", "_names")]
        for name in needed:
            if name not in f:
                raise GaitbenchError(self._corrupt(f"dataset {name!r} missing"))
        size, total = int(self.attrs["size"]), int(self.attrs["frames"])
        frames = f["frames"]
        if frames.dtype != np.uint8 or frames.shape != (total, size, size):
            found = f"frames {frames.dtype} {frames.shape}, expected uint8 {(total, size, size)}"
            raise GaitbenchError(self._corrupt(found))

    def _read_index(self, f: h5py.File) -> pd.DataFrame:
        n = int(self.attrs["sequences"])
        try:
            offset = f["index/offset"][()].astype(np.int64)
            length = f["index/length"][()].astype(np.int64)
            columns = {}
            for col in INDEX_COLUMNS:
                codes = f[f"index/{col}"][()]
                names = f[f"index/{col}_names"][()]
                if len(codes) != n:
                    found = f"index/{col} has {len(codes)} rows, expected {n}"
                    raise GaitbenchError(self._corrupt(found))
                if n and (codes.min() < 0 or codes.max() >= len(names)):
                    raise GaitbenchError(self._corrupt(f"index/{col} codes out of range"))
                # Decode the few distinct names once; fancy indexing then shares those str objects.
                decoded = np.array([b.decode("utf-8") for b in names] or [""], dtype=object)
                columns[col] = decoded[codes] if n else np.zeros(0, dtype=object)
        except OSError as exc:
            raise GaitbenchError(self._corrupt(f"index unreadable, {_reason(exc)}")) from None
        if len(offset) != n or len(length) != n:
            found = f"index has {len(offset)}/{len(length)} rows, expected {n}"
            raise GaitbenchError(self._corrupt(found))
        total = int(self.attrs["frames"])
        if n and (length.min() < 1 or offset.min() < 0 or (offset + length).max() > total):
            raise GaitbenchError(self._corrupt("sequence offsets or lengths out of bounds"))
        if int(length.sum()) != total:
            found = f"lengths sum to {int(length.sum())}, expected {total} frames"
            raise GaitbenchError(self._corrupt(found))
        columns["offset"], columns["length"] = offset, length
        return pd.DataFrame(columns)

    # -- reading -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._lengths)

    def read(self, i: int) -> np.ndarray:
        """Frames of sequence ``i``: uint8 ``[T, size, size]`` (one contiguous slice)."""
        n = len(self._lengths)
        if not -n <= i < n:
            raise IndexError(f"sequence {i} out of range for a store of {n} sequences")
        start = int(self._offsets[i])
        stop = start + int(self._lengths[i])
        if self._memory is not None:
            return self._memory[start:stop]
        try:
            return self._file()["frames"][start:stop]
        except OSError as exc:
            found = f"sequence {i} unreadable, {_reason(exc)}"
            raise GaitbenchError(self._corrupt(found)) from None

    def subjects(self) -> list[str]:
        """Sorted unique subject ids."""
        return sorted(self.index["subject"].unique().tolist())

    @property
    def in_memory(self) -> bool:
        return self._memory is not None

    def close(self) -> None:
        if self._handle is not None and self._pid == os.getpid():
            self._handle.close()
        self._handle, self._pid = None, None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __getstate__(self) -> dict:
        # A pickled Store (spawned DataLoader workers) reopens its own handle on first read.
        state = self.__dict__.copy()
        state["_handle"], state["_pid"] = None, None
        return state

    def __repr__(self) -> str:
        return (
            f"Store({str(self.path)!r}, dataset={self.dataset!r}, size={self.size}, "
            f"sequences={len(self)})"
        )


def fingerprint(f: h5py.File, progress: Callable[[int, int], None] | None = None) -> str:
    """Content hash of a store's frames and index: ``"sha256:"`` and 16 hex digits.

    The frames enter as their stored (compressed) chunks, read without decompressing them: 460
    MiB of CASIA-B hash in ~3 s, where decompressing its 4.6 GB of frames takes over a minute.
    The store format fixes the chunk shape and the gzip level, and a chunk is written once with
    all its frames, so the same frames in the same order give the same bytes. ``progress(done,
    total)`` is called with chunk counts.
    """
    h = hashlib.sha256(b"gaitbench-store-fingerprint/1")
    frames = f["frames"]
    h.update(np.asarray(frames.shape, dtype="<i8").tobytes())
    step = frames.chunks[0] if frames.chunks else max(1, frames.shape[0])
    total = frames.shape[0]
    n_chunks = -(-total // step)
    for k, start in enumerate(range(0, total, step), start=1):
        if frames.chunks:
            _, data = frames.id.read_direct_chunk((start, 0, 0))
        else:
            data = frames[start : start + step].tobytes()
        h.update(data)
        if progress is not None and (k % 4096 == 0 or k == n_chunks):
            progress(k, n_chunks)
    for name in ("offset", "length"):
        h.update(name.encode() + np.asarray(f[f"index/{name}"][()], dtype="<i8").tobytes())
    for col in INDEX_COLUMNS:
        codes = np.asarray(f[f"index/{col}"][()], dtype="<i4")
        names = [bytes(b) for b in f[f"index/{col}_names"][()]]
        h.update(col.encode() + codes.tobytes() + b"\0".join(names))
    return "sha256:" + h.hexdigest()[:16]


def provenance(store: Store, progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """What a results file says about its data: the store's file name, fingerprint (from its
    attributes, or computed now for a store written before fingerprints: ``fingerprint_source``
    says which), kind (``real`` / ``synthetic``) and the generator's parameters for synthetic
    stores. Never a path: the file name alone."""
    attrs = store.attrs
    stored = attrs.get("fingerprint")
    if stored:
        fp, how = str(stored), "stored"
    else:
        fp, how = fingerprint(store._file(), progress), "computed"
    generator = attrs.get("generator")
    generator = json.loads(generator) if generator else None
    kind = attrs.get("kind")
    source = str(attrs.get("source", ""))
    if kind not in KINDS:
        # Stores written before the kind attribute: synth wrote "gaitbench synth ..." as source.
        kind = "synthetic" if source.startswith("gaitbench synth") else "real"
        if kind == "synthetic" and generator is None:
            generator = _generator_from_source(source)
    return {
        "file": store.path.name,
        "fingerprint": fp,
        "fingerprint_source": how,
        "kind": kind,
        "dataset": store.dataset,
        "generator": generator,
    }


def _generator_from_source(source: str) -> dict:
    """``gaitbench synth seed=0 difficulty=standard subjects=124 views=0,18 frames=60-100``
    (the source attribute of synthetic stores written before the generator attribute)."""
    out: dict[str, Any] = {"generator": "gaitbench synth", "version": None}
    for part in source.split()[2:]:
        key, _, value = part.partition("=")
        if key in ("seed", "subjects"):
            out[key] = int(value)
        elif key == "views":
            out[key] = [int(v) for v in value.split(",") if v]
        elif key == "frames":
            out[key] = [int(v) for v in value.split("-")]
        else:
            out[key] = value
    return out


def _plain(value: Any) -> Any:
    """h5py attribute values as plain Python (numpy scalars -> int/float, bytes -> str)."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    return value


def _reason(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _write_failed(path: Path, exc: Exception) -> str:
    return (
        f"could not write store {path} ({_reason(exc)}): free disk space or choose another --out; "
        "nothing was written"
    )
