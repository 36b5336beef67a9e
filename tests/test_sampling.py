"""P x K sampling, OpenGait's frame sampling, the 64->44 cut and the lazily opened dataset."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gaitbench.data.sampling import (
    PKSampler,
    TrainClips,
    augment_sequence,
    cut_and_scale,
    iteration_loader,
    sample_frame_indices,
)
from gaitbench.data.store import Store, StoreWriter


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    """6 subjects x 3 sequences of 3..11 random frames."""
    path = tmp_path_factory.mktemp("sampling") / "s.h5"
    rng = np.random.default_rng(0)
    with StoreWriter(path, dataset="casia-b", size=64, source="test") as w:
        for s in range(6):
            for q in range(3):
                t_len = int(rng.integers(3, 12))
                frames = (rng.random((t_len, 64, 64)) < 0.3).astype(np.uint8) * 255
                w.add(f"{s:03d}", f"nm-{q:02d}", "000", frames)
    return path


def test_cut_and_scale_keeps_the_central_columns():
    frames = np.tile(np.arange(64, dtype=np.uint8), (2, 64, 1))  # value = column index
    out = cut_and_scale(frames)
    assert out.shape == (2, 64, 44) and out.dtype == np.float32
    assert out[0, 0, 0] == pytest.approx(10 / 255) and out[0, 0, -1] == pytest.approx(53 / 255)
    big = cut_and_scale(torch.full((1, 128, 128), 255, dtype=torch.uint8))
    assert big.shape == (1, 128, 88) and big.max().item() == 1.0


def test_fixed_ordered_clip_is_sorted_in_a_window():
    rng = np.random.default_rng(0)
    for _ in range(50):
        idx = sample_frame_indices(40, 30, rng, ordered=True, skip=4)
        assert len(idx) == 30 and len(set(idx)) == 30
        assert np.all(np.diff(idx) > 0) and idx[-1] - idx[0] < 34


def test_short_sequence_is_tiled_for_an_ordered_clip():
    rng = np.random.default_rng(1)
    idx = sample_frame_indices(7, 30, rng, ordered=True)
    assert len(idx) == 30 and idx.max() < 7
    # Tiling keeps the walk in order: indices rise and wrap back to 0 at most ceil(30/7) times.
    assert (np.diff(idx) < 0).sum() <= 5 and set(idx) == set(range(7))


def test_unordered_set_replaces_only_when_short():
    rng = np.random.default_rng(2)
    long = sample_frame_indices(50, 30, rng, ordered=False)
    assert len(set(long)) == 30 and not np.all(np.diff(long) > 0)
    short = sample_frame_indices(10, 30, rng, ordered=False)
    assert len(short) == 30 and short.max() < 10


def test_pk_sampler_is_p_ids_times_k_and_deterministic():
    labels = [0] * 5 + [1] * 5 + [2] * 2 + [3] * 5 + [4] * 5
    sampler = PKSampler(labels, p=3, k=4, seed=7)
    batch = sampler.batch(11)
    picked = np.asarray(labels)[batch]
    ids, counts = np.unique(picked, return_counts=True)
    assert len(batch) == 12 and len(ids) == 3 and set(counts) == {4}
    assert np.array_equal(batch, PKSampler(labels, 3, 4, seed=7).batch(11))
    assert not np.array_equal(batch, sampler.batch(12))
    # An identity with 2 sequences still fills K = 4 (with replacement).
    for it in range(40):
        b = sampler.batch(it)
        assert (np.asarray(labels)[b] == 2).sum() in (0, 4)
    with pytest.raises(ValueError, match="fewer than"):
        PKSampler(labels, p=6, k=2)


def _dataset(store_path, **kw):
    store = Store(store_path)
    rows = np.arange(len(store))
    labels = store.index["subject"].astype(int).to_numpy()
    args = dict(p=3, k=2, frames=5, seed=3)
    args.update(kw)
    return TrainClips(store_path, rows, labels, **args)


def test_batch_shapes_and_labels_match_the_frames(store_path):
    sils, labels = _dataset(store_path)[4]
    assert sils.shape == (6, 5, 64, 44) and sils.dtype == torch.uint8
    # Labels are those of the rows the sampler chose for this iteration.
    ds = _dataset(store_path)
    batch = ds.sampler.batch(4)
    assert torch.equal(labels, torch.from_numpy(ds.labels[batch]))


def test_frames_come_from_the_sampled_sequence_in_order(store_path):
    ds = _dataset(store_path, sample_type="fixed_ordered", augment=())
    store = Store(store_path)
    batch = ds.sampler.batch(0)
    sils, _ = ds[0]
    for j, pos in enumerate(batch):
        seq = store.read(int(ds.rows[pos]))[:, :, 10:54]
        # Each clip frame is one of the sequence's frames.
        for frame in sils[j].numpy():
            assert any(np.array_equal(frame, f) for f in seq)


def test_ddp_shares_partition_the_global_batch(store_path):
    whole = _dataset(store_path)[9]
    r0 = _dataset(store_path, rank=0, world_size=2)[9]
    r1 = _dataset(store_path, rank=1, world_size=2)[9]
    assert torch.equal(whole[0][0::2], r0[0]) and torch.equal(whole[0][1::2], r1[0])
    assert torch.equal(torch.cat([r0[1], r1[1]]).sort().values, whole[1].sort().values)
    with pytest.raises(ValueError, match="does not split"):
        _dataset(store_path, p=3, k=1, world_size=2)


def test_workers_open_the_store_lazily_and_give_the_same_batches(store_path):
    ds = _dataset(store_path)
    serial = list(iteration_loader(ds, 2, 6, workers=0))
    parallel = list(iteration_loader(_dataset(store_path), 2, 6, workers=2))
    assert len(serial) == len(parallel) == 4
    for (a, la), (b, lb) in zip(serial, parallel):
        assert torch.equal(a, b) and torch.equal(la, lb)


def test_augmentations_keep_shape_and_flip_mirrors():
    rng = np.random.default_rng(0)
    frames = (rng.random((4, 64, 64)) < 0.5).astype(np.uint8) * 255
    flipped = augment_sequence(frames, [("flip", 1.0)], rng)
    assert np.array_equal(flipped, frames[:, :, 10:54][:, :, ::-1])
    for name in ("rotate", "erase", "perspective"):
        out = augment_sequence(frames, [(name, 1.0)], np.random.default_rng(1))
        assert out.shape == (4, 64, 44) and not np.array_equal(out, frames[:, :, 10:54])
    assert np.array_equal(augment_sequence(frames, [("rotate", 0.0)], rng), frames[:, :, 10:54])
