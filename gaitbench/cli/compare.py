"""``gaitbench compare A B``: the difference between two runs with a paired bootstrap interval."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from gaitbench.cli._app import command, console


@command("compare")
def compare_cmd(
    a: Path = typer.Argument(
        ..., help="Run folder, results JSON, or a folder of runs (the seeds of one configuration)."
    ),
    b: Path = typer.Argument(..., help="The same for the other side; the difference is B - A."),
    protocol: Optional[str] = typer.Option(
        None, "--protocol", "-p", help="Which results to use where a run holds several protocols."
    ),
    samples: int = typer.Option(2000, "--samples", help="Bootstrap samples."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap draws."),
    as_json: bool = typer.Option(False, "--json", help="Print the comparison as JSON."),
) -> None:
    """Is B better than A, or is the difference noise? For each condition (and GREW / Gait3D
    metric): B - A in points, a 95% confidence interval from a paired bootstrap over probes (and
    over seeds when a side holds several runs) and a two-sided p-value. A and B must be evaluated
    on the same store (same fingerprint).

    Examples:

        gaitbench compare runs/gaitset runs/hstl
        gaitbench compare runs/gaitset-seeds/ runs/hstl-seeds/ --json
    """
    from gaitbench.errors import GaitbenchError
    from gaitbench.evaluation.compare import compare, load_side

    if samples < 100:
        raise GaitbenchError(f"--samples {samples} is too few for a 95% interval: use 1000 or more")
    if seed < 0:
        raise GaitbenchError(f"--seed {seed}: give a seed >= 0")
    side_a, side_b = load_side(a, protocol), load_side(b, protocol)
    rows = compare(side_a, side_b, samples=samples, seed=seed)
    r0 = side_a.results[0]
    if as_json:
        print(
            json.dumps(
                {
                    "a": {"label": side_a.label, "runs": [r["run"] for r in side_a.results]},
                    "b": {"label": side_b.label, "runs": [r["run"] for r in side_b.results]},
                    "protocol": r0["protocol"],
                    "metric": r0["metric"],
                    "fingerprint": side_a.fingerprint,
                    "samples": samples,
                    "seed": seed,
                    "difference": "b - a, points",
                    "comparisons": [c.as_dict() for c in rows],
                },
                indent=1,
            )
        )
        return
    kind = (r0.get("data") or {}).get("kind", "unknown")
    console.print(
        f"[bold]A[/] {side_a.label}  vs  [bold]B[/] {side_b.label}: {r0['protocol']} "
        f"({r0['metric']}), {kind} data {side_a.fingerprint}; {samples} paired bootstrap samples"
    )
    table = Table(box=None, pad_edge=False, header_style="bold underline")
    for name in ("condition", "metric", "A", "B", "B - A", "95% CI", "p", ""):
        table.add_column(name, justify="left" if name in ("condition", "metric", "") else "right")
    for c in rows:
        table.add_row(
            c.condition or "-",
            c.metric,
            f"{c.a:.2f}",
            f"{c.b:.2f}",
            f"{c.difference:+.2f}",
            f"[{c.ci[0]:+.2f}, {c.ci[1]:+.2f}]",
            f"{c.p_value:.3f}",
            "significant" if c.significant else "not significant",
        )
    console.print(table)
    seeds = (
        f"; seeds resampled: A {len(side_a.results)}, B {len(side_b.results)}"
        if max(len(side_a.results), len(side_b.results)) > 1
        else ""
    )
    console.print(
        f"B - A in points; significant: the 95% interval excludes 0 ({rows[0].n_probe} probes"
        f"{' per condition' if rows[0].condition else ''}{seeds})."
    )
