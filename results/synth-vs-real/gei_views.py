"""A training-free look at how the synthetic walkers differ from real CASIA-B: the GEI nearest
neighbour (`gaitbench.data.synth.gei_nn`) on the test subjects of each store (its official
partition: 075-124 for CASIA-B and the default synthetic store), with the
gallery in the probe's own view (how separable people are, and how much a bag or a coat moves
a person's outline) and in the other views (the protocol, as `gaitbench evaluate --model gei`).

    python3 results/synth-vs-real/gei_views.py STORE [STORE ...] [--out FILE.md]

Prints (and writes) one markdown table: per store, rank-1 (%) of NM / BG / CL both ways. A
calibration candidate whose same-view figures sit far from real CASIA-B's is not worth training
the models on. Reads the stores only; about a minute per store on one core.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gaitbench.data.partitions import resolve_partition
from gaitbench.data.store import Store
from gaitbench.data.synth import gei_features, gei_nn
from gaitbench.reporting.synth_vs_real import store_script


def mean_frames(store: Store) -> list:
    """(subject, condition, view, mean frame [1, s, s]) of the store's test subjects (official
    partition): what `gei_nn` needs of a sequence (its GEI is the mean frame), read once for both
    galleries."""
    part = resolve_partition(
        "official", store.dataset, store.subjects(), getattr(store, "partition", None)
    )
    test = set(part.test)
    out = []
    for i, row in enumerate(store.index.itertuples(index=False)):
        if row.subject in test and row.length > 0:
            frames = store.read(i)
            out.append((row.subject, row.condition, row.view, frames.mean(0, keepdims=True)))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="GEI-NN rank-1, same view and other views.")
    ap.add_argument("stores", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, help="also write the table here")
    args = ap.parse_args(argv)
    columns = [f"{c} {side}" for side in ("same view", "other views") for c in ("NM", "BG", "CL")]

    def measure(store: Store) -> list[list[str]]:
        geis = gei_features(mean_frames(store))
        same, other = gei_nn(geis, same_view=True), gei_nn(geis, same_view=False)
        return [[f"{r[c]['mean']:.1f}" for r in (same, other) for c in ("NM", "BG", "CL")]]

    return store_script(args.stores, columns, measure, args.out)


if __name__ == "__main__":
    sys.exit(main())
