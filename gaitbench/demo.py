"""``gaitbench demo``: the whole pipeline on a synthetic walker set, on a CPU, in minutes.

synth (raw 320x240 PNG tree, CASIA-B layout) -> ``prep casia-b`` -> train HSTL, GaitSet and GaitGL
(their tiny variants, short schedules) -> CASIA-B protocol -> report (markdown, CSV, LaTeX, plots).
Every stage calls the same library function its command does, so the demo exercises exactly what
a user runs by hand; the commands are written to ``DIR/COMMANDS.md``.

The output folder::

    DIR/raw/                    synthetic raw silhouettes (the input `prep` reads)
    DIR/synth-casia-b-64.h5     the aligned store
    DIR/runs/<model>/           run folders: config.yaml, checkpoints/, metrics.jsonl, results JSON
    DIR/report.md|.csv|.tex     the tables; DIR/plots/ the figures (PNG and PDF)
    DIR/demo.json               preset, wall time of every stage, headline figures
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from gaitbench.console import Console
from gaitbench.data.workers import check_workers
from gaitbench.errors import GaitbenchError
from gaitbench.paths import check_output
from gaitbench.progress import Bar


@dataclass(frozen=True)
class DemoPreset:
    """How big the demo is. Budgets are per model; the recipe is otherwise the paper's."""

    name: str
    subjects: int
    views: tuple[int, ...]
    frames: tuple[int, int]
    iterations: int
    models: tuple[str, ...] = ("hstl-tiny", "gaitset-tiny", "gaitgl-tiny")
    ids_per_batch: int = 8
    seqs_per_id: int = 2
    clip_frames: int = 20  # frames per training clip (the recipes' 30 triples a CPU step's cost)
    # Adam recipes (HSTL, GaitGL) use 1e-4 over 80k+ iterations; a short schedule needs more. The
    # SGD recipes (GaitSet, GaitBase: 0.1) keep theirs.
    adam_lr: float = 1e-3


PRESETS = {
    # Wall times on the 2-core development machine are in README.md; training dominates them.
    "full": DemoPreset(
        "full", subjects=24, views=(18, 54, 90, 126), frames=(40, 60), iterations=150
    ),
    "quick": DemoPreset(
        "quick", subjects=16, views=(54, 90), frames=(30, 40), iterations=30, clip_frames=15
    ),
}


# A prepped PNG tree carries no split of its own and CASIA-B's official one (74 / 50 subjects) does
# not fit a small set: the first 60 % of subjects train, the rest are the test set.
PARTITION = "ratio:0.6"
# Free space the demo asks for before it starts: --quick wrote 65 MB (46 MB of it raw PNGs); the
# full preset renders about 4x the frames.
DEMO_BYTES = 512 * 2**20


@dataclass
class DemoResult:
    out: Path
    preset: DemoPreset
    seconds: dict[str, float] = field(default_factory=dict)
    results: dict[str, str] = field(default_factory=dict)  # model -> results JSON path
    headline: dict[str, dict[str, float]] = field(default_factory=dict)  # model -> NM/BG/CL rank-1
    files: list[Path] = field(default_factory=list)

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


def _bar(console: Console) -> Bar:
    return Bar(
        TextColumn("{task.description:<26}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


def _commands(p: DemoPreset, out: Path) -> str:
    views = ",".join(map(str, p.views))
    store = out / "synth-casia-b-64.h5"
    lines = [
        "# The commands `gaitbench demo` runs (same library calls, same outputs)",
        "",
        "```bash",
        f"gaitbench synth {out / 'raw'} --format png --subjects {p.subjects} --views {views} "
        f"--frames {p.frames[0]}-{p.frames[1]}",
        f"gaitbench prep casia-b {out / 'raw'} --out {store}",
    ]
    for m in p.models:
        flags = " ".join(f"--set {o}" for o in _overrides(p, m))
        lines.append(
            f"gaitbench train {m} --data {store} -n {p.iterations} --partition {PARTITION} {flags} "
            f"--out {out / 'runs' / m}"
        )
        lines.append(f"gaitbench evaluate {out / 'runs' / m} --data {store}")
    runs = " ".join(str(out / "runs" / m) for m in p.models)
    lines += [
        f"gaitbench report {runs} --out {out / 'report.md'} --plots {out / 'plots'}",
        f"gaitbench report {runs} --latex --out {out / 'report.tex'}",
        f"gaitbench report {runs} --csv --out {out / 'report.csv'}",
        "```",
        "",
    ]
    return "\n".join(lines)


def _overrides(p: DemoPreset, model: str) -> list[str]:
    from gaitbench.training.config import find_recipe, load_recipe

    adam = load_recipe(find_recipe(model, "casia-b")).optimizer.name == "adam"
    return [
        *([f"optimizer.lr={p.adam_lr}"] if adam else []),
        f"data.ids_per_batch={p.ids_per_batch}",
        f"data.seqs_per_id={p.seqs_per_id}",
        f"data.frames={p.clip_frames}",
        "data.workers=0",
        "scheduler.milestones=[]",
        f"train.save_every={p.iterations}",
        "train.log_every=10",
    ]


def _prepare_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise GaitbenchError(f"{out} is a file: give --out a folder")
    check_output(out, folder=True, need_bytes=DEMO_BYTES)
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise GaitbenchError(
                f"{out} is not empty: pass --force to replace it, or --out a new folder"
            )
        if not (out / "demo.json").is_file() and not (out / "raw").is_dir():
            raise GaitbenchError(
                f"{out} holds files that are not a gaitbench demo: refusing to delete them; "
                "--out an empty or new folder"
            )
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)


def run_demo(
    out: str | os.PathLike = "demo",
    *,
    quick: bool = False,
    force: bool = False,
    workers: int | None = None,
    console: Console | None = None,
) -> DemoResult:
    """Run every stage into ``out``; print progress and the results table on ``console``."""
    from gaitbench.data.prep import prep
    from gaitbench.data.synth import SynthSpec, synthesize
    from gaitbench.evaluation.api import evaluate_target
    from gaitbench.reporting.report import build_report, write_text
    from gaitbench.training.launch import train_model

    console = console or Console()
    check_workers(workers)
    preset = PRESETS["quick" if quick else "full"]
    out = Path(out)
    _prepare_out(out, force)
    result = DemoResult(out, preset)
    raw, store = out / "raw", out / "synth-casia-b-64.h5"
    write_text(out / "COMMANDS.md", _commands(preset, out))
    console.rule(f"[bold]gaitbench demo[/] ({preset.name}): {out}")

    # 1. Synthetic raw silhouettes.
    spec = SynthSpec(subjects=preset.subjects, views=preset.views, frames=preset.frames)
    n_seq = len(spec.sequences())
    start = time.perf_counter()
    with _bar(console) as bar:
        task = bar.add_task("1/5 synth raw PNG", total=n_seq, note=f"{preset.subjects} walkers")
        synthesize(raw, spec, "png", workers=workers, progress=lambda n: bar.advance(task, n))
    result.seconds["synth"] = time.perf_counter() - start

    # 2. Standard pretreatment into the store.
    start = time.perf_counter()
    with _bar(console) as bar:
        task = bar.add_task("2/5 prep casia-b", total=n_seq, note="align 64x64")

        def prep_tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        summary = prep("casia-b", raw, store, workers=workers, progress=prep_tick)
    result.seconds["prep"] = time.perf_counter() - start
    console.print(
        f"    store: {store} ({summary.sequences} sequences, {summary.frames_kept} frames)"
    )

    # 3-4. Train and evaluate each model.
    with _bar(console) as bar:
        for model in preset.models:
            run_dir = out / "runs" / model
            task = bar.add_task(f"3/5 train {model}", total=preset.iterations, note="loss -")

            def train_tick(iteration: int, log: dict | None, task=task) -> None:
                note = f"loss {log['loss']:.3f}" if log else None
                bar.update(task, completed=iteration, **({"note": note} if note else {}))

            start = time.perf_counter()
            train_model(
                model,
                data=store,
                iterations=preset.iterations,
                partition=PARTITION,
                overrides=_overrides(preset, model),
                out=run_dir,
                progress=train_tick,
            )
            result.seconds[f"train {model}"] = time.perf_counter() - start

            start = time.perf_counter()
            tasks: list = []

            def make(description: str, total: int, model=model):
                tasks.append(bar.add_task(f"4/5 evaluate {model}", total=total, note="embeddings"))
                return lambda n: bar.advance(tasks[-1], n)

            ev = evaluate_target(run_dir, data=store, progress=make)
            result.seconds[f"evaluate {model}"] = time.perf_counter() - start
            result.results[model] = str(ev.results_path)
            result.headline[model] = {c: round(m["rank1"], 2) for c, m in ev.result.metrics.items()}

    # 5. Report.
    start = time.perf_counter()
    runs = [str(out / "runs" / m) for m in preset.models]
    with console.status("5/5 report: tables and plots"):
        md = build_report(runs, "markdown", True, out / "plots")
        files = [write_text(out / "report.md", md.text)]
        files.append(write_text(out / "report.tex", build_report(runs, "latex").text))
        files.append(write_text(out / "report.csv", build_report(runs, "csv").text))
    result.seconds["report"] = time.perf_counter() - start
    result.files = files + list(md.plots)

    console.print(summary_table(md.summary, preset))
    for p in result.files:
        console.print(f"  wrote {p}")
    stages = ", ".join(f"{k} {v:.0f} s" for k, v in result.seconds.items())
    console.print(f"[bold]done in {result.total_seconds:.0f} s[/] ({stages})")
    write_text(out / "demo.json", json.dumps(_record(result), indent=2) + "\n")
    return result


def summary_table(summary, preset: DemoPreset) -> Table:
    """The report's summary frame as a rich table: our rows, then the published ones, labelled."""
    table = Table(
        title=f"CASIA-B protocol, rank-1 % NM / BG / CL (synthetic walkers, {preset.subjects} subjects, "
        f"{len(preset.views)} views; ours: tiny variants, {preset.iterations} iterations)",
        title_justify="left",
    )
    # The title names the data; the report's data / run / n / distance columns repeat it.
    columns = [c for c in summary.columns if c not in ("data", "run", "n", "distance")]
    for col in columns:
        text = col in ("model", "origin")
        table.add_column(col, justify="left" if text else "right", no_wrap=text)
    for _, row in summary.iterrows():
        cells = []
        for col in columns:
            v = row[col]
            if col == "iterations":
                cells.append("-" if v is None or math.isnan(v) else str(int(v)))
            elif isinstance(v, float):
                cells.append("-" if math.isnan(v) else f"{v:.2f}")
            else:
                cells.append(str(v))
        style = "dim" if row.get("origin") == "published" else None
        table.add_row(*cells, style=style)
    if (summary["origin"] == "published").any():
        table.caption = (
            "published: the papers' CASIA-B figures (real data, full models), for scale only"
        )
    else:
        table.caption = (
            "published: the papers' figures on real CASIA-B (full models) are in report.md, in a "
            "block of their own; they are not comparable with synthetic walkers"
        )
    return table


def _record(result: DemoResult) -> dict:
    return {
        "preset": asdict(result.preset),
        "seconds": {k: round(v, 2) for k, v in result.seconds.items()},
        "total_seconds": round(result.total_seconds, 2),
        "rank1": result.headline,
        "results": result.results,
        "files": [str(p) for p in result.files],
    }
