"""A cheap learned model on both stores: GEI + PCA + LDA (the classic subspace baseline of gait
recognition), fitted on each store's training subjects and scored by gaitbench's own CASIA-B
protocol on its test subjects (official partition: 001-074 / 075-124).

    python3 results/synth-vs-real/gei_lda.py STORE [STORE ...] [--pca 50,150,400] [--out FILE.md]

The GEI floor (`gaitbench evaluate --model gei`) learns nothing, so it cannot say how much a
learner gains from a store's training set; the tiny deep models can, but cost hours of CPU per
store. This sits between: whole-frame GEIs (64 x 44, values 0..1), centred on the training mean,
projected on the top `--pca` principal components (numpy SVD; several counts give one row each,
so a reader sees how much the figures depend on that choice), then on the LDA directions that
separate the training subjects (scipy's generalised symmetric eigensolver on the between- and
within-subject scatter of the projected GEIs, the within-subject scatter ridge-regularised by
1e-6 of its trace / dimension). The test GEIs, projected the same way, are one embedding each
[N, 1, subjects - 1]; `gaitbench.evaluation.protocols.evaluate(..., "casia-b")` gives rank-1 NM /
BG / CL (Euclidean, gallery NM#1-4, identical views excluded), and the same evaluator on the raw
GEIs gives the floor, so both columns come from one code path.

Prints (and writes) one markdown table, one row per store and component count. Reads the stores only; a few minutes
per store on one core.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import scipy.linalg

from gaitbench.data.partitions import resolve_partition
from gaitbench.data.store import Store
from gaitbench.data.synth import gait_energy_image
from gaitbench.evaluation.embeddings import EmbeddingSet
from gaitbench.evaluation.protocols import evaluate
from gaitbench.reporting.synth_vs_real import store_script

CONDITIONS = ("NM", "BG", "CL")


def store_geis(store: Store) -> tuple[dict, dict]:
    """{"train"|"test": GEIs float64 [N, 64 * 44]} and {"train"|"test": (subject, condition,
    view) arrays} of the store's non-empty sequences, split by its official partition."""
    part = resolve_partition(
        "official", store.dataset, store.subjects(), getattr(store, "partition", None)
    )
    sides = {s: "train" for s in part.train} | {s: "test" for s in part.test}
    feats: dict[str, list] = {"train": [], "test": []}
    keys: dict[str, list] = {"train": [], "test": []}
    for i, row in enumerate(store.index.itertuples(index=False)):
        side = sides.get(row.subject)
        if side is None or row.length == 0:
            continue
        feats[side].append(gait_energy_image(store.read(i)).ravel())
        keys[side].append((row.subject, row.condition, row.view))
    x = {side: np.stack(f).astype(np.float64) for side, f in feats.items()}
    k = {side: tuple(np.array(col) for col in zip(*rows)) for side, rows in keys.items()}
    return x, k


def principal_axes(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean [D], principal axes [D, min(N, D)], by decreasing variance) of the rows of ``x``."""
    mean = x.mean(0)
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    return mean, vt.T


def fit_lda(z: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """LDA directions [d, classes - 1] of centred features ``z`` [N, d], best first."""
    d = z.shape[1]
    classes = np.unique(labels)
    sw = np.zeros((d, d))
    sb = np.zeros((d, d))
    for c in classes:
        zc = z[labels == c]
        mc = zc.mean(0)
        sw += (zc - mc).T @ (zc - mc)
        sb += len(zc) * np.outer(mc, mc)  # z is centred: the overall mean is 0
    sw += np.eye(d) * 1e-6 * np.trace(sw) / d
    _, vecs = scipy.linalg.eigh(sb, sw)  # ascending eigenvalues
    return vecs[:, ::-1][:, : len(classes) - 1]


def rank1(features: np.ndarray, keys: tuple) -> dict[str, float]:
    """CASIA-B rank-1 (%) per condition of one embedding per sequence, by gaitbench's evaluator."""
    subject, condition, view = keys
    emb = EmbeddingSet(features[:, None, :].astype(np.float32), subject, condition, view)
    metrics = evaluate(emb, "casia-b").metrics
    return {c: metrics[c]["rank1"] for c in CONDITIONS}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="GEI and GEI + PCA + LDA rank-1 on CASIA-B stores.")
    ap.add_argument("stores", nargs="+", type=Path)
    ap.add_argument("--pca", default="150", help="principal components kept, comma-separated (150)")
    ap.add_argument("--out", type=Path, help="also write the table here")
    args = ap.parse_args(argv)
    try:
        counts = [int(n) for n in args.pca.split(",")]
        if min(counts) < 1:
            raise ValueError
    except ValueError:
        print(
            f"error: --pca {args.pca!r} is not a comma-separated list of positive integers",
            file=sys.stderr,
        )
        return 2
    columns = ["GEI NM", "GEI BG", "GEI CL", "PCA components", "GEI+PCA+LDA NM", "BG", "CL"]

    def measure(store: Store) -> list[list[str]]:
        x, keys = store_geis(store)
        floor = rank1(x["test"], keys["test"])
        mean, axes = principal_axes(x["train"])
        rows = []
        for n in counts:
            pca = axes[:, :n]
            proj = pca @ fit_lda((x["train"] - mean) @ pca, keys["train"][0])
            learned = rank1((x["test"] - mean) @ proj, keys["test"])
            figures = [f"{floor[c]:.1f}" for c in CONDITIONS] + [str(n)]
            figures += [f"{learned[c]:.1f}" for c in CONDITIONS]
            print(f"{Path(store.path).name}: " + " ".join(figures), file=sys.stderr)
            rows.append(figures)
        return rows

    return store_script(args.stores, columns, measure, args.out)


if __name__ == "__main__":
    sys.exit(main())
