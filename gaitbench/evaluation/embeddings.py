"""The embeddings file: extract once, evaluate many times.

HDF5 layout (version 1):

    embeddings   float32 [N, parts, channels]
    subject      UTF-8 string [N]
    condition    UTF-8 string [N]     (CASIA-B "nm-01", OU-MVLP "00", GREW "01", Gait3D "camid0_videoid2")
    view         UTF-8 string [N]     (CASIA-B "090", OU-MVLP "270", Gait3D "seq0", GREW probe id)
    role         UTF-8 string [N]     optional: "probe" / "gallery" (GREW, Gait3D)
    attrs: format = "gaitbench-embeddings", version = 1, model, dataset, checkpoint
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from gaitbench.errors import GaitbenchError
from gaitbench.paths import atomic_write

FORMAT = "gaitbench-embeddings"
VERSION = 1
ROLES = ("probe", "gallery")


def _strings(values) -> np.ndarray:
    """Any sequence of str / bytes -> numpy array of Python str (object dtype)."""
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v.decode("utf-8") if isinstance(v, bytes) else str(v)
    return out


@dataclass
class EmbeddingSet:
    """Embeddings ``[N, parts, channels]`` with one subject / condition / view (/ role) per row."""

    embeddings: np.ndarray
    subject: np.ndarray
    condition: np.ndarray
    view: np.ndarray
    role: np.ndarray | None = None
    attrs: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.embeddings = np.asarray(self.embeddings, dtype=np.float32)
        self.subject = _strings(self.subject)
        self.condition = _strings(self.condition)
        self.view = _strings(self.view)
        if self.role is not None:
            self.role = _strings(self.role)
        n = len(self.embeddings)
        if self.embeddings.ndim != 3:
            raise GaitbenchError(
                f"embeddings must be [N, parts, channels], got shape {self.embeddings.shape}: "
                "re-extract them with `gaitbench evaluate`"
            )
        columns = {"subject": self.subject, "condition": self.condition, "view": self.view}
        if self.role is not None:
            columns["role"] = self.role
            bad = sorted(set(self.role) - set(ROLES))
            if bad:
                raise GaitbenchError(
                    f"embeddings role values {bad} are not probe/gallery: fix the role column"
                )
        for name, col in columns.items():
            if len(col) != n:
                raise GaitbenchError(
                    f"embeddings has {n} rows but {name} has {len(col)}: the file is inconsistent, re-extract it"
                )

    def __len__(self) -> int:
        return len(self.embeddings)

    @property
    def dataset(self) -> str:
        return str(self.attrs.get("dataset", ""))

    def subset(self, mask: np.ndarray) -> EmbeddingSet:
        """Rows where ``mask`` (bool ``[N]`` or indices) selects, same attrs."""
        return EmbeddingSet(
            self.embeddings[mask],
            self.subject[mask],
            self.condition[mask],
            self.view[mask],
            None if self.role is None else self.role[mask],
            dict(self.attrs),
        )


def save_embeddings(path: str | os.PathLike, emb_set: EmbeddingSet) -> Path:
    """Write ``emb_set`` atomically (temp file, then rename): no half-written file on failure."""
    path = Path(path)
    str_dt = h5py.string_dtype("utf-8")
    with atomic_write(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.create_dataset("embeddings", data=emb_set.embeddings.astype(np.float32))
            for name in ("subject", "condition", "view", "role"):
                col = getattr(emb_set, name)
                if col is not None:
                    f.create_dataset(name, data=np.asarray(list(col), dtype=object), dtype=str_dt)
            for key, value in emb_set.attrs.items():
                if value is not None and key not in ("format", "version"):
                    f.attrs[key] = (
                        value if isinstance(value, (int, float, np.number)) else str(value)
                    )
            f.attrs["format"] = FORMAT
            f.attrs["version"] = VERSION
    return path


def load_embeddings(path: str | os.PathLike) -> EmbeddingSet:
    """Read an embeddings file, checking its format and version."""
    path = Path(path)
    if not path.is_file():
        raise GaitbenchError(
            f"embeddings file {path} not found: extract one with `gaitbench evaluate RUN_DIR`"
        )
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise GaitbenchError(
            f"embeddings file {path} is not readable HDF5 ({exc}): re-extract it"
        ) from None
    with f:
        fmt = f.attrs.get("format")
        if isinstance(fmt, bytes):
            fmt = fmt.decode()
        if fmt != FORMAT:
            raise GaitbenchError(
                f"{path} is not a gaitbench embeddings file (format {fmt!r}): "
                "pass a file written by `gaitbench evaluate`"
            )
        version = int(f.attrs.get("version", -1))
        if version != VERSION:
            raise GaitbenchError(
                f"{path} has embeddings format version {version}, this gaitbench reads {VERSION}: "
                "re-extract it with this version"
            )
        missing = [k for k in ("embeddings", "subject", "condition", "view") if k not in f]
        if missing:
            raise GaitbenchError(f"{path} lacks dataset(s) {', '.join(missing)}: re-extract it")
        attrs = {
            k: (
                v.decode() if isinstance(v, bytes) else v.item() if isinstance(v, np.generic) else v
            )
            for k, v in f.attrs.items()
        }
        return EmbeddingSet(
            f["embeddings"][()],
            f["subject"][()],
            f["condition"][()],
            f["view"][()],
            f["role"][()] if "role" in f else None,
            attrs,
        )
