"""Training speed, measured through the real trainer on a generated store.

1. Per model: iterations/s and the fraction of step time spent waiting for data (small batch).
2. HSTL's whole training step (data, forward, backward, optimiser), gaitbench's fast region
   formulation against the literal one (``literal=True``: one 3-D convolution per region), same
   batch, same process, interleaved rounds; the ratio of medians is the figure.
3. With ``--device cuda``: the HSTL CASIA-B recipe at full batch (8 x 8 x 30 frames) with AMP,
   and the projected hours for 90k iterations.

    python benchmarks/train.py                       # CPU, tiny variants + HSTL fast vs literal
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
from gaitbench.training import find_recipe, load_recipe, train


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
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dev = args.device
    print(f"torch {torch.__version__}, device {dev}, threads {torch.get_num_threads()}")

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
