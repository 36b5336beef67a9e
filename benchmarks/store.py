"""Store read speed, size against PNG and pkl trees, and open/read time at OU-MVLP scale.

    python benchmarks/store.py [--sequences 40] [--frames 60] [--reads 2000] [--scale 27000,270000]

1. Size: a CASIA-B-layout PNG tree (the prep benchmark's walkers, 320x240) is prepped into a store
   and exported as an OpenGait pkl tree; prints the three sizes on disk.
2. Random reads from that store: sequences/s and frames/s, cold (fresh handle, file evicted from
   the page cache with posix_fadvise where the OS allows) and in memory (``in_memory=True``).
   Compared with a training step's need: HSTL reads 8 x 8 = 64 sequences per step.
3. Scale: stores of 2,700, 27,000 and 270,000 sequences (OU-MVLP's count; cheap generated 64x64
   frames, 4 per sequence) are built; prints build time, file size, open time (consistency check
   and index included) and mean random-read time, so growth with the sequence count shows.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from gaitbench.data.export import export_store
from gaitbench.data.prep import prep
from gaitbench.data.store import Store, StoreWriter

sys.path.insert(0, str(Path(__file__).parent))
from prep import make_tree  # noqa: E402  (the prep benchmark's PNG tree)

STEP_SEQUENCES = 64  # HSTL's batch: 8 identities x 8 sequences


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def evict(path: Path) -> bool:
    """Drop the file from the page cache (no root needed for clean pages); False if unsupported."""
    if not hasattr(os, "posix_fadvise"):
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    return True


def random_reads(store: Store, n: int, seed: int = 0) -> tuple[float, int]:
    order = np.random.default_rng(seed).integers(0, len(store), n)
    frames = 0
    t0 = time.perf_counter()
    for i in order:
        frames += len(store.read(int(i)))
    return time.perf_counter() - t0, frames


def build_scale_store(path: Path, sequences: int, frames: int = 4) -> float:
    """OU-MVLP-shaped ids (subject, seq 00/01, 14 views); frames are cheap constant images."""
    views = [f"{v:03d}" for v in (*range(0, 91, 15), *range(180, 271, 15))]
    block = np.zeros((frames, 64, 64), np.uint8)
    t0 = time.perf_counter()
    with StoreWriter(path, dataset="oumvlp", size=64, source="benchmark", force=True) as w:
        for k in range(sequences):
            block[:, 20:44, 28:36] = k % 251 + 1  # differs per sequence, compresses to little
            w.add(f"{k // 28 + 1:05d}", f"{k % 2:02d}", views[(k // 2) % 14], block)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=40)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--scale", default="2700,27000,270000")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        raw = tmp / "raw"
        total = make_tree(raw, args.sequences, args.frames)
        store_path = tmp / "casia-b-64.h5"
        prep("casia-b", raw, store_path, workers=min(2, os.cpu_count() or 1))
        export_store(store_path, tmp / "pkl", "opengait")
        png, h5, pkl = tree_bytes(raw), store_path.stat().st_size, tree_bytes(tmp / "pkl")
        print(f"data: {args.sequences} sequences, {total} raw frames")
        print(f"size  raw PNG tree {png / 2**20:8.2f} MiB")
        print(f"size  OpenGait pkl {pkl / 2**20:8.2f} MiB")
        print(
            f"size  store        {h5 / 2**20:8.2f} MiB   store / pkl = {h5 / pkl:.2f}, "
            f"store / PNG = {h5 / png:.2f}"
        )

        evicted = evict(store_path)
        t_open = time.perf_counter()
        cold = Store(store_path)
        t_open = time.perf_counter() - t_open
        seconds, frames = random_reads(cold, args.reads)
        label = "cold (evicted)" if evicted else "cold (fresh handle)"
        print(
            f"reads {label:20s} {args.reads / seconds:9.0f} sequences/s {frames / seconds:10.0f}"
            f" frames/s  (open {t_open * 1e3:.1f} ms)"
        )
        seconds, frames = random_reads(cold, args.reads, seed=1)
        print(
            f"reads {'warm handle':20s} {args.reads / seconds:9.0f} sequences/s "
            f"{frames / seconds:10.0f} frames/s"
        )
        mem = Store(store_path, in_memory=True)
        seconds, frames = random_reads(mem, args.reads * 10)
        print(
            f"reads {'in memory':20s} {args.reads * 10 / seconds:9.0f} sequences/s "
            f"{frames / seconds:10.0f} frames/s"
        )
        cold_rate = args.reads / random_reads(Store(store_path), args.reads, seed=2)[0]
        print(
            f"one process feeds {cold_rate / STEP_SEQUENCES:.0f} training steps/s of "
            f"{STEP_SEQUENCES} sequences from the file (10x a step of "
            f"{10 * STEP_SEQUENCES / cold_rate * 1e3:.0f} ms or longer)"
        )

        print(
            f"\n{'sequences':>10s} {'build s':>8s} {'MiB':>8s} {'open ms':>8s} "
            f"{'read us (mean of %d)' % args.reads:>22s}"
        )
        for n in (int(x) for x in args.scale.split(",")):
            path = tmp / f"scale-{n}.h5"
            build = build_scale_store(path, n)
            evict(path)
            t0 = time.perf_counter()
            store = Store(path)
            opened = time.perf_counter() - t0
            assert len(store) == n
            seconds, _ = random_reads(store, args.reads)
            print(
                f"{n:10d} {build:8.1f} {path.stat().st_size / 2**20:8.1f} {opened * 1e3:8.1f} "
                f"{seconds / args.reads * 1e6:22.1f}"
            )
            store.close()
            path.unlink()


if __name__ == "__main__":
    main()
