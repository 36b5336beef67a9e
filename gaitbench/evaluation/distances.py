"""Distances between part-wise gait embeddings, as the field's reference evaluator defines them.

* ``euc``: for every part (horizontal strip) the Euclidean distance between the two part vectors,
  then the mean over parts. This is *not* the distance of the concatenated vectors; the two rank
  differently, and published numbers use the mean of per-part distances.
* ``cos``: every part vector L2-normalised, the per-part dot products averaged over parts,
  distance = 1 - mean cosine.

All parts are handled by one batched matrix product per (probe chunk, gallery chunk) instead of a
Python loop over parts and view pairs, and the work is chunked so that the peak temporary memory
stays near ``max_chunk_bytes`` whatever the number of sequences. Accumulation is float32 on any
device, like the reference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import torch

from gaitbench.errors import GaitbenchError

METRICS = ("euc", "cos")

# 256 MiB of float32 temporaries per chunk: big enough that the matrix products run at full
# speed, small enough that OU-MVLP-size protocols stay far below a laptop's memory.
DEFAULT_CHUNK_BYTES = 256 * 2**20
# Rows are gathered / squared 64 MiB at a time when embeddings are prepared.
GATHER_BYTES = 64 * 2**20


def check_metric(metric: str) -> str:
    if metric not in METRICS:
        raise GaitbenchError(f"unknown distance metric {metric!r}: use one of {', '.join(METRICS)}")
    return metric


Rows = slice | np.ndarray | None


def _check_shape(emb: np.ndarray | torch.Tensor) -> tuple[int, int, int]:
    if emb.ndim != 3:
        raise GaitbenchError(
            f"embeddings must have shape [n, parts, channels], got {tuple(emb.shape)}: "
            "re-extract them with `gaitbench evaluate`"
        )
    return tuple(emb.shape)


def _row_indices(n: int, rows: Rows) -> np.ndarray:
    """``rows`` of an n-row array (every row when None) as a fresh contiguous int64 array: torch
    takes it as an index whatever its stride or dtype was."""
    if rows is None:
        return np.arange(n, dtype=np.int64)
    if isinstance(rows, slice):
        return np.arange(n, dtype=np.int64)[rows].copy()
    return np.array(rows, dtype=np.int64)


def _gather_step(parts: int, channels: int) -> int:
    """How many rows of ``parts x channels`` float32 make one GATHER_BYTES block."""
    return max(1, GATHER_BYTES // max(1, 4 * parts * channels))


def as_parts_first(
    emb: np.ndarray | torch.Tensor,
    device: str | torch.device = "cpu",
    rows: Rows = None,
    extra: int = 0,
) -> torch.Tensor:
    """``emb[rows]`` (``[n, parts, channels]``; every row when None) -> float32
    ``[parts, n, channels + extra]`` on ``device``, contiguous; the ``extra`` trailing channels
    are left for the caller to fill.

    Gathered a block of rows at a time into the result, so selecting the gallery of a 144k-sequence
    set costs the result's memory and no second copy on the way.
    """
    _, parts, channels = _check_shape(emb)
    src = torch.as_tensor(emb)
    rows = torch.from_numpy(_row_indices(len(src), rows))
    out = torch.empty((parts, len(rows), channels + extra), dtype=torch.float32, device=device)
    step = _gather_step(parts, channels)
    for i in range(0, len(rows), step):
        block = src[rows[i : i + step]].to(device=device, dtype=torch.float32)
        out[:, i : i + step, :channels] = block.transpose(0, 1)
    return out


def prepare(
    emb: np.ndarray | torch.Tensor,
    metric: str,
    device: str | torch.device = "cpu",
    rows: Rows = None,
    side: str = "gallery",
) -> torch.Tensor:
    """``emb[rows]`` ready for `distance_block`, parts-first ``[parts, n, k]``.

    ``cos``: every part vector L2-normalised (k = channels). ``euc``: the squared distance
    ``|x|^2 + |y|^2 - 2 x.y`` is made a single dot product by two extra channels, probe rows
    ``[-2x, |x|^2, 1]`` and gallery rows ``[y, 1, |y|^2]`` (k = channels + 2; scaling by -2 is
    exact in floating point). The batched product then writes the squared distances directly,
    with no broadcast sum of norms and no second pass over the block: the arithmetic is the
    compute floor's plus 2 of 128-256 channels. Prepared a block of rows at a time, in place.
    """
    check_metric(metric)
    if metric == "cos":
        x = as_parts_first(emb, device, rows)
        # F.normalize's arithmetic (x / max(|x|, eps)), in place
        norm = torch.linalg.vector_norm(x, 2, dim=2, keepdim=True).clamp_min_(1e-12)
        return x.div_(norm)
    x = as_parts_first(emb, device, rows, extra=2)
    c = x.shape[2] - 2
    step = _gather_step(x.shape[0], x.shape[2])
    norm_col, one_col = (c, c + 1) if side == "probe" else (c + 1, c)
    for i in range(0, x.shape[1], step):
        block = x[:, i : i + step, :c]
        x[:, i : i + step, norm_col] = (block * block).sum(dim=2)
        x[:, i : i + step, one_col] = 1.0
        if side == "probe":
            block.mul_(-2.0)
    return x


def distance_block(
    x: torch.Tensor, y: torch.Tensor, metric: str, work: torch.Tensor | None = None
) -> torch.Tensor:
    """Distances between prepared blocks ``x`` ``[parts, a, k]`` (probe side) and ``y``
    ``[parts, b, k]`` (gallery side) -> ``[a, b]``.

    ``work``: a float32 buffer of at least ``parts * a * b`` elements for the per-part products,
    reused across blocks so that no block pays for fresh pages.
    """
    parts, a, b = x.shape[0], x.shape[1], y.shape[1]
    if work is None:
        work = torch.empty(parts * a * b, dtype=torch.float32, device=x.device)
    per_part = torch.bmm(x, y.transpose(1, 2), out=work[: parts * a * b].view(parts, a, b))
    if metric == "euc":
        per_part.clamp_min_(0.0).sqrt_()  # sqrt(relu(.)) per part, in place
    # The mean over parts as a matrix-vector product (1/parts . [parts, a*b]): one streaming pass
    # that BLAS runs faster than a reduction over the leading dimension.
    weights = torch.full((1, parts), 1.0 / parts, dtype=per_part.dtype, device=per_part.device)
    mean = torch.mm(weights, per_part.view(parts, a * b)).view(a, b)
    return mean.neg_().add_(1.0) if metric == "cos" else mean


def chunk_sizes(parts: int, n_probe: int, n_gallery: int, max_chunk_bytes: int) -> tuple[int, int]:
    """(probe rows, gallery rows) per block so that ``parts * rows * cols * 4`` fits the budget."""
    cells = max(1, max_chunk_bytes // (4 * max(parts, 1)))
    cols = max(1, min(n_gallery, 8192, cells))
    rows = max(1, min(n_probe, cells // cols))
    return rows, cols


def iter_distance_rows(
    probe: np.ndarray | torch.Tensor,
    gallery: np.ndarray | torch.Tensor,
    metric: str = "euc",
    device: str | torch.device = "cpu",
    max_chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    probe_rows: Rows = None,
    gallery_rows: Rows = None,
) -> Iterator[tuple[slice, Callable[[], Iterator[tuple[slice, torch.Tensor]]]]]:
    """Walk the probe x gallery distance matrix block by block without ever holding it whole.

    ``probe_rows`` / ``gallery_rows`` select rows of ``probe`` / ``gallery`` (all when None), so a
    protocol passes one embeddings array and two index arrays instead of copies. The gallery is
    prepared once; the probes a block at a time. Yields ``(probe_rows, blocks)`` where the slice
    counts selected probes; calling ``blocks()`` yields ``(gallery_cols, dist)`` with ``dist``
    float32 ``[len(probe_rows), len(gallery_cols)]`` on ``device``.
    """
    check_metric(metric)
    p_shape, g_shape = _check_shape(probe), _check_shape(gallery)
    if p_shape[1:] != g_shape[1:]:
        raise GaitbenchError(
            f"probe embeddings [*, {p_shape[1]}, {p_shape[2]}] and gallery embeddings "
            f"[*, {g_shape[1]}, {g_shape[2]}] differ in shape: extract both with the same model"
        )
    y = prepare(gallery, metric, device, gallery_rows, side="gallery")
    probe_idx = _row_indices(p_shape[0], probe_rows)
    n = len(probe_idx)
    rows, cols = chunk_sizes(p_shape[1], n, y.shape[1], max_chunk_bytes)
    work = torch.empty(p_shape[1] * rows * cols, dtype=torch.float32, device=y.device)
    for r0 in range(0, n, rows):
        rs = slice(r0, min(r0 + rows, n))
        xb = prepare(probe, metric, device, probe_idx[rs], side="probe")

        def blocks(xb=xb):
            for c0 in range(0, y.shape[1], cols):
                cs = slice(c0, min(c0 + cols, y.shape[1]))
                yield cs, distance_block(xb, y[:, cs], metric, work)

        yield rs, blocks


def pairwise_distance(
    probe: np.ndarray | torch.Tensor,
    gallery: np.ndarray | torch.Tensor,
    metric: str = "euc",
    device: str | torch.device = "cpu",
    max_chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> torch.Tensor:
    """Full distance matrix: probe ``[n, parts, c]`` x gallery ``[m, parts, c]`` -> float32 ``[n, m]``.

    Only the result is held whole; use `iter_distance_rows` when even ``[n, m]`` is too big.
    """
    n = len(probe)
    m = len(gallery)
    out = torch.empty((n, m), dtype=torch.float32, device=device)
    for rs, blocks in iter_distance_rows(probe, gallery, metric, device, max_chunk_bytes):
        for cs, d in blocks():
            out[rs, cs] = d
    return out


def nearest_per_group(
    probe: np.ndarray | torch.Tensor,
    gallery: np.ndarray | torch.Tensor,
    gallery_group: np.ndarray,
    n_groups: int,
    metric: str = "euc",
    device: str | torch.device = "cpu",
    max_chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    probe_rows: np.ndarray | None = None,
    gallery_rows: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """For every probe, its nearest gallery sequence within each gallery group (e.g. each view).

    probe ``[n, parts, c]``, gallery ``[m, parts, c]``; ``probe_rows`` / ``gallery_rows`` select
    rows of them (all when None); gallery_group int, one per selected gallery row, in
    ``0..n_groups-1``. Returns (distance float32 ``[n, n_groups]``, index int64 ``[n, n_groups]``
    into the selected gallery rows); a group with no gallery sequence gives ``inf`` and index
    ``-1``. On an exact tie the earlier selected gallery row is the nearest. Memory is the
    prepared gallery plus the chunk size, never ``n x m`` and never a copy of the probes: this is
    what lets OU-MVLP's 72k x 72k protocol run on a workstation.
    """
    d, i, _ = _scan_groups(
        probe, gallery, gallery_group, n_groups, metric, device, max_chunk_bytes,
        probe_rows, gallery_rows, None, None,
    )  # fmt: skip
    return d, i


def nearest_and_first_match_rank(
    probe: np.ndarray | torch.Tensor,
    gallery: np.ndarray | torch.Tensor,
    gallery_group: np.ndarray,
    n_groups: int,
    probe_label: np.ndarray,
    gallery_label: np.ndarray,
    metric: str = "euc",
    device: str | torch.device = "cpu",
    max_chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    probe_rows: np.ndarray | None = None,
    gallery_rows: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`nearest_per_group` plus, in the same pass over the distances, the 1-based rank of every
    probe's first true match (same integer label, one per selected probe / gallery row) within
    each gallery group: int64 ``[n, n_groups]``, 0 where the group holds no true match.

    The rank is the position of the first true match when the group is sorted by distance with
    ties kept in gallery order (a stable sort): 1 + the gallery sequences of the group strictly
    closer than the nearest true match, + those exactly as close that come before it. That is the
    tie rule of the nearest sequence, so ``rank == 1`` exactly when the nearest sequence is a
    true match, computed from the very same distance values.
    """
    return _scan_groups(
        probe, gallery, gallery_group, n_groups, metric, device, max_chunk_bytes,
        probe_rows, gallery_rows, probe_label, gallery_label,
    )  # fmt: skip


def _first_match_rank(d: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
    """int64 ``[rows]``: stable-sort rank of the first True of ``true`` in each row of the
    distances ``d`` ``[rows, w]`` (one whole group), 0 for a row without a True."""
    inf = torch.tensor(float("inf"), dtype=d.dtype, device=d.device)
    best, at = torch.where(true, d, inf).min(dim=1)  # first index among equal minima
    before = d < best[:, None]
    cols = torch.arange(d.shape[1], device=d.device)
    before |= (d == best[:, None]) & (cols[None, :] < at[:, None])
    return torch.where(true.any(dim=1), before.sum(dim=1) + 1, torch.zeros_like(at))


def _scan_groups(
    probe, gallery, gallery_group, n_groups, metric, device, max_chunk_bytes,
    probe_rows, gallery_rows, probe_label, gallery_label,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:  # fmt: skip
    gallery_group = np.asarray(gallery_group, dtype=np.int64)
    selected = _row_indices(len(gallery), gallery_rows)
    # Sort the gallery by group so that every group is a contiguous run of columns: one min per
    # run and block instead of one boolean mask per group. Only indices move, not embeddings.
    order = np.argsort(gallery_group, kind="stable")
    groups_sorted = gallery_group[order]
    bounds = np.searchsorted(groups_sorted, np.arange(n_groups + 1))
    n = len(_row_indices(len(probe), probe_rows))
    best_d = torch.full((n, n_groups), float("inf"), dtype=torch.float32, device=device)
    best_i = torch.full((n, n_groups), -1, dtype=torch.int64, device=device)
    ranks = None
    if probe_label is not None:
        p_lab = torch.as_tensor(np.asarray(probe_label, dtype=np.int64), device=device)
        g_lab = torch.as_tensor(np.asarray(gallery_label, dtype=np.int64)[order], device=device)
        ranks = torch.zeros((n, n_groups), dtype=torch.int64, device=device)
    blocks_of = iter_distance_rows(
        probe, gallery, metric, device, max_chunk_bytes, probe_rows, selected[order]
    )
    for rs, blocks in blocks_of:
        bd, bi = best_d[rs], best_i[rs]
        # Ranks need a group's distances whole: the columns of a group split over gallery blocks
        # wait here (copied: the block's buffer is reused) until its last block. Only a group
        # that straddles a block boundary is held: at most rows x (group size) floats.
        waiting: list[torch.Tensor] = []
        for cs, d in blocks():
            for g in range(n_groups):
                lo, hi = max(bounds[g], cs.start), min(bounds[g + 1], cs.stop)
                if lo >= hi:
                    continue
                piece = d[:, lo - cs.start : hi - cs.start]
                vals, idx = piece.min(dim=1)
                # Strictly smaller only: on an exact tie the earlier gallery sequence stays.
                better = vals < bd[:, g]
                bd[:, g] = torch.where(better, vals, bd[:, g])
                bi[:, g] = torch.where(better, idx + lo, bi[:, g])
                if ranks is None:
                    continue
                if hi < bounds[g + 1]:
                    waiting.append(piece.clone())
                    continue
                whole = torch.cat([*waiting, piece], dim=1) if waiting else piece
                waiting = []
                true = g_lab[None, bounds[g] : hi] == p_lab[rs, None]
                ranks[rs, g] = _first_match_rank(whole, true)
        best_d[rs], best_i[rs] = bd, bi
    best_i = best_i.cpu().numpy()
    mapped = np.where(best_i >= 0, order[np.clip(best_i, 0, None)] if len(order) else -1, -1)
    return (
        best_d.cpu().numpy(),
        mapped.astype(np.int64),
        None if ranks is None else ranks.cpu().numpy(),
    )
