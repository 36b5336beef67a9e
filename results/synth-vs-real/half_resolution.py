"""A copy of a store whose frames keep no detail finer than 2 pixels: a diagnostic of how much a
trained model reads from the outline's fine detail, on real CASIA-B and on a synthetic store.

    python3 results/synth-vs-real/half_resolution.py STORE OUT.h5
    gaitbench evaluate RUN --data OUT.h5 --out DIR      # the run trained on STORE, tested here

Every 64 x 64 frame is reduced to 32 x 32 (area averaging) and brought back to 64 x 64 (bilinear),
so what the sequence shows at the scale of 2 pixels and above is kept and anything finer goes.
The index, the attributes and the store's kind are those of STORE; the fingerprint is the new
frames' own, so a results file of the copy is never taken for one of STORE. A model that scores
the same on both does not use the fine detail; one that loses on the copy does. About a minute
for the full CASIA-B store (2 cores); the copy is about as large as STORE, and it is written to
a temporary file first, so nothing half-written is left behind on failure.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import cv2
import h5py
import numpy as np

from gaitbench.data.store import Store, fingerprint
from gaitbench.errors import GaitbenchError

CHUNK = 20_000  # frames per read / write


def halve(frames: np.ndarray) -> np.ndarray:
    """``[n, 64, 64]`` uint8 -> the same frames reduced to 32 x 32 and brought back."""
    size = frames.shape[1:][::-1]
    half = tuple(s // 2 for s in size)
    return np.stack(
        [
            cv2.resize(cv2.resize(f, half, interpolation=cv2.INTER_AREA), size)
            for f in frames  # cv2.resize's default is bilinear
        ]
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store", type=Path)
    ap.add_argument("out", type=Path)
    args = ap.parse_args(argv)
    if args.out.exists():
        print(f"error: {args.out} exists; remove it or name another output", file=sys.stderr)
        return 1
    try:
        with Store(args.store):  # missing, truncated or not a store: its own one-line error
            pass
    except GaitbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    tmp = args.out.with_name(args.out.name + ".tmp")
    try:
        shutil.copyfile(args.store, tmp)
        with h5py.File(tmp, "r+") as f:
            frames = f["frames"]
            for start in range(0, frames.shape[0], CHUNK):
                frames[start : start + CHUNK] = halve(frames[start : start + CHUNK])
            f.attrs["fingerprint"] = fingerprint(f)
            print(f"{args.out}: {f.attrs['fingerprint']}")
        os.replace(tmp, args.out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        print(f"error: cannot write {args.out} ({exc}): choose a writable folder", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
