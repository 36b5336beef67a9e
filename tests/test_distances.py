import numpy as np
import pytest
import torch

from gaitbench.errors import GaitbenchError
from gaitbench.evaluation.distances import (
    iter_distance_rows,
    nearest_and_first_match_rank,
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


def _line(xs):
    """1-part, 1-channel embeddings at the points ``xs``: euc distances from a probe at 0 or 10
    to these integer points are exact in float32 (no rounding decides a rank)."""
    return np.array(xs, np.float32).reshape(-1, 1, 1)


@pytest.mark.parametrize("chunk", [None, 4 * 3, 4 * 5])
def test_first_match_rank_by_hand(chunk):
    # Gallery rows (group, subject, point); probes: subject 1 at 0, subject 2 at 10.
    gallery = [
        (0, 2, 1), (0, 3, 2), (0, 1, 3), (0, 4, 4), (0, 1, 5),  # from 0: 2, 3, [1] -> rank 3
        (1, 1, 1), (1, 2, 2),                                   # from 0: [1] -> rank 1
        (2, 2, 2), (2, 1, -2),        # from 0: a tie at 2, the non-match first -> rank 2 (miss)
        (3, 1, 2), (3, 2, -2),        # from 0: a tie at 2, the true match first -> rank 1 (hit)
        (4, 3, 0),                    # no sequence of subject 1 or 2 -> 0
    ]  # fmt: skip
    group, label, xs = (np.array(c) for c in zip(*gallery))
    kw = {} if chunk is None else {"max_chunk_bytes": chunk}  # 3 or 5 columns a block: groups
    d, idx, rank = nearest_and_first_match_rank(  # straddle blocks
        _line([0, 10]), _line(xs), group, 5, np.array([1, 2]), label, **kw
    )
    np.testing.assert_array_equal(rank[0], [3, 1, 2, 1, 0])
    # subject 2 at 10, group 0: distances 9, 8, 7, 6, 5 (labels 2, 3, 1, 4, 1) -> rank 5;
    # group 1: 9 (1), 8 (2) -> 1; group 2: 8 (2), 12 (1) -> 1; group 3: 8 (1), 12 (2) -> 2
    np.testing.assert_array_equal(rank[1], [5, 1, 1, 2, 0])
    # rank 1 is exactly "the nearest sequence (earlier row on a tie) is a true match"
    np.testing.assert_array_equal(rank == 1, label[idx] == np.array([[1], [2]]))
    assert idx[0, 2] == 7 and idx[0, 3] == 9 and d[0, 2] == d[0, 3] == 2.0
    same = nearest_per_group(_line([0, 10]), _line(xs), group, 5, **kw)
    np.testing.assert_array_equal(same[1], idx)


@pytest.mark.parametrize("metric", ["euc", "cos"])
def test_first_match_rank_equals_a_stable_sort(emb, metric):
    # Random embeddings, groups in gallery order so the blocks are pairwise_distance's: the rank
    # is the stable argsort position of the first true match, however the groups are blocked.
    p, g = emb
    group = np.repeat(np.arange(4), [9, 1, 13, 8])
    rng = np.random.default_rng(1)
    p_lab, g_lab = rng.integers(0, 3, len(p)), rng.integers(0, 3, len(g))
    for chunk in (5 * 4 * 7, 5 * 4 * 4 * 31):
        _, idx, rank = nearest_and_first_match_rank(
            p, g, group, 4, p_lab, g_lab, metric, max_chunk_bytes=chunk
        )
        full = pairwise_distance(p, g, metric, max_chunk_bytes=chunk).numpy()
        for k in range(4):
            cols = np.flatnonzero(group == k)
            order = np.argsort(full[:, cols], axis=1, kind="stable")
            true = g_lab[cols][order] == p_lab[:, None]
            want = np.where(true.any(1), true.argmax(1) + 1, 0)
            np.testing.assert_array_equal(rank[:, k], want)
        np.testing.assert_array_equal(rank == 1, g_lab[idx] == p_lab[:, None])


def test_bad_inputs_are_user_errors(emb):
    p, g = emb
    with pytest.raises(GaitbenchError, match="metric"):
        pairwise_distance(p, g, "l1")
    with pytest.raises(GaitbenchError, match="differ in shape"):
        pairwise_distance(p, g[:, :4], "euc")
    with pytest.raises(GaitbenchError, match="parts, channels"):
        pairwise_distance(p[:, 0], g[:, 0])
