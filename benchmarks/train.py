"""Training speed, measured through the real trainer on a generated store.

1. Per model: iterations/s and the fraction of step time spent waiting for data (small batch).
2. HSTL's whole training step (data, forward, backward, optimiser), gaitbench's fast region
   formulation against the literal one (``literal=True``: one 3-D convolution per region), same
   batch, same process, interleaved rounds; the ratio of medians is the figure.
3. With ``--device cuda``: the HSTL CASIA-B recipe at full batch (8 x 8 x 30 frames) with AMP,
   and the projected hours for 90k iterations.
4. ``--step``: every tiny model's training step (`Trainer.step`: forward, loss, backward,
   optimiser) at 8 x 8 x 30 frames in fp32 eager against bf16 autocast, channels-last,
   their combination and (``--compile``) torch.compile of each, same process, interleaved rounds;
   the ratio of each one's best time to fp32 eager's is the figure.

5. ``--sound``: is a faster setting still sound? On a small synthetic store made by
   ``gaitbench synth`` (``--sound-subjects`` walkers, views 54 and 90, 30-40 frames; the first
   60 % train), each of ``--models`` trains ``--sound-iterations`` (200) iterations in fp32
   eager and in ``--sound-variant`` (precision[+cl]) for two seeds, then the CASIA-B protocol
   gives rank-1 NM on the held-out walkers. Printed: the mean |loss difference| of the logged
   losses against fp32 at the same seed, relative to fp32's mean loss (tolerance 10 %: the
   two seeds of fp32 differ by more), beside fp32's own seed-to-seed figure; and rank-1 of each
   run, the variant's mean against fp32's seed-to-seed spread.

    python benchmarks/train.py                       # CPU, tiny variants + HSTL fast vs literal
    python benchmarks/train.py --step [--compile]    # precision / layout / compile per tiny model
    python benchmarks/train.py --sound               # bf16 + channels-last against fp32
    python benchmarks/train.py --device cuda --full  # GPU figures
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from gaitbench.data.store import StoreWriter
from gaitbench.models import create
from gaitbench.training import distributed as D
from gaitbench.training import find_recipe, load_recipe, train
from gaitbench.training.losses import GaitLoss
from gaitbench.training.precision import to_channels_last
from gaitbench.training.trainer import Trainer, optimisation

TINY = ("hstl-tiny", "gaitset-tiny", "gaitpart-tiny", "gaitgl-tiny", "gaitbase-tiny")
SOUND_MODELS = ["gaitset-tiny", "hstl-tiny"]
# (label, precision, channels-last, compile)
STEP_VARIANTS = (
    ("fp32 eager", "fp32", False, False),
    ("fp32 channels-last", "fp32", True, False),
    ("bf16 autocast", "bf16", False, False),
    ("bf16 + channels-last", "bf16", True, False),
)
FP16 = (("fp16 autocast + scaler", "fp16", False, False),)
COMPILED = (
    ("fp32 compile", "fp32", False, True),
    ("bf16 + channels-last + compile", "bf16", True, True),
)


def make_store(
    path: Path, subjects: int = 16, seqs: int = 4, frames: tuple[int, int] = (40, 80)
) -> Path:
    """Swinging bars of per-subject width and phase, with noise: enough structure to learn."""
    rng = np.random.default_rng(0)
    ids = [f"{s + 1:03d}" for s in range(subjects)]
    part = {"train": ids[: subjects * 3 // 4], "test": ids[subjects * 3 // 4 :]}
    with StoreWriter(path, dataset="casia-b", size=64, source="benchmark", partition=part) as w:
        for s in range(subjects):
            width, top = 4 + 2 * (s % 5), 4 + 3 * (s // 5 % 4)
            for q in range(seqs):
                seq = np.zeros((int(rng.integers(*frames)), 64, 64), np.uint8)
                for t in range(len(seq)):
                    x = 32 + int(6 * np.sin(2 * np.pi * (t / 8 + s / subjects)))
                    seq[t, top:60, x - width // 2 : x + width // 2] = 255
                    seq[t][rng.random((64, 64)) < 0.02] = 255
                w.add(ids[s], f"nm-{q + 1:02d}", "090", seq)
    return path


def run(model: str, store: Path, out: Path, iterations: int, sets: list[str], device: str) -> dict:
    """Train and return the last logged interval (the first interval is warm-up)."""
    recipe = load_recipe(
        find_recipe(model, "casia-b"),
        [f"model.name={model}", f"train.iterations={iterations}",
         f"train.log_every={max(iterations // 2, 1)}", f"train.save_every={iterations}",
         "scheduler.milestones=[]", *sets],
    )  # fmt: skip
    result = train(recipe, store, out, device=device)
    return result.logs[-1]


def step_trainer(name: str, precision: str, cl: bool, comp: bool, device: str) -> Trainer:
    """A `Trainer` of tiny model ``name`` as `train` wires it (recipe optimiser, loss, scaler),
    without store or hooks: only `Trainer.step` is timed."""
    recipe = load_recipe(
        find_recipe(name, "casia-b"),
        [f"model.name={name}", f"train.precision={precision}", "scheduler.milestones=[]"],
    )
    dev = torch.device(device)
    torch.manual_seed(0)
    model = create(name, "casia-b", num_classes=8).to(dev)
    if cl:
        to_channels_last(model)
    model.train()
    opt = optimisation(recipe, model, dev, None)
    if comp:
        model = torch.compile(model)
    lo = recipe.loss
    loss_fn = GaitLoss(lo.triplet_weight, lo.triplet_margin, lo.ce_weight, lo.ce_scale,
                       lo.label_smoothing)  # fmt: skip
    return Trainer(model, loss_fn, opt.optimizer, opt.scheduler, opt.scaler, recipe,
                   Path("."), D.DistInfo(), dev, opt.amp_dtype, [])  # fmt: skip


def bench_steps(
    models: list[str], batch: str, rounds: int, compile_too: bool, fp16: bool, device: str
) -> None:
    p, k, f = (int(x) for x in batch.split("x"))
    g = torch.Generator().manual_seed(0)
    sils = (torch.rand(p * k, f, 64, 44, generator=g) > 0.5).to(torch.uint8) * 255
    labels = torch.arange(p).repeat_interleave(k)
    variants = STEP_VARIANTS + (FP16 if fp16 else ()) + (COMPILED if compile_too else ())
    # On one thread the process's CPU time is the step's own work even on a loaded machine,
    # where wall time mostly measures the other processes; with more threads it is wall time.
    cpu_clock = device == "cpu" and torch.get_num_threads() == 1
    clock = time.process_time if cpu_clock else time.perf_counter
    what = "CPU seconds (1 thread)" if cpu_clock else "wall seconds"
    print(f"\n== training step per tiny model, batch {p} x {k} x {f} frames, {rounds} rounds ==")
    print(f"   (best of the rounds in {what}; ratio = fp32 eager's time / this one's; "
          "first step is warm-up)")  # fmt: skip
    for name in models:
        trainers = {}
        for label, prec, cl, comp in variants:
            t0 = time.perf_counter()
            try:
                trainers[label] = step_trainer(name, prec, cl, comp, device)
                trainers[label].step(sils, labels)  # warm-up (and compilation)
            except Exception as exc:  # noqa: BLE001 -- a variant that cannot run is reported
                print(f"  {name:<14} {label:<32} failed: {type(exc).__name__}: {exc}"[:160])
                trainers.pop(label, None)
                continue
            if comp:
                print(f"  {name:<14} {label:<32} compiled in {time.perf_counter() - t0:.0f} s")
        times: dict[str, list[float]] = {label: [] for label in trainers}
        for _ in range(rounds):  # interleaved: load on the machine hits every variant alike
            for label, tr in trainers.items():
                t = clock()
                tr.step(sils, labels)
                if device.startswith("cuda"):
                    torch.cuda.synchronize()
                times[label].append(clock() - t)
        base = min(times["fp32 eager"])
        for label, ts in times.items():
            print(f"  {name:<14} {label:<32} {1 / min(ts):7.3f} it/s  {base / min(ts):5.2f}x")


def sound_run(name, store, out, seed, precision, cl, iterations, batch) -> tuple[list, float]:
    """Train ``name`` on the synthetic store; (logged losses, rank-1 NM of the held-out walkers)."""
    from gaitbench.evaluation.api import evaluate_target

    p, k, f = (int(x) for x in batch.split("x"))
    recipe = load_recipe(
        find_recipe(name, "casia-b"),
        [f"model.name={name}", f"train.iterations={iterations}", f"train.seed={seed}",
         f"train.precision={precision}", f"train.channels_last={str(cl).lower()}",
         f"data.ids_per_batch={p}", f"data.seqs_per_id={k}", f"data.frames={f}",
         "data.workers=0", "data.partition=ratio:0.6", "scheduler.milestones=[]",
         "train.log_every=10", f"train.save_every={iterations}"],
    )  # fmt: skip
    if recipe.optimizer.name == "adam":  # the demo's short-schedule rate (see gaitbench/demo.py)
        recipe.optimizer.lr = 1e-3
    result = train(recipe, store, out)
    ev = evaluate_target(out, data=store)
    return [log["loss"] for log in result.logs], ev.result.metrics["NM"]["rank1"]


def bench_sound(models, subjects, iterations, batch, variant, tmp: Path, seeds=(0, 1)) -> None:
    import subprocess
    import sys

    store = tmp / "sound.h5"
    cmd = [sys.executable, "-m", "gaitbench", "synth", str(store), "--subjects", str(subjects),
           "--views", "54,90", "--frames", "30-40"]  # fmt: skip
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    prec, _, cl = variant.partition("+")
    print(f"\n== soundness: {variant} against fp32 eager, {iterations} iterations, batch {batch}, "
          f"store: {' '.join(cmd[3:])} ==")  # fmt: skip
    for name in models:
        runs = {}
        for seed in seeds:
            for label, pr, c in (("fp32", "fp32", False), (variant, prec, cl == "cl")):
                t = time.perf_counter()
                runs[label, seed] = sound_run(name, store, tmp / f"{name}-{label}-{seed}", seed, pr,
                                              c, iterations, batch)  # fmt: skip
                print(f"  {name} {label:<10} seed {seed}: rank-1 NM {runs[label, seed][1]:6.2f}  "
                      f"final loss {runs[label, seed][0][-1]:.4f}  "
                      f"({time.perf_counter() - t:.0f} s)", flush=True)  # fmt: skip

        def rel(a, b):
            a, b = np.array(a), np.array(b)
            return float(np.mean(np.abs(a - b)) / np.mean(np.abs(b)))

        same_seed = max(rel(runs[variant, s][0], runs["fp32", s][0]) for s in seeds)
        seed_to_seed = max(
            rel(runs["fp32", a][0], runs["fp32", b][0]) for a in seeds for b in seeds if a < b
        )
        r_fp32 = [runs["fp32", s][1] for s in seeds]
        r_var = [runs[variant, s][1] for s in seeds]
        lo, hi = min(r_fp32), max(r_fp32)
        ok_loss = same_seed <= 0.10
        ok_rank = all(lo - (hi - lo) <= r <= hi + (hi - lo) for r in r_var)
        print(f"  {name}: loss curve vs fp32 at the same seed: {100 * same_seed:.1f} % "
              f"(fp32 seed to seed, largest pair: {100 * seed_to_seed:.1f} %; tolerance 10 %) -> "
              f"{'within' if ok_loss else 'OUTSIDE'}")  # fmt: skip
        print(f"  {name}: rank-1 NM fp32 {[round(r, 2) for r in r_fp32]}, {variant} "
              f"{[round(r, 2) for r in r_var]}; fp32 seed spread "
              f"{hi - lo:.2f} points -> {'within' if ok_rank else 'OUTSIDE'} "
              f"[{lo - (hi - lo):.2f}, {hi + (hi - lo):.2f}]")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--iterations", type=int, default=20, help="per tiny-model run")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved HSTL fast/literal rounds")
    ap.add_argument("--hstl-iterations", type=int, default=4)
    ap.add_argument("--hstl-batch", default="2x2x10", help="P x K x frames for fast vs literal")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--full", action="store_true", help="GPU: HSTL CASIA-B recipe at full batch")
    ap.add_argument("--full-iterations", type=int, default=60)
    ap.add_argument("--step", action="store_true", help="only: precision / layout per tiny model")
    ap.add_argument("--models", default=",".join(TINY), help="--step: comma-separated models")
    ap.add_argument("--batch", default="8x8x30", help="--step: P x K x frames")
    ap.add_argument("--compile", action="store_true", help="--step: add torch.compile variants")
    ap.add_argument("--fp16", action="store_true", help="--step: add fp16 autocast + scaler")
    ap.add_argument("--sound", action="store_true", help="only: soundness against fp32")
    ap.add_argument("--sound-variant", default="bf16+cl", help="--sound: precision[+cl]")
    ap.add_argument("--sound-subjects", type=int, default=16)
    ap.add_argument("--sound-iterations", type=int, default=200)
    ap.add_argument("--sound-batch", default="4x2x10", help="--sound: P x K x frames")
    ap.add_argument("--sound-seeds", default="0,1", help="--sound: comma-separated seeds (>= 2)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dev = args.device
    print(f"torch {torch.__version__}, device {dev}, threads {torch.get_num_threads()}")
    if args.step:
        bench_steps(args.models.split(","), args.batch, args.rounds, args.compile, args.fp16, dev)
        return
    if args.sound:
        with tempfile.TemporaryDirectory() as tmp:
            models = args.models.split(",") if args.models != ",".join(TINY) else SOUND_MODELS
            bench_sound(models, args.sound_subjects, args.sound_iterations, args.sound_batch,
                        args.sound_variant, Path(tmp),
                        [int(x) for x in args.sound_seeds.split(",")])  # fmt: skip
        return

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        store = make_store(tmp / "store.h5")
        print(f"generated store in {time.perf_counter() - t0:.1f} s")
        common = [f"data.workers={args.workers}"]

        print("\n== per model: small batch 4 x 2 x 10 frames, the real loop ==")
        print(f"{'model':<15}{'it/s':>8}{'data wait':>11}")
        small = ["data.ids_per_batch=4", "data.seqs_per_id=2", "data.frames=10", *common]
        for name in ("hstl-tiny", "gaitset-tiny", "gaitpart-tiny", "gaitgl-tiny", "gaitbase-tiny"):
            log = run(name, store, tmp / f"run-{name}", args.iterations, small, dev)
            print(f"{name:<15}{log['it_per_s']:>8.2f}{100 * log['data_wait']:>10.1f}%")

        p, k, f = (int(x) for x in args.hstl_batch.split("x"))
        batch = [f"data.ids_per_batch={p}", f"data.seqs_per_id={k}", f"data.frames={f}", *common]
        print(
            f"\n== HSTL (CASIA-B architecture) whole training step, batch {p} x {k} x {f} frames =="
        )
        speeds: dict[str, list[float]] = {"fast": [], "literal": []}
        for r in range(args.rounds):
            for label, literal in (("fast", "false"), ("literal", "true")):
                log = run("hstl", store, tmp / f"hstl-{label}-{r}", args.hstl_iterations,
                          [*batch, f"model.args.literal={literal}"], dev)  # fmt: skip
                speeds[label].append(log["it_per_s"])
                print(f"round {r + 1} {label:<8} {log['it_per_s']:.3f} it/s  "
                      f"(data wait {100 * log['data_wait']:.1f}%)")  # fmt: skip
        fast, literal = statistics.median(speeds["fast"]), statistics.median(speeds["literal"])
        print(
            f"median: fast {fast:.3f} it/s, literal {literal:.3f} it/s, "
            f"ratio fast/literal = {fast / literal:.2f}x (target >= 1.3x)"
        )

        if args.full:
            print("\n== HSTL CASIA-B recipe, full batch 8 x 8 x 30 frames ==")
            sets = ["data.workers=4", "data.in_memory=true", "train.amp_dtype=bf16"]
            for extra in ([], ["train.compile=true"]):
                log = run("hstl", store, tmp / f"full-{len(extra)}", args.full_iterations,
                          [*sets, *extra], dev)  # fmt: skip
                hours = 90000 / log["it_per_s"] / 3600
                print(
                    f"{'compiled' if extra else 'eager':<9} {log['it_per_s']:.2f} it/s, "
                    f"data wait {100 * log['data_wait']:.1f}%, 90k iterations = {hours:.2f} h"
                )


if __name__ == "__main__":
    main()
