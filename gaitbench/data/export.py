"""Reading a store back out: ``gaitbench info`` figures and ``gaitbench export``.

- npz: one uint8 array ``[frames, size, size]`` per sequence, keyed
  ``{subject}__{condition}__{view}``
  (e.g. ``001__nm-01__000``), the same keys as the alignment fixture.
- opengait: an OpenGait pkl tree ``DIR/<subject>/<condition>/<view>/<view>.pkl`` (one pickled
  uint8 array per sequence), so our prep can feed other tools.

Both are written atomically: to a temporary sibling, renamed into place when complete.
"""

from __future__ import annotations

import errno
import os
import pickle
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gaitbench.data.store import Store
from gaitbench.errors import GaitbenchError
from gaitbench.paths import MIN_FREE_BYTES, atomic_target, check_output

FORMATS = ("npz", "opengait")


def sequence_key(subject: str, condition: str, view: str) -> str:
    return f"{subject}__{condition}__{view}"


def _check_target(out: Path, fmt: str, force: bool, need_bytes: int) -> None:
    if out.exists() and not force:
        raise GaitbenchError(f"{out} already exists: pass --force to overwrite it")
    check_output(out, folder=fmt == "opengait", need_bytes=need_bytes)
    out.parent.mkdir(parents=True, exist_ok=True)


def export_store(
    store: Store | str | Path,
    out: str | Path,
    fmt: str = "npz",
    *,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write ``store`` as ``fmt`` (``npz`` file or ``opengait`` folder) at ``out``."""
    if fmt not in FORMATS:
        raise GaitbenchError(f"unknown export format {fmt!r}: choose npz or opengait")
    store = store if isinstance(store, Store) else Store(store)
    out = Path(out)
    keys = [
        sequence_key(*row)
        for row in store.index[["subject", "condition", "view"]].itertuples(index=False)
    ]
    if len(set(keys)) != len(keys):
        dup = pd.Series(keys)[pd.Series(keys).duplicated()].iloc[0]
        raise GaitbenchError(f"store {store.path} holds sequence {dup} twice: cannot export it")
    # The frames uncompressed, as both formats hold them (the store is compressed).
    need = int(store.index["length"].sum()) * store.size * store.size
    _check_target(out, fmt, force, max(need, MIN_FREE_BYTES))
    tmp = atomic_target(out)
    try:
        if fmt == "npz":
            _write_npz(store, keys, tmp, progress)
        else:
            _write_opengait(store, tmp, progress)
        if out.is_dir() and fmt == "opengait":
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException as exc:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            fix = "free disk space" if exc.errno == errno.ENOSPC else "check the folder"
            raise GaitbenchError(
                f"could not write {out} ({exc.strerror or exc}): {fix} or choose another OUT; "
                "nothing was written"
            ) from None
        raise
    return out


def _write_npz(store: Store, keys: list[str], tmp: Path, progress) -> None:
    # np.savez needs every array at once; writing members one by one keeps memory to one sequence.
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for i, key in enumerate(keys):
            with zf.open(f"{key}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.ascontiguousarray(store.read(i)))
            if progress is not None:
                progress(i + 1, len(keys))


def _write_opengait(store: Store, tmp: Path, progress) -> None:
    tmp.mkdir(parents=True)
    n = len(store)
    for i, row in enumerate(store.index.itertuples(index=False)):
        folder = tmp / row.subject / row.condition / row.view
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"{row.view}.pkl", "wb") as f:
            pickle.dump(np.ascontiguousarray(store.read(i)), f, protocol=4)
        if progress is not None:
            progress(i + 1, n)


@dataclass
class StoreInfo:
    """What ``gaitbench info`` shows."""

    path: Path
    attrs: dict
    subjects: int
    sequences: int
    frames: int
    bytes: int
    per_condition: pd.DataFrame  # rows condition, columns view, values sequence counts
    length_stats: dict  # min, p5, median, mean, p95, max frames per sequence
    short_sequences: int  # fewer than 5 frames
    provenance: dict  # gaitbench.data.store.provenance: fingerprint, kind, generator


def store_info(
    store: Store | str | Path, progress: Callable[[int, int], None] | None = None
) -> StoreInfo:
    """Counts and distributions of a store, for ``gaitbench info``; ``progress(done, total)``
    follows the fingerprint's computation on a store written before fingerprints."""
    from gaitbench.data.store import provenance

    store = store if isinstance(store, Store) else Store(store)
    index = store.index
    lengths = index["length"].to_numpy()
    per_condition = (
        index.groupby(["condition", "view"]).size().unstack(fill_value=0).sort_index(axis=1)
        if len(index)
        else pd.DataFrame()
    )
    stats = {}
    if len(lengths):
        stats = {
            "min": int(lengths.min()),
            "p5": float(np.percentile(lengths, 5)),
            "median": float(np.median(lengths)),
            "mean": float(lengths.mean()),
            "p95": float(np.percentile(lengths, 95)),
            "max": int(lengths.max()),
        }
    return StoreInfo(
        path=store.path,
        attrs=dict(store.attrs),
        subjects=int(index["subject"].nunique()),
        sequences=len(index),
        frames=int(lengths.sum()),
        bytes=store.path.stat().st_size,
        per_condition=per_condition,
        length_stats=stats,
        short_sequences=int((lengths < 5).sum()),
        provenance=provenance(store, progress),
    )
