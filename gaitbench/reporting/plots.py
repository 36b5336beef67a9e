"""Paper figures from results JSON (and a run's metrics log), PNG and PDF, with matplotlib:
rank-1 per probe view, accuracy against GFLOPs, training curves."""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402

from gaitbench.reporting.tables import DATASET_NAMES, _labels, published_protocol  # noqa: E402


def _save(fig, out_dir: Path, stem: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()  # wide tick labels (learning rates) must not run into the next panel
    paths = []
    for ext in ("png", "pdf"):
        p = out_dir / f"{stem}.{ext}"
        fig.savefig(p, dpi=150, bbox_inches="tight")
        paths.append(p)
    plt.close(fig)
    return paths


def plot_per_view(
    results: list[dict],
    out_dir: Path,
    published: dict | None = None,
    protocol: str = "casia-b",
    stem: str | None = None,
    title: str | None = None,
) -> list[Path]:
    """Rank-1 per probe view: one panel per condition, one line per run (published dashed).
    ``title`` names the data (e.g. "synthetic walkers, CASIA-B protocol"); pass ``published``
    only for results on the real dataset."""
    ours = [(lab, r) for lab, r in zip(_labels(results), results) if r["protocol"] == protocol]
    if not ours:
        return []
    conds = list(dict.fromkeys(c for _, r in ours for c in r["metrics"]))
    fig, axes = plt.subplots(
        1, len(conds), figsize=(4.2 * len(conds), 3.4), squeeze=False, sharey=True
    )
    for ax, cond in zip(axes[0], conds):
        for lab, r in ours:
            per = r["metrics"].get(cond, {}).get("rank1_per_view")
            if per:
                xs = [float(v) for v in per]
                ax.plot(
                    xs,
                    [math.nan if y is None else y for y in per.values()],
                    marker="o",
                    ms=3,
                    label=lab,
                )
        for p in (published or {}).get("results", []):
            pv = p.get("per_view") or {}
            if published_protocol(p) == protocol and cond in pv:
                ax.plot(
                    [float(v) for v in pv["views"]],
                    pv[cond],
                    ls="--",
                    marker="x",
                    ms=3,
                    label=f"{p['model']} (published)",
                )
        ax.set_title(f"{title or DATASET_NAMES[protocol]} {cond}", fontsize=9)
        ax.set_xlabel("probe view (degrees)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("rank-1 (%), identical views excluded")
    # One legend under the panels: inside a panel it hides the lowest views' points.
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        fontsize=7,
        loc="upper center",
        ncol=min(len(labels), 4),
        bbox_to_anchor=(0.5, 0.0),
    )
    return _save(fig, out_dir, stem or f"rank1_per_view_{protocol}")


def _headline(protocol: str, metrics: dict) -> float | None:
    """One accuracy per result: CASIA-B the mean of NM/BG/CL rank-1, the others rank-1."""
    if protocol in ("casia-b", "oumvlp"):
        vals = [m.get("rank1") if isinstance(m, dict) else m for m in metrics.values()]
        vals = [v for v in vals if v is not None]
        return sum(vals) / len(vals) if vals else None
    return metrics.get("rank1")


def plot_accuracy_vs_flops(
    results: list[dict], out_dir: Path, published: dict | None = None
) -> list[Path]:
    """Accuracy against GFLOPs per dataset; marker area proportional to parameters."""
    protocols = list(dict.fromkeys(r["protocol"] for r in results))
    fig, axes = plt.subplots(1, len(protocols), figsize=(4.6 * len(protocols), 3.6), squeeze=False)
    comp = (published or {}).get("complexity") or {}
    for ax, proto in zip(axes[0], protocols):
        kinds = {
            (r.get("data") or {}).get("kind") or "unknown"
            for r in results
            if r["protocol"] == proto
        }
        real = kinds == {"real"}
        for lab, r in zip(_labels(results), results):
            acc = _headline(proto, r["metrics"]) if r["protocol"] == proto else None
            if acc is None or not r.get("flops"):
                continue
            ax.scatter(r["flops"] / 1e9, acc, s=_area(r.get("params")), alpha=0.7)
            ax.annotate(
                lab, (r["flops"] / 1e9, acc), fontsize=7, xytext=(4, 4), textcoords="offset points"
            )
        # Published points only beside results on the real dataset.
        for p in (published or {}).get("results", []) if real else []:
            c = comp.get(p["model"])
            acc = _headline(proto, p["metrics"]) if published_protocol(p) == proto else None
            if c is None or acc is None:
                continue
            ax.scatter(
                c["flops"] / 1e9, acc, s=_area(c["params"]), facecolors="none", edgecolors="grey"
            )
            ax.annotate(
                f"{p['model']} (pub.)",
                (c["flops"] / 1e9, acc),
                fontsize=7,
                color="grey",
                xytext=(4, -8),
                textcoords="offset points",
            )
        ax.margins(x=0.15, y=0.1)  # room for the labels of the outermost points
        ax.set_xlabel("GFLOPs (fvcore, 30 x 64 x 44, 1 MAC = 1 FLOP)")
        ax.set_ylabel("mean rank-1 (%)" if proto == "casia-b" else "rank-1 (%)")
        name = DATASET_NAMES.get(proto, proto)
        if not real:
            name = (
                f"synthetic walkers, {name} protocol"
                if kinds == {"synthetic"}
                else f"{name} protocol ({', '.join(sorted(kinds))} data)"
            )
        ax.set_title(f"{name}: accuracy vs compute (marker area = params)")
        ax.title.set_fontsize(9)
        ax.grid(alpha=0.3)
    return _save(fig, out_dir, "accuracy_vs_gflops")


def _area(params: float | None) -> float:
    return 20.0 + 40.0 * (params or 0) / 1e6


def run_metrics_log(result: dict) -> Path | None:
    """The ``metrics.jsonl`` of the run a result came from (next to its results JSON or two
    levels above its checkpoint), if there is one."""
    candidates = []
    if "_path" in result:
        candidates.append(Path(result["_path"]).parent / "metrics.jsonl")
    if result.get("checkpoint"):
        ckpt = Path(result["checkpoint"])
        if not ckpt.is_absolute() and "_path" in result:
            ckpt = Path(result["_path"]).parent / ckpt  # schema 2: relative to the results file
        candidates.append(ckpt.parent.parent / "metrics.jsonl")
    return next((c for c in candidates if c.is_file()), None)


def read_metrics_log(path: Path) -> list[dict]:
    rows = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line:
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut off by an interrupted run
    return rows


STAGE_FILE = (
    "selfgait.json"  # written by gaitbench.training.selfsup (reporting imports no training)
)


def _stage_record(run_dir: Path) -> dict:
    path = run_dir / STAGE_FILE
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, json.JSONDecodeError):
        return {}


def _pretraining_log(log: Path) -> Path | None:
    """A SelfGait fine-tuning run's pre-training metrics log (its ``init`` run), if it is found
    as recorded, relative to a folder above the fine-tuning run (a copied tree of runs keeps its
    relative layout), or beside it."""
    init = _stage_record(log.parent).get("init")
    if not init:
        return None
    candidates = [Path(init)]
    if not Path(init).is_absolute():
        candidates += [above / init for above in log.parent.parents]
    candidates.append(log.parent.parent / Path(init).name)
    for folder in candidates:
        if (folder / "metrics.jsonl").is_file():
            return folder / "metrics.jsonl"
    return None


def plot_training_curves(results: list[dict], out_dir: Path) -> list[Path]:
    """Loss and every other numeric series of each run's metrics log against the iteration.

    A SelfGait fine-tuning run brings its pre-training run's log along ("<run> pre-training"),
    whose ``embed_std`` panel (the collapse monitor) carries the run's collapse threshold as a
    dashed line."""
    logs = {}
    for lab, r in zip(_labels(results), results):
        log = run_metrics_log(r)
        if log is not None and log not in logs.values():
            logs[lab] = log
            pre = _pretraining_log(log)
            if pre is not None and pre not in logs.values():
                logs[f"{lab} pre-training"] = pre
    series: dict[str, dict[str, tuple[list, list]]] = {}
    for lab, log in logs.items():
        for row in read_metrics_log(log):
            it = row.get("iteration", row.get("step", row.get("iter")))
            if it is None:
                continue
            for k, v in row.items():
                if k in ("iteration", "step", "iter", "time", "epoch") or isinstance(v, bool):
                    continue
                if isinstance(v, (int, float)) and math.isfinite(v):
                    xs, ys = series.setdefault(k, {}).setdefault(lab, ([], []))
                    xs.append(it)
                    ys.append(v)
    if not series:
        return []
    # The learning signals first; bookkeeping series (speed, data wait) only if room is left.
    preferred = (
        "loss",
        "embed_std",
        "triplet",
        "ce",
        "accuracy",
        "mean_distance",
        "active_triplets",
        "lr",
    )
    keys = [k for k in preferred if k in series]
    keys += sorted(k for k in series if k not in preferred and k not in ("it_per_s", "data_wait"))
    keys = keys[:4]
    # One colour per run in every panel, whichever series it lacks (GaitSet has no CE or accuracy).
    colours = {lab: f"C{i % 10}" for i, lab in enumerate(logs)}
    cols = min(2, len(keys))
    rows = math.ceil(len(keys) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    for ax, key in zip(axes.flat, keys):
        for lab, (xs, ys) in series[key].items():
            ax.plot(xs, ys, label=lab, lw=1.2, color=colours[lab])
        if key == "embed_std":
            for lab in series[key]:
                floor = _stage_record(logs[lab].parent).get("collapse_threshold")
                if isinstance(floor, (int, float)):
                    ax.axhline(floor, ls="--", lw=1.0, color=colours[lab])
            key = "embed_std (collapse monitor; dashed: warning threshold)"
        ax.set_title(key, fontsize=9)
        ax.set_xlabel("iteration")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(keys) :]:
        ax.set_visible(False)
    handles = [plt.Line2D([], [], color=c, lw=1.2) for c in colours.values()]
    # Under the figure, as in the per-view plot: _save's tight_layout would pull a legend inside
    # the figure over the bottom panels' axis labels.
    fig.legend(
        handles,
        list(colours),
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=min(4, len(colours)),
        fontsize=7,
        frameon=False,
    )
    return _save(fig, out_dir, "training_curves")
