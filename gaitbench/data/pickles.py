"""Reading OpenGait ``.pkl`` files without running arbitrary code.

An OpenGait sequence file is a pickled numpy array. ``pickle.load`` would import and call whatever
the file names, so a crafted file could run any command. `load_array` uses an unpickler that
resolves only the few numpy internals an array pickle needs; any other global is refused before it
is imported, let alone called.
"""

from __future__ import annotations

import codecs
import io
import pickle
from pathlib import Path

import numpy as np

from gaitbench.errors import GaitbenchError

# Everything a pickled ndarray references, under numpy 1.x and 2.x module names.
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): np.ndarray.__reduce__(np.zeros(1))[0],
    ("numpy._core.multiarray", "_reconstruct"): np.ndarray.__reduce__(np.zeros(1))[0],
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    # protocol 2 pickles written by Python 3 carry the raw bytes as latin-1 text
    ("_codecs", "encode"): codecs.encode,
}
try:  # protocol-5 pickles of contiguous arrays rebuild through _frombuffer
    from numpy._core.numeric import _frombuffer  # type: ignore[attr-defined]
except ImportError:  # numpy < 2
    from numpy.core.numeric import _frombuffer  # type: ignore[attr-defined,no-redef]
_ALLOWED[("numpy.core.numeric", "_frombuffer")] = _frombuffer
_ALLOWED[("numpy._core.numeric", "_frombuffer")] = _frombuffer


class RefusedPickle(pickle.UnpicklingError):
    """The pickle names a global outside the numpy-array allow-list."""


class UnreadablePickle(GaitbenchError):
    """The file cannot be read or is not a complete pickle (truncated, empty, another format).

    Unlike a refused pickle, this is damage rather than a threat: ``prep`` skips and counts such a
    sequence file instead of stopping."""


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise RefusedPickle(f"{module}.{name}") from None


def loads_array(data: bytes) -> np.ndarray:
    """Unpickle ``data`` that must hold one numpy array (no object dtype)."""
    value = _ArrayUnpickler(io.BytesIO(data)).load()
    if not isinstance(value, np.ndarray) or value.dtype.hasobject:
        raise RefusedPickle(f"a {type(value).__name__} instead of a numpy array")
    return value


def load_array(path: str | Path) -> np.ndarray:
    """Read one OpenGait ``.pkl`` sequence file as a numpy array, refusing anything else."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadablePickle(f"cannot read {path} ({exc.strerror}): check the file") from None
    try:
        return loads_array(data)
    except RefusedPickle as exc:
        raise GaitbenchError(
            f"{path} holds {exc}, not just a numpy array: refused and not executed; "
            "regenerate it with OpenGait's pretreatment or remove it"
        ) from None
    except Exception as exc:  # truncated or not a pickle at all
        raise UnreadablePickle(
            f"{path} is not a readable pickle ({type(exc).__name__}): regenerate or remove it"
        ) from None
