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


def check_metric(metric: str) -> str:
    if metric not in METRICS:
        raise GaitbenchError(f"unknown distance metric {metric!r}: use one of {', '.join(METRICS)}")
    return metric


def as_parts_first(
    emb: np.ndarray | torch.Tensor, device: str | torch.device = "cpu"
) -> torch.Tensor:
    """``[n, parts, channels]`` -> float32 ``[parts, n, channels]`` on ``device`` (contiguous)."""
    t = torch.as_tensor(emb, device=device, dtype=torch.float32)
    if t.ndim != 3:
        raise GaitbenchError(
            f"embeddings must have shape [n, parts, channels], got {tuple(t.shape)}: "
            "re-extract them with `gaitbench evaluate`"
        )
    return t.permute(1, 0, 2).contiguous()


def prepare(emb: np.ndarray | torch.Tensor, metric: str, device: str | torch.device = "cpu"):
    """Embeddings ready for `distance_block`: parts-first, normalised for ``cos``, and for ``euc``
    the per-part squared norms ``[parts, n]`` (computed once, reused by every chunk)."""
    check_metric(metric)
    x = as_parts_first(emb, device)
    if metric == "cos":
        x = torch.nn.functional.normalize(x, p=2, dim=2)
        return x, None
    return x, (x * x).sum(dim=2)


def distance_block(
    x: torch.Tensor,
    x_sq: torch.Tensor | None,
    y: torch.Tensor,
    y_sq: torch.Tensor | None,
    metric: str,
) -> torch.Tensor:
    """Distances between prepared blocks ``x`` ``[parts, a, c]`` and ``y`` ``[parts, b, c]`` -> ``[a, b]``."""
    parts = x.shape[0]
    if metric == "cos":
        sim = torch.bmm(x, y.transpose(1, 2)).sum(dim=0)
        return sim.div_(parts).neg_().add_(1.0)
    # |x|^2 + |y|^2 - 2 x.y for all parts in one batched product, then sqrt(relu(.)) in place.
    d2 = torch.baddbmm(x_sq[:, :, None] + y_sq[:, None, :], x, y.transpose(1, 2), alpha=-2.0)
    return d2.clamp_min_(0.0).sqrt_().sum(dim=0).div_(parts)


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
) -> Iterator[tuple[slice, Callable[[], Iterator[tuple[slice, torch.Tensor]]]]]:
    """Walk the probe x gallery distance matrix block by block without ever holding it whole.

    Yields ``(probe_rows, blocks)``; calling ``blocks()`` yields ``(gallery_cols, dist)`` with
    ``dist`` float32 ``[len(probe_rows), len(gallery_cols)]`` on ``device``.
    """
    x, x_sq = prepare(probe, metric, device)
    y, y_sq = prepare(gallery, metric, device)
    if x.shape[0] != y.shape[0] or x.shape[2] != y.shape[2]:
        raise GaitbenchError(
            f"probe embeddings [*, {x.shape[0]}, {x.shape[2]}] and gallery embeddings "
            f"[*, {y.shape[0]}, {y.shape[2]}] differ in shape: extract both with the same model"
        )
    rows, cols = chunk_sizes(x.shape[0], x.shape[1], y.shape[1], max_chunk_bytes)
    for r0 in range(0, x.shape[1], rows):
        rs = slice(r0, min(r0 + rows, x.shape[1]))
        xb, xb_sq = x[:, rs], (x_sq[:, rs] if x_sq is not None else None)

        def blocks(xb=xb, xb_sq=xb_sq):
            for c0 in range(0, y.shape[1], cols):
                cs = slice(c0, min(c0 + cols, y.shape[1]))
                yb_sq = y_sq[:, cs] if y_sq is not None else None
                yield cs, distance_block(xb, xb_sq, y[:, cs], yb_sq, metric)

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
) -> tuple[np.ndarray, np.ndarray]:
    """For every probe, its nearest gallery sequence within each gallery group (e.g. each view).

    probe ``[n, parts, c]``, gallery ``[m, parts, c]``, gallery_group int ``[m]`` in ``0..n_groups-1``.
    Returns (distance float32 ``[n, n_groups]``, gallery index int64 ``[n, n_groups]``); a group
    with no gallery sequence gives ``inf`` and index ``-1``. Memory is bounded by the chunk size,
    never ``n x m``: this is what lets OU-MVLP's 72k x 72k protocol run in a few GiB.
    """
    gallery_group = np.asarray(gallery_group, dtype=np.int64)
    # Sort the gallery by group so that every group is a contiguous run of columns: one min per
    # run and block instead of one boolean mask per group.
    order = np.argsort(gallery_group, kind="stable")
    groups_sorted = gallery_group[order]
    gallery_sorted = (
        torch.as_tensor(gallery)[torch.as_tensor(order)] if len(order) else torch.as_tensor(gallery)
    )
    bounds = np.searchsorted(groups_sorted, np.arange(n_groups + 1))
    n = len(probe)
    best_d = torch.full((n, n_groups), float("inf"), dtype=torch.float32, device=device)
    best_i = torch.full((n, n_groups), -1, dtype=torch.int64, device=device)
    for rs, blocks in iter_distance_rows(probe, gallery_sorted, metric, device, max_chunk_bytes):
        bd, bi = best_d[rs], best_i[rs]
        for cs, d in blocks():
            for g in range(n_groups):
                lo, hi = max(bounds[g], cs.start), min(bounds[g + 1], cs.stop)
                if lo >= hi:
                    continue
                vals, idx = d[:, lo - cs.start : hi - cs.start].min(dim=1)
                # Strictly smaller only: on an exact tie the earlier gallery sequence stays.
                better = vals < bd[:, g]
                bd[:, g] = torch.where(better, vals, bd[:, g])
                bi[:, g] = torch.where(better, idx + lo, bi[:, g])
        best_d[rs], best_i[rs] = bd, bi
    best_i = best_i.cpu().numpy()
    mapped = np.where(best_i >= 0, order[np.clip(best_i, 0, None)] if len(order) else -1, -1)
    return best_d.cpu().numpy(), mapped.astype(np.int64)
