"""How the aligned frames themselves look, real CASIA-B against a synthetic store: a training-free
check of what a candidate's knobs do to the silhouettes before any model sees them.

    python3 results/synth-vs-real/frame_stats.py STORE [STORE ...] [--sequences 300] [--out FILE.md]

Per store, over the same number of sequences drawn at random (seed 0) from all of its sequences,
on the 64 x 44 aligned frames as values in [0, 1]:

* fill: the mean frame value, the share of the frame the person covers (fuller bodies, higher);
* boundary: pixels on the outline (morphological gradient, 3 x 3, of the frame thresholded at
  0.5) per pixel inside it: high for thin limbs and ragged edges;
* soft edge: pixels strictly between 0 and 1 (what resizing leaves on an outline) per pixel inside;
* change: mean |x_t - x_(t-1)| per unit of fill, how much a frame differs from the previous one;
* jitter: mean |x_t - (x_(t-1) + x_(t+1)) / 2| per unit of fill, the part of that change that
  the mean of the neighbouring frames does not predict (segmentation flicker and noise; an edge
  moving a pixel per frame leaves some too);
* side width: the mean width (pixels) of rows 40-63, the legs, in views 072, 090 and 108;
  front width: of rows 16-31, shoulders and arms, in views 000 and 180;
* leg gaps: the share of rows 40-61 (thighs to ankles) that cross the silhouette more than once
  (a gap between the legs), in views 000 and 180; arm gaps: the same of rows 16-35 (an arm apart
  from the trunk). Real CASIA-B's legs mostly merge from the front; a body with legs apart
  shows a gap in almost every row.
* cycle repeat: how far a walker fails to repeat its own gait cycle, in views 072, 090 and 108
  (sequences of 45 frames or more): the least mean |x_(t+P) - x_t| per unit of fill over lags P
  of 18 to 40 frames (a gait cycle at 25 frames a second), and cycle frames, the lag P at that
  least value. A walker that repeats one cycle exactly scores low (what is left is the walk
  across the frame and the alignment); step-to-step variation and flicker raise it.
* coat fill: how much fuller a coat makes the silhouette, the mean fill of cl sequences over
  that of nm sequences, minus 1 (every view); coat legs: in views 072, 090 and 108, the share
  of rows 44-59 (knees to ankles) that show a gap between the legs in cl sequences minus that
  in nm sequences. A coat that hides the legs to the knee scores well below 0.

A store's figures near real CASIA-B's say its silhouettes are as full, as smooth and as steady
as real ones; they say nothing about identity (that is gei_views.py's and the models' part).
Reads the stores only; under a minute per store on one core.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from gaitbench.data.store import Store
from gaitbench.errors import GaitbenchError
from gaitbench.reporting.synth_vs_real import store_script

COLUMNS = [
    *("fill", "boundary", "soft edge", "change", "jitter", "side width", "front width"),
    *("leg gaps", "arm gaps", "cycle repeat", "cycle frames", "coat fill", "coat legs"),
]
WIDTHS = ("side width", "front width", "cycle frames")
CYCLE_LAGS = range(18, 41)  # frames: one gait cycle at 25 frames a second
CYCLE_MIN_FRAMES = 45  # shorter sequences hold too few cycles for the longest lag
SIDE, FRONT = ("072", "090", "108"), ("000", "180")
LEG_ROWS = slice(44, 60)  # knees to ankles, for the coat's legs
_KERNEL = np.ones((3, 3), np.uint8)


def sequence_stats(frames: np.ndarray) -> dict[str, float]:
    """The per-sequence figures of the module docstring (widths excluded) of aligned uint8
    ``[T, H, W]`` frames; ``change`` and ``jitter`` need 3 frames or more (NaN below)."""
    x = frames.astype(np.float64) / 255.0
    fill = x.mean()
    inside = x >= 0.5
    edge = [cv2.morphologyEx(f.astype(np.uint8), cv2.MORPH_GRADIENT, _KERNEL) > 0 for f in inside]
    n_in = max(int(inside.sum()), 1)
    out = {
        "fill": fill,
        "boundary": float(np.sum(edge)) / n_in,
        "soft edge": float(((x > 0) & (x < 1)).sum()) / n_in,
        "change": np.nan,
        "jitter": np.nan,
    }
    if len(x) >= 3 and fill > 0:
        out["change"] = float(np.abs(x[1:] - x[:-1]).mean() / fill)
        out["jitter"] = float(np.abs(x[1:-1] - (x[:-2] + x[2:]) / 2).mean() / fill)
    return out


def band_width(frames: np.ndarray, rows: slice) -> float:
    """Mean width in pixels (sum of frame values per row) of ``rows`` over the frames."""
    return float((frames[:, rows].astype(np.float64) / 255.0).sum(2).mean())


def gap_rows(frames: np.ndarray, rows: slice) -> float:
    """Share of ``rows`` (over the frames) whose pixels >= 0.5 form more than one run."""
    inside = frames[:, rows] >= 128
    starts = (np.diff(inside.astype(np.int8), axis=2) == 1).sum(axis=2) + inside[:, :, 0]
    return float((starts > 1).mean())


def cycle_repeat(frames: np.ndarray) -> tuple[float, int] | None:
    """(cycle repeat, cycle frames) of the module docstring for aligned uint8 ``[T, H, W]``
    frames; None below 45 frames or for empty frames."""
    x = frames.astype(np.float64) / 255.0
    fill = x.mean()
    if len(x) < CYCLE_MIN_FRAMES or fill <= 0:
        return None
    d = {p: np.abs(x[p:] - x[:-p]).mean() / fill for p in CYCLE_LAGS}
    lag = min(d, key=d.get)
    return float(d[lag]), lag


def coat_stats(nm, cl, nm_side, cl_side) -> tuple[float, float]:
    """(coat fill, coat legs) of the module docstring from lists of aligned uint8 ``[T, H, W]``
    frames: nm and cl sequences of every view, and of the side views; NaN if a list is empty."""
    if not (nm and cl and nm_side and cl_side):
        return float("nan"), float("nan")
    fill = np.mean([f.mean() for f in cl]) / np.mean([f.mean() for f in nm]) - 1
    legs = np.mean([gap_rows(f, LEG_ROWS) for f in cl_side]) - np.mean(
        [gap_rows(f, LEG_ROWS) for f in nm_side]
    )
    return float(fill), float(legs)


def store_stats(store: Store, sequences: int) -> list[str]:
    """The formatted `COLUMNS` of a store, over ``sequences`` drawn at random (seed 0)."""
    index = store.index.reset_index(drop=True)
    nonempty = index.index[index.length > 0].to_numpy()
    if len(nonempty) == 0:
        raise GaitbenchError(f"{store.path} holds no frames: check the store")
    rng = np.random.default_rng(0)
    pick = rng.choice(nonempty, min(sequences, len(nonempty)), replace=False)
    per = [sequence_stats(store.read(int(i))) for i in pick]
    figures = {k: float(np.nanmean([p[k] for p in per])) for k in COLUMNS[:5]}

    def pick(views: tuple[str, ...], min_length: int = 1, condition: str = "") -> np.ndarray:
        """Up to sequences // 2 rows of ``views`` (and of conditions that start with
        ``condition``) with ``min_length`` frames or more, at random."""
        sel = index.index[
            (index.length >= min_length)
            & index.view.isin(views)
            & index.condition.str.startswith(condition)
        ].to_numpy()
        return rng.choice(sel, min(sequences // 2, len(sel)), replace=False) if len(sel) else sel

    for name, views, rows in (
        ("side width", SIDE, slice(40, 64)),
        ("front width", FRONT, slice(16, 32)),
    ):
        widths = [band_width(store.read(int(i)), rows) for i in pick(views)]
        figures[name] = float(np.mean(widths)) if widths else float("nan")
    fronts = [store.read(int(i)) for i in pick(FRONT)]
    for name, rows in (("leg gaps", slice(40, 62)), ("arm gaps", slice(16, 36))):
        gaps = [gap_rows(f, rows) for f in fronts]
        figures[name] = float(np.mean(gaps)) if gaps else float("nan")
    cycles = [cycle_repeat(store.read(int(i))) for i in pick(SIDE, CYCLE_MIN_FRAMES)]
    cycles = [c for c in cycles if c is not None]
    figures["cycle repeat"] = float(np.mean([c[0] for c in cycles])) if cycles else float("nan")
    figures["cycle frames"] = float(np.mean([c[1] for c in cycles])) if cycles else float("nan")
    # Drawn last, so that every column above keeps its draws.
    every = tuple(index.view.unique())
    drawn = [
        [store.read(int(i)) for i in pick(v, 1, c)] for v in (every, SIDE) for c in ("nm", "cl")
    ]
    figures["coat fill"], figures["coat legs"] = coat_stats(*drawn)
    return [f"{figures[c]:.3f}" if c not in WIDTHS else f"{figures[c]:.1f}" for c in COLUMNS]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Frame statistics of aligned stores.")
    ap.add_argument("stores", nargs="+", type=Path)
    ap.add_argument("--sequences", type=int, default=300, help="sequences per store (seed 0)")
    ap.add_argument("--out", type=Path, help="also write the table here")
    args = ap.parse_args(argv)
    if args.sequences < 2:
        print("error: --sequences must be 2 or more", file=sys.stderr)
        return 1
    return store_script(
        args.stores,
        COLUMNS,
        lambda store: [store_stats(store, args.sequences)],
        args.out,
        name=lambda path: f"{path.parent.name}/{path.name}",
    )


if __name__ == "__main__":
    sys.exit(main())
