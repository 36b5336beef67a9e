"""Results tables from results JSON only: the summary table and the CASIA-B per-view table, with
published figures as rows marked "published", rendered as markdown, CSV or LaTeX (booktabs)."""

from __future__ import annotations

import math
import os
from importlib import resources
from pathlib import Path

import pandas as pd
import yaml

from gaitbench.errors import GaitbenchError
from gaitbench.evaluation.results import load_results

# Keyed by protocol: the dataset's standard one, or another protocol on that dataset.
DATASET_NAMES = {
    "casia-b": "CASIA-B",
    "oumvlp": "OU-MVLP",
    "grew": "GREW",
    "gait3d": "Gait3D",
    "selfgait-release": "CASIA-B (SelfGait release split)",
}
# Headline columns per dataset: (column title, metrics key, sub-key).
HEADLINE = {
    "casia-b": [("NM", "NM", "rank1"), ("BG", "BG", "rank1"), ("CL", "CL", "rank1")],
    "oumvlp": [("R1", "NM", "rank1")],
    "grew": [("R1", "rank1", None), ("R5", "rank5", None)],
    "gait3d": [("R1", "rank1", None), ("mAP", "mAP", None), ("mINP", "mINP", None)],
    "selfgait-release": [("NM", "NM", "rank1"), ("BG", "BG", "rank1"), ("CL", "CL", "rank1")],
}
FLOP_CONVENTION = (
    "FLOPs from fvcore for one 30-frame 64x44 sequence, one multiply-add counted as one FLOP"
)
PROTOCOL_NOTES = {
    "casia-b": "CASIA-B: rank-1 (\\%), gallery NM\\#1-4, probes NM\\#5-6 / BG\\#1-2 / CL\\#1-2, "
    "identical views excluded",
    "oumvlp": "OU-MVLP: rank-1 (\\%), gallery seq 01, probe seq 00, identical views excluded, "
    "probes missing from a gallery view counted as misses",
    "grew": "GREW: rank-1/5 (\\%), unmatched probes counted as misses",
    "gait3d": "Gait3D: rank-1 (\\%), mAP, mINP, probes without a true match skipped",
    "selfgait-release": "CASIA-B on the SelfGait release's split: sequences of at least 30 "
    "frames, subject 005 dropped, the subject-ordered last 20 \\% as test, one 30-frame window "
    "each; CASIA-B's probe and gallery sets, identical views excluded",
}


def collect_results(paths: list[str | os.PathLike] | None = None) -> list[dict]:
    """Results JSON from files and folders (searched recursively for ``results*.json``);
    default: everything under ``results/``. Each dict gains ``_path``."""
    paths = [Path(p) for p in (paths or ["results"])]
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files += sorted(p.rglob("results*.json"))
        elif p.is_file():
            files.append(p)
        else:
            raise GaitbenchError(
                f"{p} does not exist: pass results JSON files or folders holding them"
            )
    if not files:
        raise GaitbenchError(
            f"no results JSON under {', '.join(map(str, paths))}: run `gaitbench evaluate` first"
        )
    out = []
    for f in files:
        r = load_results(f)
        r["_path"] = str(f)
        out.append(r)
    return out


def load_published() -> dict:
    """The published figures shipped with gaitbench (``reporting/published.yaml``)."""
    text = resources.files("gaitbench.reporting").joinpath("published.yaml").read_text()
    return yaml.safe_load(text)


def _labels(results: list[dict]) -> list[str]:
    """Row label per result: the model name, with the run folder added where two differ."""
    base = [r.get("model", "unknown") for r in results]
    runs = [Path(r["_path"]).parent.name if "_path" in r else "" for r in results]
    labels = []
    for b, run, r in zip(base, runs, results):
        same = [i for i, x in enumerate(base) if x == b]
        distinct_runs = {runs[i] for i in same}
        label = f"{b} ({run})" if len(distinct_runs) > 1 else b
        if (r.get("protocol_options") or {}).get("drop_missing"):
            label += " [drop missing]"
        labels.append(label)
    return labels


def published_protocol(p: dict) -> str:
    """The protocol a published row was measured on (published.yaml's ``protocol``; the
    dataset's standard protocol when absent). A row is shown only beside results on it."""
    return p.get("protocol") or p["dataset"]


def _get(metrics: dict, key: str, sub: str | None):
    v = metrics.get(key)
    if sub is not None:
        v = v.get(sub) if isinstance(v, dict) else None
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def summary_frame(results: list[dict], published: dict | None = None) -> pd.DataFrame:
    """One row per model (ours, then published): model, origin, params (M), GFLOPs and the
    headline metrics of each dataset present (columns "CASIA-B NM", "Gait3D mAP", ...)."""
    rows: dict[tuple[str, str], dict] = {}
    datasets: list[str] = []
    for label, r in zip(_labels(results), results):
        ds = r["protocol"]
        datasets.append(ds)
        row = rows.setdefault((label, "ours"), {"model": label, "origin": "ours"})
        if r.get("params"):
            row["params (M)"] = r["params"] / 1e6
        if r.get("flops"):
            row["GFLOPs"] = r["flops"] / 1e9
        for title, key, sub in HEADLINE.get(ds, []):
            row[f"{DATASET_NAMES[ds]} {title}"] = _get(r["metrics"], key, sub)
    if published:
        for p in published.get("results", []):
            ds = published_protocol(p)
            if ds not in datasets:
                continue  # only protocols we have results for
            row = rows.setdefault(
                (p["model"], "published"), {"model": p["model"], "origin": "published"}
            )
            comp = (published.get("complexity") or {}).get(p["model"])
            if comp:
                row["params (M)"] = comp["params"] / 1e6
                row["GFLOPs"] = comp["flops"] / 1e9
            for title, key, sub in HEADLINE[ds]:
                v = p["metrics"].get(key)
                if v is not None:
                    row[f"{DATASET_NAMES[ds]} {title}"] = float(v)
    columns = ["model", "origin", "params (M)", "GFLOPs"]
    for ds in DATASET_NAMES:
        if ds in datasets:
            columns += [f"{DATASET_NAMES[ds]} {t}" for t, _, _ in HEADLINE[ds]]
    return pd.DataFrame(list(rows.values()), columns=columns)


def per_view_frame(
    results: list[dict], published: dict | None = None, protocol: str = "casia-b"
) -> pd.DataFrame:
    """Rows model x condition, columns the probe views and the mean, as papers print them."""
    rows, views = [], None
    for label, r in zip(_labels(results), results):
        if r["protocol"] != protocol:
            continue
        for cond, m in r["metrics"].items():
            per = m.get("rank1_per_view", {})
            views = views or list(per)
            rows.append(
                {"model": label, "origin": "ours", "condition": cond, **per, "mean": m.get("rank1")}
            )
    if not rows:
        return pd.DataFrame()
    if published:
        for p in published.get("results", []):
            if published_protocol(p) != protocol:
                continue
            pv = p.get("per_view") or {}
            for cond, mean in p["metrics"].items():
                row = {"model": p["model"], "origin": "published", "condition": cond, "mean": mean}
                if cond in pv:
                    row.update(dict(zip(pv["views"], pv[cond])))
                rows.append(row)
    df = pd.DataFrame(rows, columns=["model", "origin", "condition", *views, "mean"])
    order = {c: i for i, c in enumerate(["NM", "BG", "CL"])}
    df["_o"] = df["condition"].map(order).fillna(9)
    df["_s"] = (df["origin"] == "published").astype(int)
    return (
        df.sort_values(["_o", "_s"], kind="stable")
        .drop(columns=["_o", "_s"])
        .reset_index(drop=True)
    )


def _cell(v, digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _metric_columns(df: pd.DataFrame) -> list[str]:
    return [
        c for c in df.columns if c not in ("model", "origin", "condition", "params (M)", "GFLOPs")
    ]


def to_markdown(df: pd.DataFrame, digits: int = 1) -> str:
    """GitHub markdown table; the best value of each metric column (per condition) in bold."""
    best = _best_cells(df)
    lines = [
        "| " + " | ".join(df.columns) + " |",
        "|"
        + "|".join("---" if c in ("model", "origin", "condition") else "---:" for c in df.columns)
        + "|",
    ]
    for i, row in df.iterrows():
        cells = []
        for c in df.columns:
            s = _cell(row[c], 2 if c in ("params (M)", "GFLOPs") else digits)
            cells.append(f"**{s}**" if (i, c) in best else s)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def to_csv(df: pd.DataFrame) -> str:
    return df.to_csv(index=False, float_format="%.4f")


def _best_cells(df: pd.DataFrame) -> set[tuple[int, str]]:
    """(row, column) of the highest value of every metric column; within each condition when
    the table has one (per-view tables), ties all bold."""
    best = set()
    groups = df.groupby("condition").groups.values() if "condition" in df.columns else [df.index]
    for idx in groups:
        for c in _metric_columns(df):
            col = pd.to_numeric(df.loc[idx, c], errors="coerce")
            if col.notna().any():
                top = col.max()
                best |= {(i, c) for i in col.index if col[i] == top}
    return best


_TEX = {
    "\\": "\\textbackslash{}",
    "&": "\\&",
    "%": "\\%",
    "_": "\\_",
    "#": "\\#",
    "$": "\\$",
    "{": "\\{",
    "}": "\\}",
    "~": "\\textasciitilde{}",
    "^": "\\^{}",
}


def _tex(s: str) -> str:
    """Escape LaTeX's special characters, one character at a time (no double escaping)."""
    return "".join(_TEX.get(ch, ch) for ch in s)


def to_latex(df: pd.DataFrame, caption: str, label: str, digits: int = 1) -> str:
    """A booktabs ``table`` with the best value per metric column in bold and a caption."""
    best = _best_cells(df)
    align = "".join("l" if c in ("model", "origin", "condition") else "r" for c in df.columns)
    lines = [
        "\\begin{table}[t]",
        "\\centering",
        "\\small",
        f"\\caption{{{caption}}}",
        f"\\label{{{label}}}",
        f"\\begin{{tabular}}{{{align}}}",
        "\\toprule",
        " & ".join(_tex(str(c)) for c in df.columns) + " \\\\",
        "\\midrule",
    ]
    prev_cond = None
    for i, row in df.iterrows():
        if "condition" in df.columns and prev_cond is not None and row["condition"] != prev_cond:
            lines.append("\\midrule")
        prev_cond = row.get("condition")
        cells = []
        for c in df.columns:
            s = _tex(_cell(row[c], 2 if c in ("params (M)", "GFLOPs") else digits))
            cells.append(f"\\textbf{{{s}}}" if (i, c) in best else s)
        lines.append(" & ".join(cells) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}", "\\end{table}"]
    return "\n".join(lines) + "\n"


def summary_caption(protocols: list[str]) -> str:
    notes = "; ".join(PROTOCOL_NOTES[p] for p in DATASET_NAMES if p in protocols)
    return (
        f"Summary. {notes}. {FLOP_CONVENTION}; params include the classifier head. "
        "Rows marked published are figures from the papers or OpenGait's model zoo "
        "(sources in gaitbench/reporting/published.yaml), not our runs."
    )


def per_view_caption(protocol: str = "casia-b") -> str:
    return (
        f"{PROTOCOL_NOTES[protocol]}, per probe view (averaged over the other gallery views) and "
        "mean. Rows marked published are from the papers (sources in gaitbench/reporting/published.yaml)."
    )
