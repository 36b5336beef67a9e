"""GaitBase's augmentations and unfixed frame counts as OpenGait's (reference/FACTS.md 2.5),
against hand-computed expectations: the rotation centre, the erasing rectangle's aspect-ratio
distribution and reach, the perspective stretch of a vertical bar, per-sequence frame counts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gaitbench.data.sampling import (
    TrainClips,
    _perspective,
    _rotate,
    erase_box,
    perspective,
    rotate,
)
from gaitbench.data.store import Store, StoreWriter
from gaitbench.models import create


def _dot(row: int, col: int, h: int = 64, w: int = 44) -> np.ndarray:
    frames = np.zeros((1, h, w), np.uint8)
    frames[0, row, col] = 255
    return frames


@pytest.mark.parametrize("angle", [-10.0, -3.5, 10.0, 90.0])
def test_rotation_turns_about_column_32_row_22(angle):
    # A one-pixel image at column 32, row 22 stays put, whatever the angle; about the image
    # centre (column 22, row 32) it would move by 2 sin(angle / 2) * 14.1 pixels.
    out = rotate(_dot(22, 32), angle)
    assert out[0, 22, 32] == 255
    assert np.unravel_index(out[0].argmax(), out[0].shape) == (22, 32)


def test_rotation_by_90_degrees_moves_a_pixel_as_computed_by_hand():
    # Column 42, row 22 is 10 pixels right of the centre; a quarter turn counter-clockwise on
    # screen puts it 10 pixels above: column 32, row 12.
    out = rotate(_dot(22, 42), 90.0)
    assert out[0, 12, 32] == 255 and out.sum() == 255


def test_random_rotation_keeps_the_centre_pixel_for_every_draw():
    rng = np.random.default_rng(0)
    for _ in range(20):
        assert _rotate(_dot(22, 32), rng)[0, 22, 32] == 255


def test_erasing_aspect_ratio_is_uniform_in_0_3_to_3_33():
    rng = np.random.default_rng(0)
    boxes = np.array([erase_box(64, 44, rng) for _ in range(20000)])
    top, left, eh, ew = boxes.T
    ratio = eh / ew
    # Uniform on [0.3, 1/0.3]: P(ratio > 1) = (10/3 - 1) / (10/3 - 0.3) = 0.769, P(ratio > 2) =
    # 0.440 (log-uniform would give 0.5 and 0.213); rounding to whole pixels moves these by ~1 %.
    assert (ratio > 1).mean() == pytest.approx(0.769, abs=0.02)
    assert (ratio > 2).mean() == pytest.approx(0.440, abs=0.02)
    area = eh * ew / (64 * 44)
    assert area.min() > 0.04 and area.max() < 0.22
    assert area.mean() == pytest.approx(0.125, abs=0.01)
    # Anywhere in the frame, the first and last rows and columns included.
    assert (top == 0).any() and (left == 0).any()
    assert (top + eh == 64).any() and (left + ew == 44).any()
    assert (top + eh <= 64).all() and (left + ew <= 44).all()


def _bar() -> np.ndarray:
    frames = np.zeros((2, 64, 64), np.uint8)
    frames[:, 10:54, 30:34] = 255  # columns 30..33, rows 10..53
    return frames


def test_perspective_stretches_a_vertical_bar_horizontally():
    # Source quad columns 9 and 54 onto 0 and 63: x' = (x - 9) * 63 / 45 = 1.4 (x - 9). The bar's
    # columns 30..33 (4 wide, centre 31.5) become more than half lit at x' 29..34 (bilinear,
    # source 9 + x' / 1.4 within 29.5..33.5): 6 wide, centre 31.5. Rows are untouched.
    out = perspective(_bar(), left=(9, 9), right=(54, 54))
    lit = out[0] > 127
    assert np.array_equal(np.flatnonzero(lit.any(1)), np.arange(10, 54))  # height kept
    assert np.array_equal(np.flatnonzero(lit[30]), np.arange(29, 35))
    assert (lit == lit[30]).all(1)[10:54].all()  # every row of the bar alike
    assert np.array_equal(out[0], out[1])  # one matrix for the whole sequence


def test_random_perspective_never_narrows_the_bar():
    rng = np.random.default_rng(1)
    widths = []
    for _ in range(30):
        lit = _perspective(_bar(), rng)[0] > 127
        widths.append(lit[31].sum())
        assert lit[31].sum() >= 4  # a stretch (scale 63 / 45 .. 1), never a shrink
    assert max(widths) > 4


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    """4 subjects x 2 sequences of 12 frames; frame t of every sequence is filled with t + 1."""
    path = tmp_path_factory.mktemp("aug") / "s.h5"
    frames = np.repeat(np.arange(1, 13, dtype=np.uint8)[:, None, None], 64, 1).repeat(64, 2)
    with StoreWriter(path, dataset="casia-b", size=64, source="test") as w:
        for s in range(4):
            for q in range(2):
                w.add(f"{s:03d}", f"nm-{q:02d}", "000", frames)
    return path


def _unfixed(store_path, **kw):
    store = Store(store_path)
    labels = store.index["subject"].astype(int).to_numpy()
    args = {"p": 2, "k": 2, "sample_type": "unfixed_ordered", "frames_min": 2, "frames_max": 9}
    return TrainClips(store_path, np.arange(len(store)), labels, seed=5, **{**args, **kw})


def test_unfixed_frame_count_is_drawn_for_each_sequence(store_path):
    ds = _unfixed(store_path)
    per_batch = []
    for it in range(6):
        sils, labels, lens = ds[it]
        assert sils.shape == (4, int(lens.max()), 64, 44) and labels.shape == (4,)
        assert ((lens >= 2) & (lens <= 9)).all()
        for clip, n in zip(sils.numpy(), lens.tolist()):
            assert (clip[:n] > 0).all() and (clip[n:] == 0).all()  # real frames, then padding
            assert (np.diff(clip[:n, 0, 0].astype(int)) > 0).all()  # ordered, no repeats
        per_batch.append(len(set(lens.tolist())))
    assert max(per_batch) > 1  # counts differ inside one batch
    # Under DDP each rank keeps its share, every sequence with the count it has in the batch.
    whole = ds[3][2]
    shares = [_unfixed(store_path, rank=r, world_size=2)[3][2] for r in (0, 1)]
    assert torch.equal(whole[0::2], shares[0]) and torch.equal(whole[1::2], shares[1])


def test_gaitbase_ignores_padding_even_in_its_batchnorm_statistics():
    torch.manual_seed(0)
    model = create("gaitbase-tiny", "casia-b", num_classes=4).train()
    sils = torch.rand(3, 6, 64, 44)
    lens = torch.tensor([6, 2, 4])
    noisy = sils.clone()
    for row, n in zip(noisy, lens.tolist()):
        row[n:] = torch.rand_like(row[n:])  # other padding content
    with torch.no_grad():
        a = model(sils, lens).embeddings
        b = model(noisy, lens).embeddings
    assert torch.equal(a, b)
