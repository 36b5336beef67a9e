"""docs/augmentations.png: GaitBase's augmentations before and after they were made OpenGait's
(reference/FACTS.md 2.5), on one SYNTHETIC sequence rendered by `gaitbench synth`.

    python docs/augmentations.py            # writes docs/augmentations.png

Rows, on four frames of one walk (90 degrees, nm-01): the input; a +10 degree turn about the
image centre (before) and about column 32, row 22 (after); the strongest perspective of each
version (before: every corner 10 % inwards, the body shrinks; after: the quad x 9..54 stretched
onto the whole 64x64 frame, cut afterwards); four erasing draws of each version on frame 0 (red:
the rectangle). The right panel is the erasing rectangle's height / width over 20,000 draws of
each version.
The "before" functions are gaitbench's own earlier code, kept here only for this picture.
"""

from __future__ import annotations

import math
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from gaitbench.data.sampling import cut_columns, erase_box, perspective, rotate
from gaitbench.data.store import Store

OUT = Path(__file__).with_name("augmentations.png")
FRAMES = [0, 6, 12, 18]


def rotate_before(frames: np.ndarray, angle: float) -> np.ndarray:
    h, w = frames.shape[1:]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return np.stack([cv2.warpAffine(f, matrix, (w, h)) for f in frames])


def perspective_before(frames: np.ndarray, shift: float = 0.1) -> np.ndarray:
    h, w = frames.shape[1:]
    src = np.float32([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]])
    inward = np.float32([[1, 1], [-1, 1], [-1, -1], [1, -1]]) * np.float32([w, h]) * shift
    matrix = cv2.getPerspectiveTransform(src, (src + inward).astype(np.float32))
    return np.stack([cv2.warpPerspective(f, matrix, (w, h)) for f in frames])


def erase_box_before(h: int, w: int, rng: np.random.Generator) -> tuple[int, int, int, int]:
    for _ in range(100):
        area = rng.uniform(0.05, 0.2) * h * w
        aspect = math.exp(rng.uniform(math.log(0.3), math.log(1 / 0.3)))
        eh, ew = round(math.sqrt(area * aspect)), round(math.sqrt(area / aspect))
        if 0 < eh < h and 0 < ew < w:
            return int(rng.integers(0, h - eh)), int(rng.integers(0, w - ew)), eh, ew
    raise RuntimeError("no rectangle fitted")


def erased(frame: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    y, x, eh, ew = box
    out = frame.copy()
    out[y : y + eh, x : x + ew] = 0
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store_path = Path(tmp) / "synth.h5"
        subprocess.run([sys.executable, "-m", "gaitbench", "synth", str(store_path),
                        "--subjects", "1", "--views", "90", "--frames", "40-40",
                        "--workers", "1"], check=True, capture_output=True)  # fmt: skip
        with Store(store_path) as store:
            assert store.attrs["kind"] == "synthetic"
            seq = store.read(0)[FRAMES]  # 64x64, subject 001 nm-01 090
    rows = {
        "input (64x44)": cut_columns(seq),
        "rotate +10°, before:\nabout the centre": rotate_before(cut_columns(seq), 10.0),
        "rotate +10°, after:\nabout col 32, row 22": rotate(cut_columns(seq), 10.0),
        "perspective, before:\ncorners 10% in": cut_columns(perspective_before(seq)),
        "perspective, after:\nx 9..54 -> 0..63": cut_columns(perspective(seq, (9, 9), (54, 54))),
    }
    frame0 = cut_columns(seq)[0]
    h, w = frame0.shape
    boxes = {
        "erase, before:\n4 draws on frame 0": [erase_box_before(h, w, np.random.default_rng(s))
                                               for s in range(4)],
        "erase, after:\n4 draws on frame 0": [erase_box(h, w, np.random.default_rng(s))
                                              for s in range(4)],
    }  # fmt: skip
    for label, drawn in boxes.items():
        rows[label] = np.stack([erased(frame0, box) for box in drawn])

    ratios = {}
    for name, draw in (("before", erase_box_before), ("after", erase_box)):
        rng = np.random.default_rng(0)
        many = np.array([draw(h, w, rng) for _ in range(20000)])
        ratios[name] = many[:, 2] / many[:, 3]

    fig = plt.figure(figsize=(10, 11.5))
    grid = fig.add_gridspec(len(rows), 6, width_ratios=[1, 1, 1, 1, 0.25, 3])
    for r, (label, frames) in enumerate(rows.items()):
        for c, frame in enumerate(frames):
            ax = fig.add_subplot(grid[r, c])
            ax.imshow(frame, cmap="gray", vmin=0, vmax=255)
            ax.set_xticks([])
            ax.set_yticks([])
            if r in (1, 2):  # the rotation centres
                ax.plot(*((22, 32) if r == 1 else (32, 22)), "r+", ms=8)
            if label in boxes:  # where the rectangle is, even on the background
                y, x, eh, ew = boxes[label][c]
                ax.add_patch(Rectangle((x - 0.5, y - 0.5), ew, eh, fill=False, ec="r", lw=1))
            if c == 0:
                ax.set_ylabel(label, fontsize=8, rotation=0, ha="right", va="center")
    hist = fig.add_subplot(grid[1:6, 5])
    bins = np.linspace(0.2, 3.6, 35)
    for name, color in (("before", "tab:gray"), ("after", "tab:red")):
        tall = (ratios[name] > 1).mean()
        hist.hist(ratios[name], bins=bins, histtype="step", lw=2, color=color,
                  label=f"{name}: {tall:.0%} taller than wide")  # fmt: skip
    hist.axvline(1.0, color="k", lw=0.8, ls=":")
    hist.set_xlabel("erasing rectangle height / width (20,000 draws)")
    hist.set_ylabel("draws")
    hist.legend(fontsize=8)
    fig.suptitle(
        "GaitBase augmentations before / after matching OpenGait (synthetic walker, "
        "gaitbench synth seed 0, 001 nm-01 090)",
        fontsize=10,
        y=0.92,
    )
    fig.savefig(OUT, dpi=110, bbox_inches="tight")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
