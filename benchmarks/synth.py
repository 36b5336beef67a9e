"""Render speed of `gaitbench synth`, in frames per second on this machine.

    python benchmarks/synth.py [--subjects 6] [--workers 2] [--full]

Measures, in one process and on the same sequences:

* ``store``: render 320x240 + align + write the HDF5 store (``--format store``);
* ``png``: render 320x240 + write the raw PNG tree (``--format png``);
* ``png+prep`` (the baseline ``store`` replaces): the PNG tree plus reading it back and aligning
  it with the same `align_sequence`, i.e. what ``synth --format png`` followed by prep costs.

Then the demo set (20 ids, 4 views) end to end, and the projected time of the default CASIA-B-size
set (124 ids x 110 sequences, 60-100 frames) from the measured store rate; ``--full`` renders that
set for real instead of projecting.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from gaitbench.data import synth
from gaitbench.data.align import align_sequence


def _prep_tree(root: Path) -> int:
    n = 0
    for folder in sorted(root.glob("*/*/*")):
        frames = np.stack(
            [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in sorted(folder.glob("*.png"))]
        )
        n += len(align_sequence(frames, 64))
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=6, help="subjects of the default spec to time")
    ap.add_argument("--workers", type=int, default=synth.default_workers())
    ap.add_argument("--full", action="store_true", help="render the full default set to a store")
    args = ap.parse_args()
    cv2.setNumThreads(1)  # the process pool is the parallelism; keep cv2 from oversubscribing

    spec = synth.SynthSpec(subjects=args.subjects)
    print(f"cores: {os.cpu_count()}, workers: {args.workers}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        r = synth.synthesize(tmp / "s.h5", spec, "store", workers=args.workers)
        t_store = time.perf_counter() - t
        t = time.perf_counter()
        p = synth.synthesize(tmp / "raw", spec, "png", workers=args.workers)
        t_png = time.perf_counter() - t
        t = time.perf_counter()
        _prep_tree(p.path)
        t_prep = time.perf_counter() - t
        raw_frames = p.frames  # raw frames rendered, the same sequences in both runs
        print(
            f"timed set: {args.subjects} ids x 110 sequences, 60-100 frames ({raw_frames} frames)"
        )
        store_fps = raw_frames / t_store
        print(f"store     {t_store:7.2f} s  {store_fps:8.0f} frames/s")
        print(f"png       {t_png:7.2f} s  {raw_frames / t_png:8.0f} frames/s")
        print(
            f"png+prep  {t_png + t_prep:7.2f} s  {raw_frames / (t_png + t_prep):8.0f} frames/s"
            f"  (prep alone single-process {raw_frames / t_prep:.0f} frames/s)"
        )
        print(f"store vs png+prep: {(t_png + t_prep) / t_store:.2f}x faster")

        demo = synth.SynthSpec(subjects=20, views=(0, 54, 90, 180))
        t = time.perf_counter()
        d = synth.synthesize(tmp / "demo.h5", demo, "store", workers=args.workers)
        t_demo = time.perf_counter() - t
        print(
            f"demo set (20 ids x 4 views x 10 conditions, {d.sequences} sequences): "
            f"{t_demo:.1f} s, {d.frames / t_demo:.0f} aligned frames/s"
        )

        full = synth.SynthSpec()
        full_frames = 124 * 110 * 80
        if args.full:
            t = time.perf_counter()
            f = synth.synthesize(tmp / "full.h5", full, "store", workers=args.workers)
            t_full = time.perf_counter() - t
            print(
                f"default set: {f.sequences} sequences, {t_full / 60:.1f} min "
                f"({os.path.getsize(f.path) / 2**20:.0f} MiB), target < 15 min"
            )
        else:
            print(
                f"default set projected: ~{full_frames} frames / {store_fps:.0f} frames/s = "
                f"{full_frames / store_fps / 60:.1f} min (target < 15 min)"
            )
        del r


if __name__ == "__main__":
    main()
