"""Where data lives by default.

Everything hangs off one data root, ``$GAITBENCH_DATA`` (default ``./data``):

    data/raw/<dataset>/          raw silhouettes as the dataset ships them (``gaitbench prep`` input)
    data/<dataset>-<size>.h5     the aligned store (``gaitbench prep`` output, ``train`` input)

Runs go to ``$GAITBENCH_RUNS`` (default ``./runs``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DATASETS = ("casia-b", "oumvlp", "grew", "gait3d")


def data_root() -> Path:
    return Path(os.environ.get("GAITBENCH_DATA", "data"))


def runs_root() -> Path:
    return Path(os.environ.get("GAITBENCH_RUNS", "runs"))


def default_raw(dataset: str) -> Path:
    return data_root() / "raw" / dataset


def default_store(dataset: str, size: int = 64) -> Path:
    return data_root() / f"{dataset}-{size}.h5"


def atomic_target(path: Path) -> Path:
    """The temporary sibling an atomic writer fills before renaming it onto ``path``."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


@contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` to fill; on success it is renamed onto ``path``.

    The parent folder is created. On any error the temporary file is removed and ``path`` is
    left as it was, so a failed command leaves no partial output behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = atomic_target(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
