"""Evaluation speed and memory, against the reference algorithm run in the same process.

    python3 benchmarks/evaluate.py casia-b            # full CASIA-B protocol, ours vs reference
    python3 benchmarks/evaluate.py oumvlp [--ids N]   # OU-MVLP-size protocol: time, peak memory

The reference algorithm is the one the field's evaluator uses, re-written here from its
description (reference/FACTS.md 3.1-3.2): for every probe set and every (probe view, gallery view)
pair, build the distance matrix with a Python loop over parts (sqrt(relu(|x|^2 + |y|^2 - 2xy))
per part, summed, divided by parts), take the nearest gallery item, round rank-1 to 2 decimals.
Embeddings are synthetic with identity structure (subject centre + noise), float32.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import torch

from gaitbench.evaluation.embeddings import EmbeddingSet
from gaitbench.evaluation.protocols import VIEW_PROTOCOLS, evaluate

CASIA_VIEWS = [f"{a:03d}" for a in range(0, 181, 18)]
CASIA_CONDS = [
    "nm-01",
    "nm-02",
    "nm-03",
    "nm-04",
    "nm-05",
    "nm-06",
    "bg-01",
    "bg-02",
    "cl-01",
    "cl-02",
]
OUMVLP_VIEWS = [f"{a:03d}" for a in (*range(0, 91, 15), *range(180, 271, 15))]


def synthetic(
    n_ids: int,
    conds: list[str],
    views: list[str],
    parts: int,
    channels: int,
    noise: float,
    seed: int = 0,
) -> EmbeddingSet:
    rng = np.random.default_rng(seed)
    per_id = len(conds) * len(views)
    # Filled in place, one identity at a time: building the set never holds a second copy, so
    # the peak memory measured around the protocol is the protocol's own.
    emb = np.empty((n_ids * per_id, parts, channels), dtype=np.float32)
    subj, cond, view = [], [], []
    for i in range(n_ids):
        centre = rng.normal(size=(parts, channels)).astype(np.float32)
        noise_block = rng.normal(size=(per_id, parts, channels)).astype(np.float32)
        emb[i * per_id : (i + 1) * per_id] = centre + noise * noise_block
        for c in conds:
            for v in views:
                subj.append(f"{i:05d}")
                cond.append(c)
                view.append(v)
    return EmbeddingSet(emb, subj, cond, view)


def reference_dist(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """x [n, c, p], y [m, c, p] -> [n, m]: loop over parts, the reference's way."""
    num_bin = x.size(2)
    dist = torch.zeros(x.size(0), y.size(0))
    for i in range(num_bin):
        _x, _y = x[:, :, i], y[:, :, i]
        d = (_x**2).sum(1).unsqueeze(1) + (_y**2).sum(1).unsqueeze(0) - 2 * _x @ _y.T
        dist += torch.sqrt(torch.relu(d))
    return dist / num_bin


def reference_protocol(es: EmbeddingSet, protocol: str) -> dict[str, float]:
    spec = VIEW_PROTOCOLS[protocol]
    feature = es.embeddings.transpose(0, 2, 1)  # the reference's [n, c, p] layout
    views = sorted(set(es.view))
    out = {}
    for name, probe_conds in spec["probes"].items():
        acc = np.zeros((len(views), len(views)))
        for v1, pv in enumerate(views):
            pm = np.isin(es.condition, probe_conds) & (es.view == pv)
            px, py = torch.from_numpy(feature[pm]), es.subject[pm]
            for v2, gv in enumerate(views):
                gm = np.isin(es.condition, spec["gallery"]) & (es.view == gv)
                gx, gy = torch.from_numpy(feature[gm]), es.subject[gm]
                idx = reference_dist(px, gx).topk(1, largest=False)[1].numpy()
                acc[v1, v2] = np.round(np.sum(py == gy[idx[:, 0]]) * 100 / len(py), 2)
        per_view = (acc.sum(1) - np.diag(acc)) / (len(views) - 1.0)
        out[name] = float(per_view.mean())
    return out


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # Linux reports KiB


def rss_gib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**30


def bench_casia(repeats: int) -> None:
    es = synthetic(50, CASIA_CONDS, CASIA_VIEWS, parts=73, channels=128, noise=6.0)
    print(
        f"CASIA-B size: {len(es)} sequences (50 ids x 110), embeddings 73 x 128, "
        f"torch threads {torch.get_num_threads()}"
    )
    evaluate(es.subset(np.arange(0, len(es), 10)), "casia-b")  # warm-up (allocator, kernels)
    ours_t = []
    for _ in range(repeats):
        t = time.perf_counter()
        ours = evaluate(es, "casia-b").metrics
        ours_t.append(time.perf_counter() - t)
    t = time.perf_counter()
    ref = reference_protocol(es, "casia-b")
    ref_t = time.perf_counter() - t
    ours_best = min(ours_t)
    for c in ref:
        print(
            f"  {c}: ours {ours[c]['rank1']:.4f}  reference {ref[c]:.4f}  "
            f"|diff| {abs(ours[c]['rank1'] - ref[c]):.6f}"
        )
    same = all(abs(ours[c]["rank1"] - ref[c]) < 0.01 for c in ref)
    print(f"  ours: {ours_best:.3f} s (best of {repeats}: {', '.join(f'{x:.3f}' for x in ours_t)})")
    print(f"  reference algorithm: {ref_t:.3f} s")
    print(f"  speed-up: {ref_t / ours_best:.1f}x   identical numbers (0.01): {same}")


def bench_oumvlp(n_ids: int) -> None:
    es = synthetic(n_ids, ["00", "01"], OUMVLP_VIEWS, parts=50, channels=256, noise=8.0)
    n = len(es)
    print(
        f"OU-MVLP size: {n} sequences ({n_ids} ids x 14 views x 2), embeddings 50 x 256, "
        f"torch threads {torch.get_num_threads()}"
    )
    print(
        f"  a whole probe x gallery float32 matrix would be {(n / 2) ** 2 * 4 / 2**30:.1f} GiB; "
        f"the embeddings themselves {es.embeddings.nbytes / 2**30:.2f} GiB"
    )
    rss0, peak0 = rss_gib(), peak_rss_gib()
    t = time.perf_counter()
    r = evaluate(es, "oumvlp")
    dt = time.perf_counter() - t
    peak = peak_rss_gib()
    print(f"  rank-1 NM {r.metrics['NM']['rank1']:.2f}")
    print(
        f"  time: {dt:.1f} s   peak RSS: {peak:.2f} GiB (resident before the protocol: {rss0:.2f})"
    )
    if peak > peak0:
        extra = peak - rss0
        print(
            f"  the protocol's own peak: {extra:.2f} GiB = "
            f"{extra / (es.embeddings.nbytes / 2**30):.2f} x the embeddings"
        )
    else:
        print(f"  the protocol stayed below the earlier peak ({peak0:.2f} GiB)")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("which", choices=["casia-b", "oumvlp"])
    ap.add_argument(
        "--ids", type=int, default=5154, help="OU-MVLP test identities (default: the real 5,154)"
    )
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    if args.which == "casia-b":
        bench_casia(args.repeats)
    else:
        bench_oumvlp(args.ids)


if __name__ == "__main__":
    main()
