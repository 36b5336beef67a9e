"""One GPU, about 8 minutes, no data needed: what every full-size model costs to train and what the
OU-MVLP protocol costs to evaluate. Run through ``bash benchmarks/gpu.sh`` (``--dry-run``: the same
code on the CPU with tiny models and sizes, in seconds, to check the script before spending a GPU).

1. **Training step** of every full-size model (CASIA-B architecture) at its published batch
   (P x K x 30 frames of 64 x 44 from its recipe), `Trainer.step` as `gaitbench train` wires it,
   under: the recipe's fp16 AMP with a loss scaler, bf16 autocast, bf16 + channels-last, and
   bf16 + torch.compile. Best of ``--rounds`` interleaved timed steps after warm-up; it/s.
2. **Loader wait share**: HSTL's published recipe through the real loop (`train`) on a generated
   store with ``data.workers``: the fraction of wall time the step waited for its batch.
3. **Evaluation at OU-MVLP size** (5,154 ids x 14 views x 2, 50 x 256) on the GPU, with the
   compute floor beside it: ``benchmarks/evaluate.py oumvlp --device cuda``.
4. **Projected wall time** of each full recipe (its published iterations / the best sound it/s).

A time guard skips what would overrun ``--budget`` seconds and says so.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train import make_store, run, step_trainer  # noqa: E402

from gaitbench.training import find_recipe, load_recipe  # noqa: E402

FULL = ("hstl", "gaitset", "gaitpart", "gaitgl", "gaitbase")
TINY = ("hstl-tiny", "gaitset-tiny", "gaitpart-tiny", "gaitgl-tiny", "gaitbase-tiny")
# (label, precision, channels-last, compile)
VARIANTS = (
    ("fp16 AMP + scaler", "fp16", False, False),
    ("bf16", "bf16", False, False),
    ("bf16 + channels-last", "bf16", True, False),
    ("bf16 + compile", "bf16", False, True),
)


def published_batch(name: str) -> tuple[int, int, int, int]:
    """(P, K, frames, iterations) of the model's CASIA-B recipe."""
    r = load_recipe(find_recipe(name, "casia-b"), [f"model.name={name}"])
    return r.data.ids_per_batch, r.data.seqs_per_id, r.data.frames, r.train.iterations


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dry-run", action="store_true", help="CPU, tiny models and sizes")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--budget", type=float, default=420.0, help="seconds before skipping")
    args = ap.parse_args()
    start = time.perf_counter()
    dry = args.dry_run
    device = "cpu" if dry else "cuda"
    if dry:
        torch.set_num_threads(1)  # seconds, even on a CPU that other work keeps busy
    if not dry and not torch.cuda.is_available():
        sys.exit("error: no CUDA device visible: run on a GPU machine, or pass --dry-run")
    models = TINY if dry else FULL
    rounds = 1 if dry else args.rounds
    name = "dry run (CPU, tiny models, batch 2 x 2 x 4)" if dry else torch.cuda.get_device_name()
    print(f"torch {torch.__version__}, device {device}: {name}")
    best: dict[str, float] = {}

    print("\n== 1. training step at the published batch (best of interleaved rounds), it/s ==")
    for model in models:
        p, k, f, iters = (2, 2, 4, 10) if dry else published_batch(model)
        sils = (torch.rand(p * k, f, 64, 44) > 0.5).to(torch.uint8) * 255
        labels = torch.arange(p).repeat_interleave(k)
        trainers = {}
        for label, prec, cl, comp in VARIANTS:
            if dry and (comp or prec == "fp16"):
                why = "compilation takes minutes" if comp else "a CPU has no fast fp16 kernels"
                print(f"  {model:<14} {label:<22} skipped in the dry run ({why})")
                continue
            if time.perf_counter() - start > args.budget:
                print(f"  {model:<14} {label:<22} skipped: time budget {args.budget:.0f} s spent")
                continue
            t0 = time.perf_counter()
            tr = step_trainer(model, prec, cl, comp, device)
            tr.step(sils, labels)  # warm-up / compilation
            tr.step(sils, labels)
            trainers[label] = tr
            if comp:
                print(f"  {model:<14} {label:<22} compiled in {time.perf_counter() - t0:.0f} s")
        times: dict[str, list[float]] = {label: [] for label in trainers}
        for _ in range(rounds):
            for label, tr in trainers.items():
                if device == "cuda":
                    torch.cuda.synchronize()
                t = time.perf_counter()
                tr.step(sils, labels)
                if device == "cuda":
                    torch.cuda.synchronize()
                times[label].append(time.perf_counter() - t)
        for label, ts in times.items():
            print(f"  {model:<14} {label:<22} {1 / min(ts):8.2f} it/s  (batch {p} x {k} x {f})")
        if times:
            fastest = max(times, key=lambda lb: 1 / min(times[lb]))
            best[model] = 1 / min(times[fastest])
            hours = iters / best[model] / 3600
            print(f"  {model:<14} projected: {iters} iterations at {best[model]:.2f} it/s "
                  f"({fastest}) = {hours:.2f} h on this GPU")  # fmt: skip
        del trainers
        if device == "cuda":
            torch.cuda.empty_cache()

    print("\n== 2. loader wait share: HSTL's recipe through the real loop ==")
    if time.perf_counter() - start > args.budget:
        print(f"  skipped: time budget {args.budget:.0f} s spent")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            store = make_store(Path(tmp) / "store.h5", subjects=16, seqs=8)
            model, its = ("hstl-tiny", 4) if dry else ("hstl", 60)
            sets = ["data.workers=0" if dry else "data.workers=8", "train.precision=bf16"]
            if dry:
                sets += ["data.ids_per_batch=2", "data.seqs_per_id=2", "data.frames=4"]
            log = run(model, store, Path(tmp) / "run", its, sets, device)
            print(f"  {model}: {log['it_per_s']:.2f} it/s, waiting for data "
                  f"{100 * log['data_wait']:.1f} % of the wall time ({sets[0]})")  # fmt: skip

    print("\n== 3. evaluation at OU-MVLP size on the device ==")
    cmd = [sys.executable, str(Path(__file__).with_name("evaluate.py")), "oumvlp",
           "--device", device, "--ids", "20" if dry else "5154"]  # fmt: skip
    print("  $ " + " ".join(["python3", "benchmarks/evaluate.py", *cmd[2:]]), flush=True)
    subprocess.run(cmd, check=True)

    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
