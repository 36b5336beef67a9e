"""Where on the body a trained model finds identity: rank-1 NM / BG / CL of each horizontal
strip of a GaitSet or HSTL embedding alone, on real CASIA-B and on a synthetic store side by side.

    python3 results/synth-vs-real/strips.py EMBEDDINGS.h5 [EMBEDDINGS.h5 ...] [--out FILE.md]

EMBEDDINGS.h5 is the `embeddings-casia-b.h5` that `gaitbench evaluate` leaves in a run folder of
gaitset or gaitset-tiny. GaitSet cuts each of its two branches (set pooling of the frame maps, and
the multilayer global pipeline) by a horizontal pyramid of 16, 8, 4, 2 and 1 strips: parts 0-15
are the 16 strips of the main branch from the top of the 64-pixel frame down (4 pixels each), 31-46
the same strips of the global branch. Strip i is scored on parts (i, 31 + i) with gaitbench's own
CASIA-B protocol (Euclidean, gallery NM#1-4, identical views excluded), "all" on all 62 parts
(equal to the run's results JSON).

HSTL (hstl, hstl-tiny) ends in one horizontal pooling of `hpp_bins` strips, the last parts of
its embedding, top to bottom; strip i is scored on the bins that cover the same 4 pixel rows of
the 64-pixel frame (2 bins of hstl-tiny's 32, 4 of hstl's 64 on CASIA-B), "all" on every part,
its whole-body and region parts included. So GaitSet and HSTL columns share their rows.

A synthetic store that is as hard as real data for a trained model overall can still be hard in
the wrong places: where real coats wipe out the trunk's identity and the shanks below the hem keep
it, a synthetic coat may do the opposite. This shows which. Reads the embeddings only; about a
minute per file on one core.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gaitbench.errors import GaitbenchError
from gaitbench.evaluation.embeddings import EmbeddingSet, load_embeddings
from gaitbench.evaluation.protocols import evaluate
from gaitbench.reporting.synth_vs_real import emit

CONDITIONS = ("NM", "BG", "CL")
STRIPS = 16
BRANCH = 31  # parts per branch: 16 + 8 + 4 + 2 + 1
MODELS = ("gaitset", "gaitset-tiny", "hstl", "hstl-tiny")


def part_groups(model: str = "gaitset", dataset: str = "casia-b") -> list[tuple[str, list[int]]]:
    """("all", every part), then ("strip k", its parts) for k = 1..16, top to bottom."""
    if model.startswith("gaitset"):
        groups = [("all", list(range(2 * BRANCH)))]
        return groups + [(f"strip {i + 1}", [i, BRANCH + i]) for i in range(STRIPS)]
    from gaitbench import models

    net = models.create(model, dataset=dataset)
    bins = net.hpp.bins[0]
    first, per = net.parts - bins, bins // STRIPS
    groups = [("all", list(range(net.parts)))]
    return groups + [
        (f"strip {i + 1}", list(range(first + i * per, first + (i + 1) * per)))
        for i in range(STRIPS)
    ]


def strip_rank1(emb: EmbeddingSet) -> dict[str, dict[str, float]]:
    """{group name: {condition: rank-1 %}} for `part_groups` of the embeddings' model."""
    model, dataset = emb.attrs.get("model", "gaitset"), emb.attrs.get("dataset", "casia-b")
    groups = part_groups(model, dataset)
    if emb.embeddings.shape[1] != len(groups[0][1]):
        raise GaitbenchError(
            f"embeddings have {emb.embeddings.shape[1]} parts, not {model}'s "
            f"{len(groups[0][1])}: give the embeddings of a run of {', '.join(MODELS)}"
        )
    out = {}
    for name, parts in groups:
        one = EmbeddingSet(emb.embeddings[:, parts], emb.subject, emb.condition, emb.view)
        metrics = evaluate(one, "casia-b").metrics
        out[name] = {c: metrics[c]["rank1"] for c in CONDITIONS}
    return out


def describe(emb: EmbeddingSet, path: Path) -> str:
    """The run's model, name, kind and store fingerprint, from the embeddings file."""
    attrs = emb.attrs
    data = json.loads(attrs.get("data") or "{}")
    model = attrs.get("model", "?")
    if model not in MODELS:
        raise GaitbenchError(f"{path}: model {model!r}: strips.py reads {', '.join(MODELS)}")
    return f"{attrs.get('run', path.parent.name)} ({data.get('kind', '?')}, {data.get('fingerprint', '?')})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Rank-1 per horizontal strip of GaitSet or HSTL embeddings."
    )
    ap.add_argument("embeddings", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, help="also write the table here")
    args = ap.parse_args(argv)
    names, tables = [], []
    for path in args.embeddings:
        try:
            emb = load_embeddings(path)
            names.append(describe(emb, path))
            tables.append(strip_rank1(emb))
        except GaitbenchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"{path}: done", file=sys.stderr)
    lines = [
        "| part | " + " | ".join(f"{n} NM / BG / CL" for n in names) + " |",
        "|---" + "|---" * len(names) + "|",
    ]
    for name, _ in part_groups():
        cells = [" / ".join(f"{t[name][c]:.1f}" for c in CONDITIONS) for t in tables]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    emit("\n".join(lines) + "\n", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
