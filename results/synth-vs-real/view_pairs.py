"""Where across views a trained model finds its people: rank-1 of each (probe view, gallery view)
pair, summarised by how far apart the two views are, on real CASIA-B and synthetic stores side by
side.

    python3 results/synth-vs-real/view_pairs.py LABEL=RESULTS.json[,RESULTS.json...] ...
        [--condition NM] [--out FILE.md]

Each LABEL is one model on one store; several results files after it (the seeds of one run) are
averaged cell by cell. The cells come from the per-probe outcomes that `gaitbench evaluate` writes
into every CASIA-B results file (`gaitbench.evaluation.compare.view_pair_rank1`), so nothing is
re-evaluated and no embeddings are needed. Columns: the mean rank-1 (%) of the view pairs 18, 36,
..., 180 degrees apart; "mirror", the pairs v and 180 - v (000-180, 018-162, ...), whose
silhouettes are the same up to the walker's left-right asymmetry and perspective (a silhouette
seen from behind-left is the mirror image of one seen from front-right); and "all", the
protocol's figure (identical views excluded).

A synthetic store can match real CASIA-B's average while being easy where real data is hard (or
the reverse): this shows at which view differences. Reads results JSON only; a second.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from gaitbench.errors import GaitbenchError
from gaitbench.evaluation.compare import view_pair_rank1
from gaitbench.reporting.synth_vs_real import table_script


def load_group(spec: str) -> tuple[str, list[dict]]:
    """``LABEL=a.json,b.json`` -> (label, results dicts); the files must be one model on one
    store."""
    label, sep, files = spec.partition("=")
    if not sep or not label or not files:
        raise GaitbenchError(f"{spec!r} is not LABEL=RESULTS.json[,RESULTS.json...]")
    results = []
    for f in files.split(","):
        try:
            results.append(dict(json.loads(Path(f).read_text()), _path=f))
        except (OSError, json.JSONDecodeError) as exc:
            raise GaitbenchError(
                f"cannot read results {f} ({exc}): pass `gaitbench evaluate` output"
            ) from None
    about = {(r.get("model"), (r.get("data") or {}).get("fingerprint")) for r in results}
    if len(about) > 1:
        raise GaitbenchError(
            f"{label}: the files hold different models or stores ({sorted(map(str, about))}): "
            "give one LABEL per model and store"
        )
    return label, results


def view_offsets(views: list[str]) -> np.ndarray:
    """``[V, V]`` absolute difference in degrees between the views' azimuths."""
    az = np.array([int(v) for v in views])
    return np.abs(az[:, None] - az[None, :])


def summary(cells: np.ndarray, views: list[str]) -> dict[str, float]:
    """{"18": mean of the pairs 18 degrees apart, ..., "180", "mirror", "all"} of one ``[V, V]``
    matrix (NaN cells left out)."""
    off = view_offsets(views)
    az = np.array([int(v) for v in views])
    out = {str(d): float(np.nanmean(cells[off == d])) for d in sorted(set(off[off > 0].ravel()))}
    mirror = (az[:, None] + az[None, :] == az.max() + az.min()) & (off > 0)
    out["mirror"] = float(np.nanmean(cells[mirror]))
    out["all"] = float(np.nanmean(np.nanmean(cells, axis=1)))
    return out


def table(groups: list[tuple[str, list[dict]]], condition: str) -> str:
    rows, columns = [], None
    for label, results in groups:
        mats = [view_pair_rank1(r, condition) for r in results]
        views = mats[0][0]
        if any(v != views for v, _ in mats):
            raise GaitbenchError(f"{label}: the files have different gallery views")
        s = summary(np.mean(np.stack([m for _, m in mats]), axis=0), views)
        columns = columns or list(s)
        data = results[0].get("data") or {}
        rows.append(
            [label, str(data.get("kind")), str(len(results))] + [f"{s[c]:.1f}" for c in columns]
        )
    head = ["run", "kind", "seeds", *[c if c in ("mirror", "all") else f"{c} deg" for c in columns]]
    lines = ["| " + " | ".join(head) + " |", "|---|---|---:|" + "---:|" * len(columns)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Rank-1 by view difference, from results JSON.")
    ap.add_argument("groups", nargs="+", help="LABEL=RESULTS.json[,RESULTS.json...]")
    ap.add_argument("--condition", default="NM", choices=("NM", "BG", "CL"))
    ap.add_argument("--out", type=Path, help="also write the table here")
    args = ap.parse_args(argv)
    return table_script(
        lambda: table([load_group(g) for g in args.groups], args.condition), args.out
    )


if __name__ == "__main__":
    sys.exit(main())
