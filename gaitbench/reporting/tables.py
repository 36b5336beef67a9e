"""Results tables from results JSON only.

The rules a reader relies on:

* every results file is one run, and two runs never merge: a row is one run, or the seeds of
  one configuration (same model, recipe hash, data fingerprint and iterations, different seeds)
  aggregated to mean ± std (sample standard deviation, n - 1) with their count ``n``;
* results are grouped by the data they were computed on (the store's fingerprint) and the
  protocol: a synthetic store's group is titled and captioned as synthetic, never as the real
  dataset;
* published figures (``published.yaml``, always marked ``published``) sit beside results on real
  data of their dataset and protocol (a row's protocol defaults to the dataset's standard one);
  every other published row is shown in a separate block, labelled with its data and protocol;
* "best" is bolded among our rows of one group only (per column, per condition in per-view
  tables), and only where at least two of our rows have a value: never against a blank or a
  published row;
* the per-view table holds the union of the views of the results it shows (blank where a run has
  no such view); every row says its distance.

`tidy_frame` is the one long-format table behind ``--csv``: one value per row, with the columns
`TIDY_COLUMNS`.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from gaitbench.errors import GaitbenchError
from gaitbench.evaluation.results import is_results, validate_results

# Keyed by protocol: the dataset's standard one, or another protocol on that dataset.
DATASET_NAMES = {
    "casia-b": "CASIA-B",
    "oumvlp": "OU-MVLP",
    "grew": "GREW",
    "gait3d": "Gait3D",
    "selfgait-release": "CASIA-B (SelfGait release split)",
}
# Headline columns per protocol: (column title, metrics key, sub-key).
HEADLINE = {
    "casia-b": [("NM", "NM", "rank1"), ("BG", "BG", "rank1"), ("CL", "CL", "rank1")],
    "selfgait-release": [("NM", "NM", "rank1"), ("BG", "BG", "rank1"), ("CL", "CL", "rank1")],
    "oumvlp": [("R1", "NM", "rank1")],
    "grew": [("R1", "rank1", None), ("R5", "rank5", None)],
    "gait3d": [("R1", "rank1", None), ("mAP", "mAP", None), ("mINP", "mINP", None)],
}
VIEW_PROTOCOLS = ("casia-b", "selfgait-release", "oumvlp")
RANKING_KEYS = ("rank1", "rank5", "rank10", "rank20", "mAP", "mINP")
FLOP_CONVENTION = (
    "FLOPs from fvcore for one 30-frame 64x44 sequence, one multiply-add counted as one FLOP"
)
PROTOCOL_NOTES = {
    "casia-b": "CASIA-B protocol: rank-1 (\\%), gallery NM\\#1-4, probes NM\\#5-6 / BG\\#1-2 / "
    "CL\\#1-2, identical views excluded",
    "oumvlp": "OU-MVLP protocol: rank-1 (\\%), gallery seq 01, probe seq 00, identical views "
    "excluded, probes missing from a gallery view counted as misses",
    "grew": "GREW protocol: rank-1/5 (\\%), unmatched probes counted as misses",
    "gait3d": "Gait3D protocol: rank-1 (\\%), mAP, mINP, probes without a true match skipped",
    "selfgait-release": "CASIA-B on the SelfGait release's split: sequences of at least 30 "
    "frames, subject 005 dropped, the subject-ordered last 20 \\% as test, one 30-frame window "
    "each; CASIA-B's probe and gallery sets, identical views excluded",
}
TIDY_COLUMNS = [
    "run", "model", "origin", "data_kind", "dataset", "data_file", "fingerprint", "protocol",
    "condition", "view", "metric", "value", "std", "n", "seeds", "distance", "iterations",
    "params", "flops", "group",
]  # fmt: skip
TEXT_COLUMNS = ("run", "model", "origin", "distance", "condition", "protocol", "data")


# -- collecting --------------------------------------------------------------------------------


@dataclass
class Collected:
    results: list[dict]
    skipped: int  # JSON files under the paths that are not results files


def collect(paths: list[str | os.PathLike] | None = None) -> Collected:
    """Every JSON file under ``paths`` (files, or folders searched recursively) whose ``schema``
    is a gaitbench results schema, whatever its name; default: ``results/``. A file named
    explicitly must be a results file. Each result gains ``_path`` and ``_run``."""
    paths = [Path(p) for p in (paths or ["results"])]
    found: list[tuple[Path, dict]] = []
    skipped = 0
    for p in paths:
        if p.is_file():
            found.append((p, _read(p, strict=True)))
        elif p.is_dir():
            for f in sorted(p.rglob("*.json")):
                data = _read(f, strict=False)
                if is_results(data):
                    found.append((f, data))
                else:
                    skipped += 1
        else:
            raise GaitbenchError(
                f"{p} does not exist: pass results JSON files or folders holding them"
            )
    if not found:
        raise GaitbenchError(
            f"no results JSON under {', '.join(map(str, paths))}"
            f"{f' ({skipped} other JSON files)' if skipped else ''}: run `gaitbench evaluate` first"
        )
    out = []
    for f, data in found:
        r = dict(validate_results(data, str(f)))
        _check_numbers(r, f)
        r["_path"] = str(f)
        r["_run"] = r.get("run") or _v1_run_name(f)
        out.append(r)
    return Collected(out, skipped)


def collect_results(paths: list[str | os.PathLike] | None = None) -> list[dict]:
    """`collect`'s results only."""
    return collect(paths).results


def _read(path: Path, strict: bool):
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        if strict:
            raise GaitbenchError(
                f"results file {path} is not valid JSON ({exc}): re-run `gaitbench evaluate`"
            ) from None
        return None


def _check_numbers(r: dict, path: Path) -> None:
    """A string or list where a figure belongs is one clear error, not a crash in a table."""
    if r["protocol"] not in HEADLINE:
        raise GaitbenchError(
            f"{path}: unknown protocol {r['protocol']!r} (this gaitbench reports "
            f"{', '.join(HEADLINE)}): re-run `gaitbench evaluate` or upgrade gaitbench"
        )
    for key, value in _figures(r):
        if value is not None and not isinstance(value, (int, float)):
            raise GaitbenchError(
                f"{path}: metric {'/'.join(k for k in key if k)} is {value!r}, not a number: "
                "re-run `gaitbench evaluate`"
            )


def _v1_run_name(path: Path) -> str:
    """Schema 1 had no run name: the file's stem, or its folder's name for ``results-*.json``
    inside a run folder."""
    return path.parent.name if path.stem.startswith("results") else path.stem


def load_published() -> dict:
    """The published figures shipped with gaitbench (``reporting/published.yaml``)."""
    text = resources.files("gaitbench.reporting").joinpath("published.yaml").read_text()
    return yaml.safe_load(text)


# -- figures of one result ---------------------------------------------------------------------


def _figures(r: dict):
    """``((condition, view, metric), value)`` for every figure of a result (view "" = the mean
    over views; condition "" for GREW / Gait3D)."""
    metrics = r["metrics"]
    if r["protocol"] in VIEW_PROTOCOLS:
        for cond, m in metrics.items():
            if not isinstance(m, dict):
                yield (cond, "", "rank1"), m
                continue
            yield (cond, "", "rank1"), m.get("rank1")
            for view, v in (m.get("rank1_per_view") or {}).items():
                yield (cond, str(view), "rank1"), v
    else:
        for key in RANKING_KEYS:
            if key in metrics:
                yield ("", "", key), metrics[key]


def _clean(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return float(v)


def _published_figures(p: dict):
    protocol = p["dataset"]
    if protocol in VIEW_PROTOCOLS:
        pv = p.get("per_view") or {}
        views = [str(v) for v in pv.get("views", [])]
        for cond, mean in p["metrics"].items():
            yield (cond, "", "rank1"), mean
            for view, v in zip(views, pv.get(cond, [])):
                yield (cond, view, "rank1"), v
    else:
        for key in RANKING_KEYS:
            if key in p["metrics"]:
                yield ("", "", key), p["metrics"][key]


# -- data groups and rows ----------------------------------------------------------------------


@dataclass
class Group:
    """The results of one protocol on one store (or, for files that do not record their
    store, on data described alike)."""

    key: tuple
    protocol: str
    kind: str  # real, synthetic or unknown
    data: dict
    results: list[dict] = field(default_factory=list)

    @property
    def dataset(self) -> str:
        """The dataset whose protocol this is (casia-b for selfgait-release)."""
        return str(self.results[0].get("dataset") or self.protocol) if self.results else ""

    @property
    def title(self) -> str:
        name = DATASET_NAMES.get(self.protocol, self.protocol)
        fp = self.data.get("fingerprint")
        store = self.data.get("file")
        where = ", ".join(
            x for x in (f"store {store}" if store else "", fp or "fingerprint not recorded") if x
        )
        if self.kind == "real":
            return f"{name} (real data; {where})"
        if self.kind == "synthetic":
            return f"Synthetic walkers, {name} protocol ({_generator_text(self.data)}; {where})"
        return f"{name} protocol, data not recorded (real or synthetic unknown)"

    @property
    def slug(self) -> str:
        fp = (self.data.get("fingerprint") or "").replace("sha256:", "")[:8]
        return "-".join(x for x in (self.protocol, self.kind, fp) if x)


def _generator_text(data: dict) -> str:
    g = data.get("generator") or {}
    if not g:
        return "gaitbench synth"
    parts = []
    if g.get("subjects"):
        parts.append(f"{g['subjects']} subjects")
    if g.get("views"):
        parts.append(f"{len(g['views'])} views")
    if g.get("difficulty"):
        from gaitbench.data.synth import format_tune

        tune = format_tune(tuple(sorted((g.get("tune") or {}).items())))
        parts.append(str(g["difficulty"]) + (f" tuned {tune}" if tune else ""))
    if g.get("seed") is not None:
        parts.append(f"seed {g['seed']}")
    return "gaitbench synth: " + ", ".join(parts)


def _data_key(r: dict) -> tuple:
    d = r.get("data") or {}
    if d.get("fingerprint"):
        return ("fp", d["fingerprint"])
    kind = d.get("kind") or "unknown"
    if kind == "unknown":
        return ("unknown",)
    gen = json.dumps(d.get("generator"), sort_keys=True)
    return (kind, d.get("file"), gen)


def group_results(results: list[dict]) -> list[Group]:
    """Results by (protocol, data): real data first, then synthetic, then unrecorded."""
    groups: dict[tuple, Group] = {}
    for r in results:
        key = (r["protocol"], *_data_key(r))
        d = r.get("data") or {}
        g = groups.setdefault(key, Group(key, r["protocol"], d.get("kind") or "unknown", d))
        g.results.append(r)
    order = {"real": 0, "synthetic": 1, "unknown": 2}
    proto = {p: i for i, p in enumerate(DATASET_NAMES)}
    return sorted(groups.values(), key=lambda g: (order.get(g.kind, 3), proto.get(g.protocol, 9)))


@dataclass
class Row:
    """One row of a table: one run, or several seeds of one configuration."""

    run: str
    model: str
    origin: str  # ours or published
    results: list[dict]
    dataset: str = ""
    distance: str = ""
    protocol: str = ""
    params: float | None = None
    flops: float | None = None
    iterations: int | None = None
    seeds: list = field(default_factory=list)
    values: dict = field(default_factory=dict)  # (condition, view, metric) -> (mean, std, n)

    @property
    def n(self) -> int | None:
        return len(self.results) if self.origin == "ours" else None


def _seed_key(r: dict):
    """Runs with equal keys differ only in their seed; None: the run stands alone."""
    t = r.get("training") or {}
    d = r.get("data") or {}
    key = (
        r.get("model"),
        t.get("recipe_hash"),
        d.get("fingerprint"),
        t.get("iterations"),
        r.get("metric"),
        bool((r.get("protocol_options") or {}).get("drop_missing")),
    )
    if t.get("seed") is None or any(k is None for k in key[:4]):
        return None
    return key


def rows_of(group: Group, per_seed: bool = False) -> list[Row]:
    """Our rows of a group: seeds of one configuration aggregated unless ``per_seed``."""
    buckets: dict = {}
    for i, r in enumerate(group.results):
        key = None if per_seed else _seed_key(r)
        buckets.setdefault(key if key is not None else ("alone", i), []).append(r)
    rows = []
    for members in buckets.values():
        seeds = [(m.get("training") or {}).get("seed") for m in members]
        if len(members) > 1 and len(set(seeds)) != len(seeds):
            rows += [_row([m]) for m in members]  # same seed twice: not seeds, keep apart
        else:
            rows.append(_row(members))
    _disambiguate(rows)
    return rows


def _row(members: list[dict]) -> Row:
    first = members[0]
    seeds = [(m.get("training") or {}).get("seed") for m in members]
    if len(members) == 1:
        run = first["_run"]
    else:
        run = _common_name([m["_run"] for m in members]) + f" [seeds {', '.join(map(str, seeds))}]"
    row = Row(
        run=run,
        model=str(first.get("model", "unknown")),
        origin="ours",
        results=members,
        dataset=first.get("dataset") or first["protocol"],
        distance=str(first.get("metric", "")),
        protocol=first["protocol"],
        params=first.get("params"),
        flops=first.get("flops"),
        iterations=(first.get("training") or {}).get("iterations") or first.get("iteration"),
        seeds=seeds if any(s is not None for s in seeds) else [],
    )
    if (first.get("protocol_options") or {}).get("drop_missing"):
        row.run += " [drop missing]"
    collected: dict = {}
    for m in members:
        for key, v in _figures(m):
            collected.setdefault(key, []).append(_clean(v))
    for key, vals in collected.items():
        vals = [v for v in vals if v is not None]
        if not vals:
            continue
        std = float(np.std(vals, ddof=1)) if len(vals) > 1 else None
        row.values[key] = (float(np.mean(vals)), std, len(vals))
    return row


def _common_name(names: list[str]) -> str:
    """``gaitset-tiny-s0``, ``gaitset-tiny-s1`` -> ``gaitset-tiny-s*``."""
    prefix = os.path.commonprefix(names)
    return prefix + "*" if len(prefix) >= 3 and prefix != names[0] else names[0]


def _disambiguate(rows: list[Row]) -> None:
    """Two rows never share a label: add the results file's name where runs share a name."""
    seen: dict[str, int] = {}
    for row in rows:
        seen[row.run] = seen.get(row.run, 0) + 1
    for row in rows:
        if seen[row.run] > 1 and len(row.results) == 1:
            row.run += f" ({Path(row.results[0]['_path']).name})"


def _labels(results: list[dict]) -> list[str]:
    """One label per result (plots): its run name, with the file name where two share one."""
    names = [r.get("_run") or r.get("run") or str(r.get("model", "unknown")) for r in results]
    return [
        f"{n} ({Path(r['_path']).name})" if names.count(n) > 1 and "_path" in r else n
        for n, r in zip(names, results)
    ]


def published_protocol(p: dict) -> str:
    """The protocol a published row was measured on (published.yaml's ``protocol``; the
    dataset's standard protocol when absent). A row is shown beside results on it only."""
    return p.get("protocol") or p["dataset"]


def published_rows(published: dict | None, dataset: str) -> list[Row]:
    """Published rows of ``dataset``, each with its protocol (`published_protocol`)."""
    rows = []
    comp = (published or {}).get("complexity") or {}
    for p in (published or {}).get("results", []):
        if p["dataset"] != dataset:
            continue
        c = comp.get(p["model"]) or {}
        row = Row(
            run="-",
            model=p["model"],
            origin="published",
            results=[],
            dataset=p["dataset"],
            protocol=published_protocol(p),
            params=c.get("params"),
            flops=c.get("flops"),
        )
        for key, v in _published_figures(p):
            if _clean(v) is not None:
                row.values[key] = (float(v), None, None)
        rows.append(row)
    return rows


# -- frames ------------------------------------------------------------------------------------


@dataclass
class Table:
    """A table to render: numbers (means) in ``frame``, standard deviations (or NaN) in ``std``
    at the same cells, and which of our cells are the best of their column."""

    title: str
    caption: str
    frame: pd.DataFrame
    std: pd.DataFrame
    best: set = field(default_factory=set)


def summary_table(rows: list[Row], protocol: str, title: str, caption: str) -> Table:
    columns = ["run", "model", "origin", "n", "iterations", "distance", "params (M)", "GFLOPs"]
    heads = [t for t, _, _ in HEADLINE[protocol]]
    records, stds = [], []
    for row in rows:
        rec = {
            "run": row.run,
            "model": row.model,
            "origin": row.origin,
            "n": row.n,
            "iterations": row.iterations,
            "distance": row.distance or "-",
            # 0 is a count (gei has no parameters), None unknown
            "params (M)": row.params / 1e6 if row.params is not None else None,
            "GFLOPs": row.flops / 1e9 if row.flops is not None else None,
        }
        sd = {}
        for title_, key, sub in HEADLINE[protocol]:
            k = (key, "", sub) if sub else ("", "", key)
            mean, std, _ = row.values.get(k, (None, None, None))
            rec[title_], sd[title_] = mean, std
        records.append(rec)
        stds.append(sd)
    frame = pd.DataFrame(records, columns=columns + heads)
    std = pd.DataFrame(stds, columns=heads).reindex(columns=frame.columns)
    return Table(title, caption, frame, std, _best(frame, heads))


def per_view_table(rows: list[Row], title: str, caption: str) -> Table:
    """Rows run x condition; columns the union of the rows' views, then the mean."""
    views = sorted({k[1] for row in rows if row.origin == "ours" for k in row.values if k[1]})
    conds = list(dict.fromkeys(k[0] for row in rows for k in row.values if k[0]))
    order = {c: i for i, c in enumerate(["NM", "BG", "CL"])}
    conds.sort(key=lambda c: order.get(c, 9))
    records, stds = [], []
    for cond in conds:
        for row in rows:
            if (cond, "", "rank1") not in row.values:
                continue
            rec = {"run": row.run, "model": row.model, "origin": row.origin}
            rec.update(distance=row.distance or "-", condition=cond)
            sd = {}
            for v in [*views, ""]:
                mean, std, _ = row.values.get((cond, v, "rank1"), (None, None, None))
                rec[v or "mean"], sd[v or "mean"] = mean, std
            records.append(rec)
            stds.append(sd)
    columns = ["run", "model", "origin", "distance", "condition", *views, "mean"]
    frame = pd.DataFrame(records, columns=columns)
    std = pd.DataFrame(stds, columns=[*views, "mean"]).reindex(columns=frame.columns)
    return Table(title, caption, frame, std, _best(frame, [*views, "mean"], by="condition"))


def _best(frame: pd.DataFrame, columns: list[str], by: str | None = None) -> set:
    """(row, column) of the highest of our values per column (per ``by`` group), where at least
    two of our rows have a value; ties all bold."""
    best = set()
    if frame.empty:
        return best
    ours = frame[frame["origin"] == "ours"]
    groups = ours.groupby(by).groups.values() if by else [ours.index]
    for idx in groups:
        for c in columns:
            col = pd.to_numeric(frame.loc[idx, c], errors="coerce").dropna()
            if len(col) >= 2:
                best |= {(i, c) for i in col.index if col[i] == col.max()}
    return best


def tidy_frame(rows_by_group: list[tuple[Group, list[Row]]], published: list[Row]) -> pd.DataFrame:
    """One value per line: the ``--csv`` table (columns `TIDY_COLUMNS`)."""
    records = []

    def add(row: Row, group_title: str, kind: str, dataset: str, data: dict) -> None:
        for (cond, view, metric), (mean, std, n) in row.values.items():
            records.append(
                {
                    "run": row.run if row.origin == "ours" else "",
                    "model": row.model,
                    "origin": row.origin,
                    "data_kind": kind,
                    "dataset": dataset,
                    "data_file": data.get("file") or "",
                    "fingerprint": data.get("fingerprint") or "",
                    "protocol": row.protocol,
                    "condition": cond,
                    "view": view,
                    "metric": metric,
                    "value": mean,
                    "std": std,
                    "n": n if row.origin == "ours" else None,
                    "seeds": " ".join(str(s) for s in row.seeds),
                    "distance": row.distance,
                    "iterations": row.iterations,
                    "params": row.params,
                    "flops": row.flops,
                    "group": group_title,
                }
            )

    for group, rows in rows_by_group:
        for row in rows:
            add(row, group.title, group.kind, group.protocol, group.data)
    for row in published:
        add(row, "published", "real", row.dataset, {})
    frame = pd.DataFrame(records, columns=TIDY_COLUMNS)
    for c in ("n", "iterations", "params", "flops"):
        frame[c] = frame[c].astype("Int64")
    return frame


# -- rendering ---------------------------------------------------------------------------------


def _cell(v, std=None, digits: int = 1, pm: str = " ± ") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return "-"
    if isinstance(v, (float, np.floating)):
        s = f"{v:.{digits}f}"
        if std is not None and not (isinstance(std, float) and math.isnan(std)):
            s += f"{pm}{std:.{digits}f}"
        return s
    if isinstance(v, (np.integer,)):
        return str(int(v))
    return str(v)


def _digits(c: str, digits: int) -> int:
    return 2 if c in ("params (M)", "GFLOPs") else digits


def _text_cell(t: Table, i, c, digits: int, pm: str) -> str:
    v = t.frame.at[i, c]
    if c in ("n", "iterations"):
        return "-" if v is None or pd.isna(v) else str(int(v))
    sd = t.std.at[i, c] if c in t.std.columns else None
    return _cell(v, sd, _digits(c, digits), pm)


def to_markdown(t: Table, digits: int = 1) -> str:
    """GitHub markdown; the best of our values per column in bold."""
    df = t.frame
    lines = [
        "| " + " | ".join(df.columns) + " |",
        "|" + "|".join("---" if c in TEXT_COLUMNS else "---:" for c in df.columns) + "|",
    ]
    for i in df.index:
        cells = []
        for c in df.columns:
            s = _text_cell(t, i, c, digits, " ± ")
            cells.append(f"**{s}**" if (i, c) in t.best else s)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


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


def to_latex(t: Table, label: str, digits: int = 1) -> str:
    """A booktabs ``table``: aggregated cells as ``$m \\pm s$``, our best per column in bold."""
    df = t.frame
    align = "".join("l" if c in TEXT_COLUMNS else "r" for c in df.columns)
    lines = [
        "\\begin{table}[t]",
        "\\centering",
        "\\small",
        f"\\caption{{{_tex(t.title)}. {t.caption}}}",
        f"\\label{{{label}}}",
        f"\\begin{{tabular}}{{{align}}}",
        "\\toprule",
        " & ".join(_tex(str(c)) for c in df.columns) + " \\\\",
        "\\midrule",
    ]
    prev = None
    for i in df.index:
        if "condition" in df.columns and prev is not None and df.at[i, "condition"] != prev:
            lines.append("\\midrule")
        prev = df.at[i, "condition"] if "condition" in df.columns else None
        cells = []
        for c in df.columns:
            s = _text_cell(t, i, c, digits, " \\pm ")
            if "\\pm" in s:
                m, sd = s.split(" \\pm ")
                body = f"\\mathbf{{{m}}} \\pm {sd}" if (i, c) in t.best else f"{m} \\pm {sd}"
                cells.append(f"${body}$")
            else:
                s = _tex(s)
                cells.append(f"\\textbf{{{s}}}" if (i, c) in t.best else s)
        lines.append(" & ".join(cells) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}", "\\end{table}"]
    return "\n".join(lines) + "\n"


def to_csv(df: pd.DataFrame) -> str:
    return df.to_csv(index=False, float_format="%.4f")


# -- captions ----------------------------------------------------------------------------------


def summary_caption(group: Group, rows: list[Row]) -> str:
    note = PROTOCOL_NOTES[group.protocol]
    if group.kind == "synthetic":
        note = (
            "Synthetic silhouettes rendered by gaitbench synth, not the real dataset, "
            f"evaluated with the {note}"
        )
    elif group.kind == "unknown":
        note = f"{note}; these results files do not record their data (real or synthetic)"
    else:
        note = f"Real data. {note}"
    agg = any(len(r.results) > 1 for r in rows if r.origin == "ours")
    parts = [note, f"{FLOP_CONVENTION}; params include the classifier head"]
    if agg:
        parts.append(
            "Rows with n > 1 are seeds of one configuration: mean $\\pm$ sample standard "
            "deviation (n - 1)"
        )
    if any(r.origin == "published" for r in rows):
        parts.append(
            "Rows marked published are figures from the papers or OpenGait's model zoo (sources "
            "in gaitbench/reporting/published.yaml), not our runs"
        )
    parts.append("Bold: the best of our rows in this table")
    return ". ".join(parts) + "."


def per_view_caption(group: Group) -> str:
    base = summary_caption(group, [])
    return f"Per probe view (averaged over the other gallery views) and mean. {base}"


def published_caption(dataset: str) -> str:
    return (
        f"Published figures on the real {DATASET_NAMES.get(dataset, dataset)} dataset (full-size "
        "models, the papers' training budgets; sources in gaitbench/reporting/published.yaml), "
        "each on the protocol it names, for scale only: not comparable with results on other "
        "data or protocols."
    )
