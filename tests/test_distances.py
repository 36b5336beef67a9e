import numpy as np
import pytest
import torch

from gaitbench.errors import GaitbenchError
from gaitbench.evaluation.distances import (
    iter_distance_rows,
    nearest_per_group,
    pairwise_distance,
)

torch.set_num_threads(1)


def naive(p, g, metric):
    """Per-part loop in float64, written from the definition."""
    out = np.zeros((len(p), len(g)))
    for k in range(p.shape[1]):
        a, b = p[:, k].astype(np.float64), g[:, k].astype(np.float64)
        if metric == "cos":
            a = a / np.linalg.norm(a, axis=1, keepdims=True)
            b = b / np.linalg.norm(b, axis=1, keepdims=True)
            out += a @ b.T
        else:
            out += np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))
    out /= p.shape[1]
    return 1 - out if metric == "cos" else out


@pytest.fixture
def emb():
    rng = np.random.default_rng(0)
    return rng.normal(size=(23, 5, 8)).astype(np.float32), rng.normal(size=(31, 5, 8)).astype(
        np.float32
    )


@pytest.mark.parametrize("metric", ["euc", "cos"])
def test_matches_per_part_definition(emb, metric):
    p, g = emb
    d = pairwise_distance(p, g, metric).numpy()
    assert d.dtype == np.float32 and d.shape == (23, 31)
    np.testing.assert_allclose(d, naive(p, g, metric), rtol=1e-5, atol=1e-5)


def test_euc_is_mean_of_part_distances_not_concatenated():
    # Two parts: probe (0,0 | 0,0), gallery (3,4 | 0,0): parts 5 and 0 -> mean 2.5;
    # the concatenated vector's distance would be 5.
    p = np.zeros((1, 2, 2), np.float32)
    g = np.array([[[3, 4], [0, 0]]], np.float32)
    assert pairwise_distance(p, g).item() == pytest.approx(2.5)


def test_identical_vectors_give_zero_not_nan():
    x = np.full((2, 3, 4), 0.5, np.float32)
    d = pairwise_distance(x, x).numpy()
    assert np.all(d >= 0) and np.allclose(d, 0, atol=1e-3) and not np.isnan(d).any()


@pytest.mark.parametrize("metric", ["euc", "cos"])
def test_chunking_changes_nothing(emb, metric):
    p, g = emb
    whole = pairwise_distance(p, g, metric).numpy()
    tiny = pairwise_distance(p, g, metric, max_chunk_bytes=5 * 4 * 7).numpy()  # 7 cells per block
    np.testing.assert_allclose(tiny, whole, rtol=1e-6, atol=1e-6)


def test_nearest_per_group_equals_brute_force(emb):
    p, g = emb
    groups = np.arange(len(g)) % 4
    groups[groups == 2] = 3  # group 2 left empty
    d, idx = nearest_per_group(p, g, groups, 4, max_chunk_bytes=5 * 4 * 9)
    full = naive(p, g, "euc")
    for k in (0, 1, 3):
        cols = np.flatnonzero(groups == k)
        np.testing.assert_array_equal(idx[:, k], cols[full[:, cols].argmin(1)])
        np.testing.assert_allclose(d[:, k], full[:, cols].min(1), rtol=1e-5)
    assert (idx[:, 2] == -1).all() and np.isinf(d[:, 2]).all()


@pytest.mark.parametrize("metric", ["euc", "cos"])
def test_row_indices_equal_copies(emb, metric):
    # A protocol passes one array and index arrays; the result must be bit-identical to copies.
    p, g = emb
    both = np.concatenate([p, g])
    p_rows = np.arange(len(p))[::-1][::2]
    g_rows = len(p) + np.arange(0, len(g), 3)
    groups = np.arange(len(g_rows)) % 3
    small = 5 * 4 * 11  # 11 cells per block: several probe and gallery blocks
    copies = nearest_per_group(p[p_rows], both[g_rows], groups, 3, metric, max_chunk_bytes=small)
    rows = nearest_per_group(
        both, both, groups, 3, metric, max_chunk_bytes=small, probe_rows=p_rows, gallery_rows=g_rows
    )
    for a, b in zip(copies, rows):
        np.testing.assert_array_equal(a, b)
    full = {
        (rs.start, cs.start): d.numpy()
        for rs, blocks in iter_distance_rows(
            both, both, metric, max_chunk_bytes=small, probe_rows=p_rows, gallery_rows=g_rows
        )
        for cs, d in blocks()
    }
    expected = pairwise_distance(p[p_rows], both[g_rows], metric, max_chunk_bytes=small).numpy()
    assert sum(d.size for d in full.values()) == expected.size
    for (r, c), d in full.items():
        np.testing.assert_array_equal(d, expected[r : r + d.shape[0], c : c + d.shape[1]])


def test_bad_inputs_are_user_errors(emb):
    p, g = emb
    with pytest.raises(GaitbenchError, match="metric"):
        pairwise_distance(p, g, "l1")
    with pytest.raises(GaitbenchError, match="differ in shape"):
        pairwise_distance(p, g[:, :4], "euc")
    with pytest.raises(GaitbenchError, match="parts, channels"):
        pairwise_distance(p[:, 0], g[:, 0])
