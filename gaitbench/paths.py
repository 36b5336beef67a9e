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


MIN_FREE_BYTES = 16 * 2**20  # below this, no output is worth starting


def check_output(
    path: str | os.PathLike, *, folder: bool = False, need_bytes: int = MIN_FREE_BYTES
) -> Path:
    """Refuse, before any work starts, an output that cannot be written: one line naming it.

    ``path`` is a file to write (or, with ``folder``, a folder to write into). Refused: a
    folder where the file goes (or a file where the folder goes), a file where one of its
    parent folders should be, a folder that cannot be written (permissions, read-only file
    system: probed with a temporary file, removed at once) and less free space than
    ``need_bytes``. Whether an existing file may be replaced (``--force``) is the caller's rule.
    """
    import errno
    import shutil
    import tempfile

    from gaitbench.errors import GaitbenchError

    path = Path(path)
    what = "folder" if folder else "file"
    if path.exists() and path.is_dir() != folder:
        kind = "folder" if path.is_dir() else "file"
        raise GaitbenchError(f"output {path} is a {kind}, not a {what}: pass a {what} path")
    existing = path if folder and path.is_dir() else path.parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise GaitbenchError(
            f"cannot write {path}: {existing} is a file, not a folder: pass another path"
        )
    try:
        with tempfile.TemporaryFile(dir=existing, prefix=".gaitbench-probe-"):
            pass
    except OSError as exc:
        reason = {
            errno.EACCES: "permission denied",
            errno.EPERM: "permission denied",
            errno.EROFS: "read-only file system",
            errno.ENOSPC: "no space left",
        }.get(exc.errno, exc.strerror or type(exc).__name__)
        raise GaitbenchError(
            f"cannot write {path}: folder {existing} is not writable ({reason}): "
            "pass a writable path"
        ) from None
    free = shutil.disk_usage(existing).free
    if free < need_bytes:
        raise GaitbenchError(
            f"cannot write {path}: {_size(free)} free on {existing}, {_size(need_bytes)} "
            "needed: free some space or pass another path"
        )
    return path


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.0f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"
