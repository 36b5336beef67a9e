"""The field's evaluation protocols: which sequences are probe and gallery, what is excluded, how
the figures are averaged. Each protocol returns a `ProtocolResult`; printing belongs to the CLI.

* ``casia-b``: gallery nm-01..04; probe sets NM (nm-05/06), BG (bg-01/02), CL (cl-01/02). For every
  (probe view, gallery view) pair the gallery is restricted to that view and rank-1 is taken
  (rounded to 2 decimals, as the reference rounds it); identical-view pairs are left out, the
  other gallery views averaged per probe view, then the probe views averaged.
* ``oumvlp``: the same with gallery ``01``, probe ``00`` and 14 views. A probe whose subject has
  no gallery sequence in a gallery view counts as a miss for that view, as the reference counts
  it; ``drop_missing=True`` gives the other figure some papers print (those probes left out), and
  the result is labelled so.
* ``grew``: GREW's local split (gallery ``01``, probe ``02``, or the ``role`` column): rank-1/5/10/20
  over all probes (no true match = miss, as the reference), plus mAP and mINP over probes with a
  true match. `grew_submission` writes the official server's CSV for GREW's unlabelled probes.
* ``gait3d``: probes are rows with role ``probe`` (or the official probe list), the gallery all
  other rows; probes with no true match are skipped; rank-1/5/10/20, mAP, mINP.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gaitbench.errors import GaitbenchError
from gaitbench.evaluation.distances import (
    check_metric,
    iter_distance_rows,
    nearest_and_first_match_rank,
)
from gaitbench.evaluation.embeddings import EmbeddingSet
from gaitbench.evaluation.metrics import (
    exclude_identical_views,
    per_probe_ranking,
    rank1_percent,
    summarise_ranking,
)
from gaitbench.paths import atomic_write

PROTOCOLS = ("casia-b", "oumvlp", "grew", "gait3d", "selfgait-release")
_ALIASES = {
    "casiab": "casia-b",
    "oumvlp": "oumvlp",
    "grew": "grew",
    "gait3d": "gait3d",
    "selfgaitrelease": "selfgait-release",
}

_CASIA_B = {
    "gallery": ("nm-01", "nm-02", "nm-03", "nm-04"),
    "probes": {"NM": ("nm-05", "nm-06"), "BG": ("bg-01", "bg-02"), "CL": ("cl-01", "cl-02")},
}
VIEW_PROTOCOLS = {
    "casia-b": _CASIA_B,
    "oumvlp": {"gallery": ("01",), "probes": {"NM": ("00",)}},
    # SelfGait's release (github EchoItLiu/SelfGait @80a26fd, trainer.py evaluation / de_diag):
    # CASIA-B's probe and gallery sets and identical-view exclusion, on the release's own test
    # split of sequences, one 30-frame window each (gaitbench.data.partitions, selfgait-release).
    "selfgait-release": _CASIA_B,
}
VIEW_PROTOCOL_LABELS = {
    "casia-b": "CASIA-B",
    "oumvlp": "OU-MVLP",
    "selfgait-release": "CASIA-B, SelfGait release split (last 20 % of sequences, 30-frame windows)",
}
REAL_SCENE_RANKS = (1, 5, 10, 20)
GREW_SUBMISSION_RANKS = 20


def protocol_name(name: str) -> str:
    """Canonical protocol name from a protocol or dataset name ("CASIA-B", "casia_b", "OUMVLP"...)."""
    key = str(name).lower().replace("-", "").replace("_", "").replace(" ", "")
    if key not in _ALIASES:
        raise GaitbenchError(f"unknown protocol {name!r}: use one of {', '.join(PROTOCOLS)}")
    return _ALIASES[key]


@dataclass
class ProtocolResult:
    """What a protocol measured. ``metrics`` is exactly the results-JSON ``metrics`` dict (percent)."""

    protocol: str
    metric: str
    metrics: dict
    label: str  # one line naming the protocol and its variant, for tables and printouts
    options: dict = field(default_factory=dict)
    views: list[str] = field(default_factory=list)
    # view protocols: condition -> float [V, V] rank-1 per (probe view, gallery view), NaN = no probes
    rank1_matrix: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    n_probe: dict[str, int] = field(default_factory=dict)
    n_gallery: int = 0
    # view protocols: condition -> (probe, gallery view) pairs, identical views excluded, whose
    # probe subject has no sequence in that gallery view, and all such pairs: {"missing", "pairs"}.
    # Counted as misses (the reference), or left out under drop_missing.
    missing_gallery: dict[str, dict[str, int]] = field(default_factory=dict)
    # test sequences that are neither gallery nor probe under the protocol (left out)
    n_unused: int = 0
    # Every probe's outcome, so that two runs can be compared probe by probe (results JSON
    # ``per_probe``; its layout is documented in gaitbench/evaluation/results.py).
    per_probe: dict = field(default_factory=dict, repr=False)


def evaluate(
    emb_set: EmbeddingSet,
    protocol: str,
    metric: str = "euc",
    device: str = "cpu",
    **options,
) -> ProtocolResult:
    """Run ``protocol`` on ``emb_set``.

    Options: ``drop_missing`` (oumvlp, casia-b: leave out probes whose subject is absent from a
    gallery view instead of counting them as misses), ``probe_keys`` (gait3d without a role column:
    the official probe list of "subject-condition-view" keys).
    """
    protocol = protocol_name(protocol)
    check_metric(metric)
    if len(emb_set) == 0:
        raise GaitbenchError(
            "the embeddings set is empty: extract embeddings of the test split first"
        )
    if protocol in VIEW_PROTOCOLS:
        unknown = set(options) - {"drop_missing"}
        if unknown:
            raise GaitbenchError(
                f"protocol {protocol} takes no option {sorted(unknown)}: remove it"
            )
        return _view_protocol(
            emb_set, protocol, metric, device, bool(options.get("drop_missing", False))
        )
    unknown = set(options) - {"probe_keys"}
    if "drop_missing" in unknown:
        raise GaitbenchError(
            f"--drop-missing is an OU-MVLP / CASIA-B option; {protocol} always skips probes "
            "without a true match in mAP / mINP: remove it"
        )
    if unknown:
        raise GaitbenchError(f"protocol {protocol} takes no option {sorted(unknown)}: remove it")
    return _real_scene(emb_set, protocol, metric, device, options.get("probe_keys"))


def _view_protocol(
    es: EmbeddingSet, protocol: str, metric: str, device: str, drop_missing: bool
) -> ProtocolResult:
    spec = VIEW_PROTOCOLS[protocol]
    cond = np.char.lower(es.condition.astype(str))
    views = sorted(set(es.view))
    view_code = np.searchsorted(np.array(views), es.view.astype(str))
    g_mask = np.isin(cond, spec["gallery"])
    if not g_mask.any():
        raise GaitbenchError(
            f"no gallery sequences ({', '.join(spec['gallery'])}) in the embeddings: "
            f"these are not {protocol} test embeddings, pass the right --protocol"
        )
    p_mask = np.zeros(len(es), dtype=bool)
    for conds in spec["probes"].values():
        p_mask |= np.isin(cond, conds)
    if not p_mask.any():
        raise GaitbenchError(
            f"no probe sequences in the embeddings for protocol {protocol}: pass the right --protocol"
        )
    g_idx, p_idx = np.flatnonzero(g_mask), np.flatnonzero(p_mask)
    n_views = len(views)
    # One pass over probe x gallery gives every probe's nearest gallery sequence in each gallery
    # view, and the rank of its first true match there (the per-probe outcomes); the reference
    # recomputes distances for each of the V x V view pairs instead.
    _, subject_code = np.unique(es.subject.astype(str), return_inverse=True)
    _, nearest, first_rank = nearest_and_first_match_rank(
        es.embeddings,
        es.embeddings,
        view_code[g_idx],
        n_views,
        subject_code[p_idx],
        subject_code[g_idx],
        metric,
        device,
        probe_rows=p_idx,
        gallery_rows=g_idx,
    )
    g_subject = es.subject[g_idx]
    nearest_subject = np.where(nearest >= 0, g_subject[np.clip(nearest, 0, None)], None)
    p_subject, p_view, p_cond = es.subject[p_idx], view_code[p_idx], cond[p_idx]
    present = [set(g_subject[view_code[g_idx] == v]) for v in range(n_views)]

    # [probes, gallery views]: rank of the first true match, None for the identical view (left
    # out) and where the subject has no gallery sequence in that view (a miss, or left out under
    # drop_missing: "unmatched" says which). Rank 1 is exactly a hit of the nearest sequence.
    first_rank = first_rank.astype(object)
    first_rank[first_rank == 0] = None
    first_rank[np.arange(len(p_idx)), p_view] = None
    probe_ids = np.array(
        [f"{s}/{c}/{v}" for s, c, v in zip(p_subject, es.condition[p_idx], es.view[p_idx])]
    )
    per_probe = {
        "layout": "view-pairs",
        "gallery_views": list(views),
        "unmatched": "skip" if drop_missing else "miss",
        "conditions": {},
    }

    metrics, matrices, counts, missing = {}, {}, {}, {}
    for name, conds in spec["probes"].items():
        in_set = np.isin(p_cond, conds)
        acc = np.full((n_views, n_views), np.nan)
        n_missing = n_pairs = 0
        for pv in range(n_views):
            rows = in_set & (p_view == pv)
            truth = p_subject[rows]
            for gv in range(n_views):
                found = np.isin(truth, list(present[gv]))
                if gv != pv:
                    n_missing += int((~found).sum())
                    n_pairs += len(truth)
                keep = found if drop_missing else slice(None)
                acc[pv, gv] = rank1_percent(nearest_subject[rows, gv][keep], truth[keep])
        per_view = exclude_identical_views(acc)
        if not in_set.any():
            continue  # e.g. a store without clothing sequences: no CL figure rather than NaN
        matrices[name], counts[name] = acc, int(in_set.sum())
        missing[name] = {"missing": n_missing, "pairs": n_pairs}
        per_probe["conditions"][name] = {
            "probe": probe_ids[in_set].tolist(),
            "view": [views[v] for v in p_view[in_set]],
            "rank": [[None if r is None else int(r) for r in row] for row in first_rank[in_set]],
        }
        metrics[name] = {
            "rank1": float(np.nanmean(per_view)),
            "rank1_per_view": {v: _num(x) for v, x in zip(views, per_view)},
        }
    nice = VIEW_PROTOCOL_LABELS[protocol]
    label = f"{nice}: rank-1, identical views excluded"
    if drop_missing:
        label += ", probes missing from a gallery view dropped"
    return ProtocolResult(
        protocol=protocol,
        metric=metric,
        metrics=metrics,
        label=label,
        options={"drop_missing": drop_missing},
        views=views,
        rank1_matrix=matrices,
        n_probe=counts,
        n_gallery=int(g_mask.sum()),
        missing_gallery=missing,
        n_unused=int((~(g_mask | p_mask)).sum()),
        per_probe=per_probe,
    )


def _num(x: float) -> float | None:
    """JSON has no NaN: a view without probes is null."""
    return None if x is None or np.isnan(x) else float(x)


def split_real_scene(
    es: EmbeddingSet, protocol: str, probe_keys: list[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(probe mask, gallery mask) for GREW / Gait3D: the ``role`` column when present, otherwise
    GREW's local split (gallery ``01``, probe ``02``) or Gait3D's official probe list."""
    if es.role is not None:
        probe = es.role == "probe"
        return probe, ~probe
    if protocol == "grew":
        return es.condition == "02", es.condition == "01"
    if not probe_keys:
        raise GaitbenchError(
            "gait3d embeddings have no role column and no probe list was given: "
            "extract them with `gaitbench evaluate` (which marks the official probes)"
        )
    keys = np.array([f"{s}-{c}-{v}" for s, c, v in zip(es.subject, es.condition, es.view)])
    probe = np.isin(keys, list(probe_keys))
    return probe, ~probe


def _iter_rows(
    emb: np.ndarray, probe_mask: np.ndarray, gallery_mask: np.ndarray, metric: str, device: str
):
    """Whole distance rows ``[rows, m]`` (numpy) between the masked probes and gallery of
    ``emb``, a block of probes at a time; rows are selected by index, never copied."""
    blocks_of = iter_distance_rows(
        emb,
        emb,
        metric,
        device,
        probe_rows=np.flatnonzero(probe_mask),
        gallery_rows=np.flatnonzero(gallery_mask),
    )
    for rs, blocks in blocks_of:
        yield rs, np.concatenate([d.cpu().numpy() for _, d in blocks()], axis=1)


def _real_scene(
    es: EmbeddingSet, protocol: str, metric: str, device: str, probe_keys: list[str] | None
) -> ProtocolResult:
    p_mask, g_mask = split_real_scene(es, protocol, probe_keys)
    if not p_mask.any() or not g_mask.any():
        raise GaitbenchError(
            f"{protocol}: {int(p_mask.sum())} probe and {int(g_mask.sum())} gallery sequences; "
            "both are needed (check the role / condition columns of the embeddings)"
        )
    p_sub, g_sub = es.subject[p_mask], es.subject[g_mask]
    pieces: dict[str, list[np.ndarray]] = {
        "hits": [],
        "ap": [],
        "inp": [],
        "valid": [],
        "first": [],
    }
    max_rank = max(REAL_SCENE_RANKS)
    for rs, dist in _iter_rows(es.embeddings, p_mask, g_mask, metric, device):
        for k, v in per_probe_ranking(dist, p_sub[rs], g_sub, max_rank).items():
            pieces[k].append(v)
    joined = {k: np.concatenate(v) for k, v in pieces.items()}
    # GREW's reference counts every probe in rank-k; Gait3D's skips probes with no true match.
    unmatched = "miss" if protocol == "grew" else "skip"
    rr = summarise_ranking(joined, REAL_SCENE_RANKS, unmatched)
    metrics = {f"rank{k}": rr.ranks[k] for k in REAL_SCENE_RANKS}
    metrics.update(mAP=rr.mAP, mINP=rr.mINP)
    metrics = {k: _num(v) for k, v in metrics.items()}
    probe_ids = [f"{s}/{c}/{v}" for s, c, v in zip(p_sub, es.condition[p_mask], es.view[p_mask])]
    per_probe = {
        "layout": "ranking",
        "unmatched": unmatched,
        "probe": probe_ids,
        "rank": [int(r) if r > 0 else None for r in joined["first"]],
        "ap": [None if np.isnan(x) else round(float(x), 6) for x in joined["ap"]],
    }
    nice = {"grew": "GREW local split (gallery 01, probe 02)", "gait3d": "Gait3D"}[protocol]
    how = "unmatched probes count as misses" if unmatched == "miss" else "unmatched probes skipped"
    return ProtocolResult(
        protocol=protocol,
        metric=metric,
        metrics=metrics,
        label=f"{nice}: rank-1/5/10/20, mAP, mINP; {how}",
        options={"unmatched": unmatched, "n_valid": rr.n_valid},
        n_probe={"all": rr.n_probe},
        n_gallery=int(g_mask.sum()),
        per_probe=per_probe,
    )


def grew_submission(
    es: EmbeddingSet, out: str | os.PathLike, metric: str = "euc", device: str = "cpu"
) -> Path:
    """Write the GREW server's CSV: ``videoId,rank1,...,rank20``, one row per probe sequence
    (its id, stored as the view) with the subject ids of its 20 nearest gallery sequences.

    Probes are condition ``03`` (GREW's unlabelled test probes), else rows with role ``probe``;
    the gallery is conditions ``01`` and ``02``, else rows with role ``gallery``. As the reference
    does, the 20 columns are the labels of the 20 nearest *sequences* (a subject may repeat).
    """
    check_metric(metric)
    p_mask = es.condition == "03"
    g_mask = np.isin(es.condition, ["01", "02"])
    if not p_mask.any() and es.role is not None:
        p_mask, g_mask = es.role == "probe", es.role == "gallery"
    if not p_mask.any() or not g_mask.any():
        raise GaitbenchError(
            "GREW submission needs probe sequences (condition 03) and gallery sequences "
            "(01, 02): extract the GREW test set with `gaitbench evaluate`"
        )
    g_sub = es.subject[g_mask]
    probe_ids = es.view[p_mask]
    out = Path(out)
    with atomic_write(out) as tmp:
        with open(tmp, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["videoId"] + [f"rank{k}" for k in range(1, GREW_SUBMISSION_RANKS + 1)])
            for rs, dist in _iter_rows(es.embeddings, p_mask, g_mask, metric, device):
                top = np.argsort(dist, axis=1, kind="stable")[:, :GREW_SUBMISSION_RANKS]
                for pid, row in zip(probe_ids[rs], g_sub[top]):
                    w.writerow([pid, *[_subject_id(s) for s in row]])
    return out


def _subject_id(s: str) -> str:
    """The server expects integer subject ids ("00042" -> "42"); other ids pass through."""
    return str(int(s)) if str(s).isdigit() else str(s)
