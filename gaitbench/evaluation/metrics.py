"""Retrieval metrics from a distance matrix and identity labels: pure numpy, no model, no I/O.

Definitions follow the field's reference evaluator (OpenGait, itself taken from the Gait3D
benchmark and torchreid):

* the gallery is ranked by ascending distance (ties keep gallery order);
* CMC rank-k: a probe counts as a hit if a true match is among its k nearest gallery items;
* AP of one probe: the mean of precision@k over the positions k of its true matches;
* INP of one probe: (number of true matches) / (1-based rank of its *last* true match), the
  corrected definition (OpenGait's was wrong for a year);
* probes with no true match in the gallery are either skipped (Gait3D, re-id) or counted as
  misses (GREW's local rank-k, CASIA-B / OU-MVLP rank-1); the caller says which.

All returned figures are in percent.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np


def ranked_matches(dist: np.ndarray, probe_ids: np.ndarray, gallery_ids: np.ndarray) -> np.ndarray:
    """bool ``[n, m]``: row i is True where the i-th probe's r-th nearest gallery item is a true match."""
    dist = np.asarray(dist)
    order = np.argsort(dist, axis=1, kind="stable")
    return np.asarray(gallery_ids)[order] == np.asarray(probe_ids)[:, None]


def cmc(matches: np.ndarray, max_rank: int) -> np.ndarray:
    """bool ``[n, max_rank]``: probe i has a true match within its first k+1 items.

    A gallery shorter than ``max_rank`` repeats its last column (rank-20 of a 5-item gallery is
    rank-5: every item has been seen).
    """
    hit = np.logical_or.accumulate(matches, axis=1) if matches.shape[1] else matches
    if hit.shape[1] >= max_rank:
        return hit[:, :max_rank]
    if hit.shape[1] == 0:
        return np.zeros((hit.shape[0], max_rank), dtype=bool)
    pad = np.repeat(hit[:, -1:], max_rank - hit.shape[1], axis=1)
    return np.concatenate([hit, pad], axis=1)


def average_precision(matches: np.ndarray) -> np.ndarray:
    """float64 ``[n]``: AP of each probe; NaN for a probe with no true match."""
    m = matches.astype(np.float64)
    n_rel = m.sum(axis=1)
    precision_at_k = np.cumsum(m, axis=1) / np.arange(1, m.shape[1] + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_rel > 0, (precision_at_k * m).sum(axis=1) / n_rel, np.nan)


def inverse_negative_penalty(matches: np.ndarray) -> np.ndarray:
    """float64 ``[n]``: INP = true matches / rank of the last true match; NaN with no true match."""
    n_rel = matches.sum(axis=1).astype(np.float64)
    # Position of the last True in each row: reverse the row, find the first True.
    last = matches.shape[1] - np.argmax(matches[:, ::-1], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_rel > 0, n_rel / last, np.nan)


@dataclass
class RankResult:
    """Rank-k accuracies, mAP and mINP in percent, with the probe counts they cover."""

    ranks: dict[int, float]
    mAP: float
    mINP: float
    n_probe: int
    n_valid: int  # probes with at least one true match in the gallery
    unmatched: str  # "skip" or "miss": how probes with no true match were counted
    per_probe: dict[str, np.ndarray] = field(default_factory=dict, repr=False)


def per_probe_ranking(
    dist: np.ndarray, probe_ids: np.ndarray, gallery_ids: np.ndarray, max_rank: int
) -> dict[str, np.ndarray]:
    """Per-probe pieces of the ranking metrics for a block of probe rows: ``hits`` bool
    ``[n, max_rank]`` (CMC), ``ap`` and ``inp`` float ``[n]`` (NaN without a true match),
    ``valid`` bool ``[n]`` and ``first`` int ``[n]`` (1-based rank of the first true match, 0
    without one). Blocks of rows can be concatenated, so a big gallery is ranked in pieces."""
    matches = ranked_matches(dist, probe_ids, gallery_ids)
    valid = matches.any(axis=1)
    return {
        "hits": cmc(matches, max_rank),
        "ap": average_precision(matches),
        "inp": inverse_negative_penalty(matches),
        "valid": valid,
        "first": np.where(valid, np.argmax(matches, axis=1) + 1, 0),
    }


def summarise_ranking(
    pieces: dict[str, np.ndarray], ranks: tuple[int, ...] = (1, 5, 10, 20), unmatched: str = "skip"
) -> RankResult:
    """Rank-k, mAP and mINP (percent) from `per_probe_ranking` output.

    ``unmatched="skip"`` leaves probes without a true match out of every figure (Gait3D);
    ``"miss"`` keeps them in the rank-k denominator as failures (GREW's local split). mAP and
    mINP are always over probes with a true match: AP is undefined without one.
    """
    if unmatched not in ("skip", "miss"):
        raise ValueError(f"unmatched must be 'skip' or 'miss', got {unmatched!r}")
    valid, hits = pieces["valid"], pieces["hits"]
    counted = valid if unmatched == "skip" else np.ones_like(valid)

    def pct(x: np.ndarray) -> float:
        return float(100.0 * x.mean()) if x.size else float("nan")

    return RankResult(
        ranks={k: pct(hits[counted, k - 1]) for k in ranks},
        mAP=pct(pieces["ap"][valid]),
        mINP=pct(pieces["inp"][valid]),
        n_probe=int(len(valid)),
        n_valid=int(valid.sum()),
        unmatched=unmatched,
        per_probe=pieces,
    )


def rank_metrics(
    dist: np.ndarray,
    probe_ids: np.ndarray,
    gallery_ids: np.ndarray,
    ranks: tuple[int, ...] = (1, 5, 10, 20),
    unmatched: str = "skip",
) -> RankResult:
    """CMC rank-k, mAP and mINP (percent) of a ``[n, m]`` distance matrix; see `summarise_ranking`."""
    return summarise_ranking(
        per_probe_ranking(dist, probe_ids, gallery_ids, max(ranks)), ranks, unmatched
    )


def rank1_percent(
    nearest_ids: np.ndarray, probe_ids: np.ndarray, decimals: int | None = 2
) -> float:
    """Rank-1 in percent from each probe's nearest gallery id; rounded as the reference rounds
    every (probe view, gallery view) cell (to 2 decimals) before averaging. NaN for no probes."""
    n = len(probe_ids)
    if n == 0:
        return float("nan")
    acc = np.sum(np.asarray(nearest_ids) == np.asarray(probe_ids)) * 100 / n
    return float(np.round(acc, decimals)) if decimals is not None else float(acc)


def exclude_identical_views(acc: np.ndarray) -> np.ndarray:
    """``[V, V]`` rank-1 per (probe view, gallery view) -> ``[V]`` per probe view, the diagonal
    (same view) left out and the other cells averaged; NaN cells (no probes) are ignored."""
    off = acc.astype(np.float64).copy()
    np.fill_diagonal(off, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN row is a view without probes
        return np.nanmean(off, axis=1)
