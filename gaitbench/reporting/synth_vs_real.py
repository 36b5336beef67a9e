"""Synthetic against real: the same models on the synthetic walkers and on real CASIA-B, side by
side per model and probe condition, and whether the two rank the models alike.

Input is results JSON only (``gaitbench evaluate`` output). A model with several results on one
side (seeds) is the mean over them, with the sample standard deviation and the count. The order
agreement is Kendall's tau-b (`scipy.stats.kendalltau`) between the models' synthetic and real
rank-1, per condition and for the mean over conditions, over the trained models only: the floor
(``gei``) is in the table but not in tau, where ranking it last on both sides would inflate the
agreement without saying anything about the trained models.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from gaitbench.data.store import Store, provenance
from gaitbench.errors import GaitbenchError
from gaitbench.reporting.report import write_text

CONDITIONS = ("NM", "BG", "CL")
FLOORS = ("gei",)  # models without training: shown, not ranked
MEAN = "mean"  # the row of the mean over conditions
TOLERANCE = 5.0  # points: the calibration target (issue: within 5 points of real CASIA-B)


def load(paths: list[str | os.PathLike], side: str) -> list[dict]:
    """Results JSON files (or folders of them) for one side, ``synthetic`` or ``real``; a file
    whose ``data.kind`` (results schema 2) names the other side is refused."""
    files: list[Path] = []
    for p in map(Path, paths):
        files += sorted(p.glob("*.json")) if p.is_dir() else [p]
    results = []
    for f in files:
        try:
            r = json.loads(f.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise GaitbenchError(
                f"cannot read results {f} ({exc}): pass `gaitbench evaluate` output"
            )
        if not str(r.get("schema", "")).startswith("gaitbench-results/"):
            continue  # other JSON beside the results (plots' data, agreement files)
        kind = (r.get("data") or {}).get("kind") if isinstance(r.get("data"), dict) else None
        if kind is not None and kind != side:
            raise GaitbenchError(
                f"{f} was computed on {kind} data but is passed as {side}: swap it"
            )
        if r.get("protocol") != "casia-b":
            raise GaitbenchError(f"{f} is a {r.get('protocol')} result: both sides need casia-b")
        results.append(r)
    if not results:
        raise GaitbenchError(f"no gaitbench results JSON among the {side} paths")
    return results


def model_means(results: list[dict]) -> pd.DataFrame:
    """One row per (model, condition), the mean over conditions included: rank1 (mean over the
    model's results), std (sample; NaN for one), n."""
    rows = []
    for r in results:
        values = {c: float(r["metrics"][c]["rank1"]) for c in CONDITIONS if c in r["metrics"]}
        if len(values) == len(CONDITIONS):
            values[MEAN] = sum(values.values()) / len(values)
        rows += [{"model": r["model"], "condition": c, "rank1": v} for c, v in values.items()]
    df = pd.DataFrame(rows, columns=["model", "condition", "rank1"])
    out = df.groupby(["model", "condition"], sort=False)["rank1"].agg(["mean", "std", "count"])
    return out.rename(columns={"mean": "rank1", "count": "n"}).reset_index()


def budget(result: dict) -> str | None:
    """A results file's training budget as text (``400 iterations of 8 x 4 x 30``); None for a
    model without training (the floor) or a file that does not record it."""
    t = result.get("training") or {}
    if t.get("iterations") is None:
        return None
    b = t.get("batch") or {}
    n = t["iterations"]
    return (
        f"{n} iteration{'' if n == 1 else 's'} of {b.get('p')} x {b.get('k')} x {b.get('frames')}"
    )


def check_budgets(synthetic: list[dict], real: list[dict]) -> None:
    """Refuse a model trained under different budgets on the two sides: its difference would
    measure the budget, not the data."""
    for model in sorted({x["model"] for x in synthetic} & {x["model"] for x in real}):
        sides = [
            {budget(x) for x in results if x["model"] == model} - {None}
            for results in (synthetic, real)
        ]
        if all(sides) and sides[0] != sides[1]:
            raise GaitbenchError(
                f"{model} was trained with {' / '.join(sorted(sides[0]))} on the synthetic side "
                f"but {' / '.join(sorted(sides[1]))} on the real side: compare equal budgets"
            )


def side_by_side(synthetic: list[dict], real: list[dict]) -> pd.DataFrame:
    """Models present on both sides: model, condition, synthetic, real, difference (synthetic -
    real, points), within (|difference| <= TOLERANCE), n_synthetic, n_real. Ordered by the real
    mean over conditions, best first, the floor last; conditions NM, BG, CL, mean. A model trained
    under different budgets on the two sides is refused (`check_budgets`)."""
    check_budgets(synthetic, real)
    s, r = model_means(synthetic), model_means(real)
    df = s.merge(r, on=["model", "condition"], suffixes=("_synthetic", "_real"))
    if df.empty:
        raise GaitbenchError(
            f"no model on both sides (synthetic: {', '.join(sorted(set(s.model)))}; "
            f"real: {', '.join(sorted(set(r.model)))})"
        )
    df = df.rename(columns={"rank1_synthetic": "synthetic", "rank1_real": "real"})
    df["difference"] = df["synthetic"] - df["real"]
    df["within"] = df["difference"].abs() <= TOLERANCE
    real_mean = df[df.condition == MEAN].set_index("model")["real"]
    df["_floor"] = df.model.isin(FLOORS)
    df["_order"] = -df.model.map(real_mean).fillna(-math.inf)
    df["_cond"] = df.condition.map({c: i for i, c in enumerate((*CONDITIONS, MEAN))})
    df = df.sort_values(["_floor", "_order", "model", "_cond"]).reset_index(drop=True)
    columns = ["model", "condition", "synthetic", "real", "difference", "within"]
    return df[columns + ["n_synthetic", "n_real"]]


def one_side_only(synthetic: list[dict], real: list[dict]) -> dict[str, list[str]]:
    """Models left out of the table because only one side has them: {side: [model, ...]}."""
    s, r = {x["model"] for x in synthetic}, {x["model"] for x in real}
    return {"synthetic": sorted(s - r), "real": sorted(r - s)}


def rank_agreement(frame: pd.DataFrame) -> pd.DataFrame:
    """Kendall's tau-b of the trained models' synthetic and real rank-1, per condition and for the
    mean: condition, tau, p_value, models. NaN where fewer than two models or no variation."""
    from scipy.stats import kendalltau

    rows = []
    trained = frame[~frame.model.isin(FLOORS)]
    for cond in (*CONDITIONS, MEAN):
        part = trained[trained.condition == cond]
        tau = p = math.nan
        if len(part) >= 2:
            res = kendalltau(part["synthetic"], part["real"])
            tau, p = float(res.statistic), float(res.pvalue)
        rows.append({"condition": cond, "tau": tau, "p_value": p, "models": len(part)})
    return pd.DataFrame(rows)


def _fmt(x: float, digits: int = 1) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def to_markdown(
    frame: pd.DataFrame, agreement: pd.DataFrame, left_out: dict[str, list[str]] | None = None
) -> str:
    """The side-by-side table (one row per model, synthetic / real / difference per condition,
    then how many runs each side averages) and the rank agreement, as markdown; ``left_out``
    (`one_side_only`) is named under it."""
    conds = (*CONDITIONS, MEAN)
    head = ["model"] + [f"{c} {side}" for c in conds for side in ("synth", "real", "diff")]
    head.append("runs (synth / real)")
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for model, rows in frame.groupby("model", sort=False):
        by = rows.set_index("condition")
        cells = [model + (" (floor)" if model in FLOORS else "")]
        for c in conds:
            if c in by.index:
                x = by.loc[c]
                cells += [_fmt(x["synthetic"]), _fmt(x["real"]), f"{x['difference']:+.1f}"]
            else:
                cells += ["-", "-", "-"]
        first = rows.iloc[0]
        cells.append(f"{first['n_synthetic']} / {first['n_real']}")
        lines.append("| " + " | ".join(cells) + " |")
    within = int(frame["within"].sum())
    lines += [
        "",
        f"Rank-1 (%), CASIA-B protocol, identical views excluded; diff = synthetic - real; "
        f"{within} of {len(frame)} figures within {TOLERANCE:g} points. A model with several "
        "runs on one side (seeds) is their mean; runs counts them per side.",
    ]
    for side, models in (left_out or {}).items():
        if models:
            lines.append(f"Left out, {side} results only: {', '.join(models)}.")
    lines += [
        "",
        "| condition | Kendall's tau | p | trained models |",
        "|---|---:|---:|---:|",
    ]
    for _, a in agreement.iterrows():
        lines.append(
            f"| {a['condition']} | {_fmt(a['tau'], 2)} | {_fmt(a['p_value'], 3)} | {a['models']} |"
        )
    lines += [
        "",
        "Kendall's tau-b between the trained models' synthetic and real rank-1 (the GEI floor "
        "excluded); 1 = the same order on both, -1 = reversed.",
    ]
    return "\n".join(lines) + "\n"


def store_table(columns: list[str], rows: list[tuple[str, dict, list[str]]]) -> str:
    """A markdown table of figures measured on stores, one row per (store name, `provenance` of
    the store, formatted figures): the store's name, kind and fingerprint, then ``columns``
    (right-aligned). What the training-free screens of ``results/synth-vs-real/`` print."""
    head = ["store", "kind", "fingerprint", *columns]
    lines = ["| " + " | ".join(head) + " |", "|---|---|---|" + "---:|" * len(columns)]
    for name, about, figures in rows:
        if len(figures) != len(columns):
            raise ValueError(f"{len(figures)} figures for {len(columns)} columns")
        lines.append(
            "| " + " | ".join([name, about["kind"], about["fingerprint"], *figures]) + " |"
        )
    return "\n".join(lines) + "\n"


def store_script(
    paths: list[Path],
    columns: list[str],
    measure: Callable[[Store], list[list[str]]],
    out: str | os.PathLike | None,
    name: Callable[[Path], str] = lambda path: path.name,
) -> int:
    """What each training-free screen of ``results/synth-vs-real/`` does after parsing its
    arguments: open every store in turn, take its `provenance` and ``measure(store)`` (rows of
    formatted figures, one per setting measured), then `emit` one `store_table` of them all.
    A store that cannot be read is one error line and exit status 1, with nothing written."""

    def make() -> str:
        rows = []
        for path in paths:
            with Store(path) as store:
                about = provenance(store)
                rows += [(name(path), about, figures) for figures in measure(store)]
        return store_table(columns, rows)

    return table_script(make, out)


def table_script(make: Callable[[], str], out: str | os.PathLike | None) -> int:
    """What each table script of ``results/synth-vs-real/`` does after parsing its arguments:
    ``make()`` its markdown and `emit` it; a `GaitbenchError` on the way is one error line and exit
    status 1, with nothing written."""
    try:
        text = make()
    except GaitbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    emit(text, out)
    return 0


def emit(text: str, out: str | os.PathLike | None) -> None:
    """Print a table the ``results/synth-vs-real/`` scripts made and, given ``out``, also write it
    there atomically (`report.write_text`: nothing half-written if the write fails)."""
    print(text, end="")
    if out:
        write_text(out, text)
