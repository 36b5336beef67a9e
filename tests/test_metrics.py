import numpy as np
import pytest

from gaitbench.evaluation.metrics import (
    average_precision,
    cmc,
    exclude_identical_views,
    inverse_negative_penalty,
    rank1_percent,
    rank_metrics,
    ranked_matches,
)


def test_ap_and_inp_by_hand():
    # One probe "a"; gallery ordered by distance: a, b, a, b, a -> true matches at ranks 1, 3, 5.
    dist = np.array([[0.1, 0.2, 0.3, 0.4, 0.5]])
    g = np.array(["a", "b", "a", "b", "a"])
    m = ranked_matches(dist, np.array(["a"]), g)
    assert average_precision(m)[0] == pytest.approx((1 / 1 + 2 / 3 + 3 / 5) / 3)
    assert inverse_negative_penalty(m)[0] == pytest.approx(3 / 5)
    r = rank_metrics(dist, np.array(["a"]), g, ranks=(1, 2))
    assert r.ranks == {1: 100.0, 2: 100.0}
    assert r.mAP == pytest.approx(100 * (1 + 2 / 3 + 3 / 5) / 3)
    assert r.mINP == pytest.approx(60.0)


def test_rank_k_ap_inp_two_probes():
    # probe x: order (by distance) y, x  -> rank-1 miss, rank-2 hit, AP 1/2, INP 1/2
    # probe y: order y, x                -> rank-1 hit, AP 1, INP 1
    dist = np.array([[0.9, 0.1], [0.8, 0.2]])
    r = rank_metrics(dist, np.array(["x", "y"]), np.array(["x", "y"]), ranks=(1, 2))
    assert r.ranks[1] == 50.0 and r.ranks[2] == 100.0
    assert r.mAP == pytest.approx(75.0) and r.mINP == pytest.approx(75.0)


def test_ties_keep_gallery_order():
    dist = np.array([[0.5, 0.5]])
    assert rank_metrics(dist, np.array(["b"]), np.array(["a", "b"]), ranks=(1,)).ranks[1] == 0.0
    assert rank_metrics(dist, np.array(["a"]), np.array(["a", "b"]), ranks=(1,)).ranks[1] == 100.0


def test_probe_without_match_skip_or_miss():
    dist = np.array([[0.1, 0.2], [0.3, 0.1]])
    p, g = np.array(["a", "z"]), np.array(["a", "b"])  # "z" is not in the gallery
    skip = rank_metrics(dist, p, g, ranks=(1,), unmatched="skip")
    miss = rank_metrics(dist, p, g, ranks=(1,), unmatched="miss")
    assert skip.ranks[1] == 100.0 and miss.ranks[1] == 50.0
    assert skip.n_valid == miss.n_valid == 1 and skip.n_probe == 2
    assert skip.mAP == miss.mAP == 100.0  # AP only over probes with a true match


def test_one_element_gallery_and_rank_beyond_gallery():
    dist = np.array([[0.3], [0.1]])
    r = rank_metrics(
        dist, np.array(["a", "b"]), np.array(["a"]), ranks=(1, 5, 20), unmatched="miss"
    )
    assert r.ranks == {1: 50.0, 5: 50.0, 20: 50.0}
    assert cmc(np.array([[False, True]]), 4).tolist() == [[False, True, True, True]]


def test_rank1_rounds_like_the_reference():
    # 1 of 3 correct: 33.333... -> 33.33
    assert rank1_percent(np.array(["a", "x", "x"]), np.array(["a", "b", "c"])) == 33.33
    assert np.isnan(rank1_percent(np.array([]), np.array([])))


def test_identical_views_excluded():
    acc = np.array([[100.0, 80.0, 60.0], [90.0, 100.0, 70.0], [np.nan, np.nan, np.nan]])
    out = exclude_identical_views(acc)
    assert out[0] == 70.0 and out[1] == 80.0 and np.isnan(out[2])
