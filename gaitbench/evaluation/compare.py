"""``gaitbench compare A B``: is the difference between two runs real? A paired bootstrap over
probes (and over seeds when a side has several) on the per-probe outcomes of results files.

Both sides must be evaluated on the same data (same store fingerprint) with the same protocol,
so that probe i of A is probe i of B. For every condition (CASIA-B NM / BG / CL, OU-MVLP NM) the
figure is rank-1; for GREW / Gait3D rank-1, rank-5 and mAP. Each bootstrap sample draws the
probes with replacement (within each probe view for the view protocols, so that every view keeps
its weight in the per-view average), the same draw for A and B (paired), recomputes each side's
figure exactly as the protocol does, and, when a side has several seeds, draws its seeds with
replacement too and averages over them. Reported: B - A, its 95% percentile interval and a
two-sided bootstrap p-value (how often the resampled difference falls on the other side of 0,
doubled); the difference is called significant when the interval excludes 0.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gaitbench.errors import GaitbenchError
from gaitbench.evaluation.results import is_results, load_results

SAMPLES = 2000
_BLOCK = 200  # bootstrap samples per block: bounds the [samples, probes] weight matrix
RANKING_METRICS = (("rank1", 1), ("rank5", 5), ("mAP", None))


@dataclass
class Side:
    """One side of a comparison: the results files of one run, or of several seeds of one."""

    label: str
    results: list[dict]
    paths: list[Path] = field(default_factory=list)

    @property
    def fingerprint(self) -> str | None:
        return (self.results[0].get("data") or {}).get("fingerprint")


def load_side(path: str | os.PathLike, protocol: str | None = None) -> Side:
    """A results file, a run folder (its results file), or a folder of run folders (the seeds of
    one configuration: every results file under it)."""
    path = Path(path)
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = sorted(p for p in path.rglob("*.json") if _is_results_file(p))
    else:
        raise GaitbenchError(f"{path} does not exist: pass a run folder or a results JSON file")
    results = [dict(load_results(f), _path=str(f)) for f in files]
    if protocol:
        results = [r for r in results if r["protocol"] == protocol]
    if not results:
        raise GaitbenchError(
            f"no results JSON{' for protocol ' + protocol if protocol else ''} under {path}: "
            "run `gaitbench evaluate` on it first"
        )
    variants = {_variant(r) for r in results}
    if len(variants) > 1:
        shown = "; ".join(" ".join(map(str, v)) for v in sorted(variants, key=str))
        raise GaitbenchError(
            f"{path} holds results of different protocols or options ({shown}): pass one "
            "results file, or --protocol"
        )
    for r in results:
        if not r.get("per_probe"):
            raise GaitbenchError(
                f"{r['_path']} has no per-probe outcomes (written by an older gaitbench, or "
                "converted from schema 1): re-evaluate the run with `gaitbench evaluate`"
            )
    fps = {(r.get("data") or {}).get("fingerprint") for r in results}
    if len(fps) > 1:
        raise GaitbenchError(
            f"{path} holds results on different data (fingerprints {', '.join(map(str, fps))}): "
            "pass the runs of one store"
        )
    label = results[0]["run"] if len(results) == 1 else f"{path.name} ({len(results)} runs)"
    order = results[0].get("frame_order")
    if order:  # `evaluate --shuffle-frames`: say so, or two sides of one run read alike
        label += f" (frames shuffled, seed {order['seed']})"
    return Side(label, results, [Path(r["_path"]) for r in results])


def _is_results_file(path: Path) -> bool:
    import json

    try:
        return is_results(json.loads(path.read_text()))
    except (OSError, ValueError):
        return False


def _variant(r: dict) -> tuple:
    opts = r.get("protocol_options") or {}
    return (r["protocol"], r["metric"], bool(opts.get("drop_missing")))


@dataclass
class Comparison:
    condition: str  # NM / BG / CL, or "" for GREW / Gait3D
    metric: str  # rank1, rank5, mAP
    a: float
    b: float
    difference: float  # b - a, points
    ci: tuple[float, float]
    p_value: float
    n_probe: int

    @property
    def significant(self) -> bool:
        return self.ci[0] > 0 or self.ci[1] < 0

    def as_dict(self) -> dict:
        return {
            "condition": self.condition,
            "metric": self.metric,
            "a": self.a,
            "b": self.b,
            "difference": self.difference,
            "ci95": list(self.ci),
            "p_value": self.p_value,
            "significant": self.significant,
            "n_probe": self.n_probe,
        }


# -- the figures from per-probe outcomes, under bootstrap weights -------------------------------


def _view_outcomes(
    pp: dict, cond: str, drop_missing: bool = False
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """(probe ids, probe view codes [n], hits [n, V] 0/1, counted [n, V] bool) of a condition.

    Reads both view-pair layouts (gaitbench/evaluation/results.py): ``rank`` (a hit is rank 1;
    null is the identical view, never counted, or a subject absent from that gallery view,
    counted as a miss unless ``unmatched`` is "skip") and the older hit-only ``outcome``
    strings. ``drop_missing`` (the file's protocol option) stands in for a missing ``unmatched``."""
    c = pp["conditions"][cond]
    views = list(pp["gallery_views"])
    code = {v: i for i, v in enumerate(views)}
    pview = np.array([code[v] for v in c["view"]], dtype=np.int64)
    if "rank" in c:
        rank = np.array(
            [[np.nan if r is None else r for r in row] for row in c["rank"]], dtype=np.float64
        ).reshape(len(c["rank"]), len(views))
        skip = pp.get("unmatched", "skip" if drop_missing else "miss") == "skip"
        counted = ~np.isnan(rank) if skip else np.ones(rank.shape, dtype=bool)
        counted[np.arange(len(pview)), pview] = False  # the identical view
        return list(c["probe"]), pview, (rank == 1).astype(np.float64), counted
    out = np.array([list(o) for o in c["outcome"]], dtype="<U1").reshape(len(c["outcome"]), -1)
    counted = out != "-"
    hits = (out == "1").astype(np.float64)
    return list(c["probe"]), pview, hits, counted


def view_rank1(weights: np.ndarray, pview: np.ndarray, hits: np.ndarray, counted: np.ndarray):
    """Rank-1 (percent) of a view protocol for each row of ``weights`` ``[B, n]`` (a probe's
    weight is how often the bootstrap drew it): per (probe view, gallery view) cell the weighted
    hit rate rounded to 2 decimals as the reference rounds it, identical views left out, averaged
    over gallery views, then over probe views. Returns ``[B]``."""
    n_views = hits.shape[1]
    per_view = []
    for pv in range(n_views):
        rows = pview == pv
        if not rows.any():
            continue
        w = weights[:, rows]
        num = w @ (hits[rows] * counted[rows])  # [B, V]
        den = w @ counted[rows].astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            cells = np.round(100.0 * num / den, 2)
        cells[:, ~counted[rows].any(axis=0)] = np.nan  # a gallery view never counted (identical)
        with np.errstate(invalid="ignore"):
            per_view.append(np.nanmean(np.where(den > 0, cells, np.nan), axis=1))
    return np.nanmean(np.stack(per_view, axis=1), axis=1)


def view_pair_rank1(result: dict, condition: str) -> tuple[list[str], np.ndarray]:
    """(view codes, ``[V, V]`` rank-1 in percent) of one condition of a view-protocol results
    dict (CASIA-B, OU-MVLP): cell ``[p, g]`` is the share of probes of view ``p`` whose nearest
    gallery sequence of view ``g`` is their own subject, rounded to 2 decimals as the protocol
    rounds it; NaN on the diagonal (identical views are never counted) and where no probe of
    ``p`` counted. The protocol's figure is the mean over gallery views, then over probe views."""
    pp = result.get("per_probe") or {}
    if pp.get("layout") != "view-pairs" or condition not in pp.get("conditions", {}):
        raise GaitbenchError(
            f"{result.get('_path', result.get('run'))} has no view-pair outcomes for "
            f"{condition}: pass a CASIA-B or OU-MVLP results file written by `gaitbench evaluate`"
        )
    drop = bool((result.get("protocol_options") or {}).get("drop_missing", False))
    _, pview, hits, counted = _view_outcomes(pp, condition, drop)
    views = list(pp["gallery_views"])
    cells = np.full((len(views), len(views)), np.nan)
    for v in range(len(views)):
        rows = pview == v
        den = counted[rows].sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            cells[v] = np.where(
                den > 0, np.round(100.0 * (hits[rows] * counted[rows]).sum(0) / den, 2), np.nan
            )
    return views, cells


def ranking_metric(
    weights: np.ndarray, rank: np.ndarray, ap: np.ndarray, unmatched: str, metric: str
):
    """Rank-k (percent) or mAP (percent) of a ranking protocol for each row of ``weights``."""
    valid = ~np.isnan(rank)
    if metric == "mAP":
        value, counted = np.nan_to_num(ap), valid
    else:
        k = int(metric[4:])
        value = (np.nan_to_num(rank, nan=np.inf) <= k).astype(np.float64)
        counted = valid if unmatched == "skip" else np.ones_like(valid)
    num = weights @ (value * counted)
    den = weights @ counted.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 100.0 * num / den


def _stratified_weights(strata: np.ndarray, samples: int, rng: np.random.Generator) -> np.ndarray:
    """``[samples, n]`` bootstrap counts: each stratum's probes drawn with replacement, as many
    as it holds."""
    w = np.zeros((samples, len(strata)))
    for s in np.unique(strata):
        idx = np.flatnonzero(strata == s)
        draws = rng.integers(0, len(idx), size=(samples, len(idx)))
        for b in range(samples):
            w[b, idx] = np.bincount(draws[b], minlength=len(idx))
    return w


def _aligned(side: Side, key, ids_ref: list[str]) -> list:
    """Each seed's per-probe arrays re-ordered to ``ids_ref``."""
    out = []
    for r in side.results:
        ids, *arrays = key(r)
        if sorted(ids) != sorted(ids_ref):
            raise GaitbenchError(
                f"{r['_path']} was evaluated on other probes than the first results file "
                "(same fingerprint, different protocol options?): compare results of one protocol"
            )
        order = {p: i for i, p in enumerate(ids)}
        pick = np.array([order[p] for p in ids_ref])
        out.append([a[pick] for a in arrays])
    return out


def compare(
    a: Side, b: Side, samples: int = SAMPLES, seed: int = 0, level: float = 0.95
) -> list[Comparison]:
    """B - A per condition / metric with a paired bootstrap (see the module docstring)."""
    fa, fb = a.fingerprint, b.fingerprint
    if fa is None or fb is None or fa != fb:
        raise GaitbenchError(
            f"A and B were not evaluated on the same data: A's store fingerprint is {fa}, B's is "
            f"{fb}; compare runs evaluated on one store"
        )
    va, vb = _variant(a.results[0]), _variant(b.results[0])
    if va != vb:
        raise GaitbenchError(
            f"A is {' '.join(map(str, va))}, B is {' '.join(map(str, vb))}: compare results of "
            "one protocol, distance and options"
        )
    rng = np.random.default_rng(seed)
    pp0 = a.results[0]["per_probe"]
    out = []
    if pp0["layout"] == "view-pairs":
        conds = [c for c in pp0["conditions"] if c in b.results[0]["per_probe"]["conditions"]]
        for cond in conds:
            ids, pview, *_ = _view_outcomes(pp0, cond)

            def key(r, cond=cond):
                drop = bool((r.get("protocol_options") or {}).get("drop_missing"))
                i, v, h, c = _view_outcomes(r["per_probe"], cond, drop)
                return i, v, h, c

            sa, sb = _aligned(a, key, ids), _aligned(b, key, ids)
            pview = sa[0][0]

            def figure(weights, seeds):
                return np.stack([view_rank1(weights, s[0], s[1], s[2]) for s in seeds])

            out.append(_bootstrap(cond, "rank1", pview, sa, sb, figure, samples, rng, level))
    else:
        ids = list(pp0["probe"])
        unmatched = pp0.get("unmatched", "skip")

        def key(r):
            p = r["per_probe"]
            rank = np.array([np.nan if x is None else x for x in p["rank"]], dtype=np.float64)
            ap = np.array([np.nan if x is None else x for x in p["ap"]], dtype=np.float64)
            return list(p["probe"]), rank, ap

        sa, sb = _aligned(a, key, ids), _aligned(b, key, ids)
        for metric, _ in RANKING_METRICS:

            def figure(weights, seeds, metric=metric):
                return np.stack(
                    [ranking_metric(weights, s[0], s[1], unmatched, metric) for s in seeds]
                )

            out.append(
                _bootstrap("", metric, np.zeros(len(ids), int), sa, sb, figure, samples, rng, level)
            )
    return out


def _bootstrap(cond, metric, strata, sa, sb, figure, samples, rng, level) -> Comparison:
    n = len(strata)
    ones = np.ones((1, n))
    obs_a = float(figure(ones, sa).mean())
    obs_b = float(figure(ones, sb).mean())
    diffs = []
    for start in range(0, samples, _BLOCK):
        m = min(_BLOCK, samples - start)
        w = _stratified_weights(strata, m, rng)
        fa, fb = figure(w, sa), figure(w, sb)  # [seeds, m]
        # Seeds drawn with replacement on each side (a single seed always draws itself).
        ia = rng.integers(0, len(sa), size=(m, len(sa)))
        ib = rng.integers(0, len(sb), size=(m, len(sb)))
        cols = np.arange(m)[:, None]
        diffs.append(fb[ib, cols].mean(axis=1) - fa[ia, cols].mean(axis=1))
    d = np.concatenate(diffs)
    d = d[~np.isnan(d)]
    alpha = (1 - level) / 2
    lo, hi = np.quantile(d, [alpha, 1 - alpha]) if len(d) else (np.nan, np.nan)
    below, above = np.sum(d <= 0), np.sum(d >= 0)
    p = min(1.0, 2 * (min(below, above) + 1) / (len(d) + 1)) if len(d) else float("nan")
    return Comparison(
        cond, metric, obs_a, obs_b, obs_b - obs_a, (float(lo), float(hi)), float(p), n
    )
