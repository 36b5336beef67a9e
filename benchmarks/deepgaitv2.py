"""DeepGaitV2's cost on this machine: training and evaluation speed of deepgaitv2-tiny against
gaitbase-tiny (the same widths and head, every convolution frame-wise: what the pseudo-3D
temporal branch adds), each beside its floor, in one process.

1. Training through the real loop (`gaitbench.training.train`, the CASIA-B recipe, fp32 on the
   CPU) at the benchmark batch, P x K x frames = 8 x 4 x 30. Floor: the same model's bare step
   (forward, the recipe's loss, backward, SGD update) on a batch already in memory.
2. Evaluation through `extract_embeddings` (store reads, equal-length batches). Floor: the same
   batches already in memory. Baseline: one sequence per forward call (how OpenGait's configs
   keep sequences apart: one per GPU).

Wall-clock figures depend on what else runs on the machine; the process CPU seconds per step
(threads summed) are printed beside them, and the ratios, taken in the same process, are the
figures to compare.

    nice -n 10 python benchmarks/deepgaitv2.py                  # 4 training iterations per model
    python benchmarks/deepgaitv2.py --iterations 10 --eval-seqs 64
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train import make_store, run  # noqa: E402  (the training benchmark's store and loop)

from gaitbench.data.sampling import cut_and_scale  # noqa: E402
from gaitbench.data.store import Store  # noqa: E402
from gaitbench.evaluation.extract import extract_embeddings, length_buckets  # noqa: E402
from gaitbench.models import create  # noqa: E402
from gaitbench.training import find_recipe, load_recipe  # noqa: E402
from gaitbench.training.losses import GaitLoss  # noqa: E402

MODELS = ("gaitbase-tiny", "deepgaitv2-tiny")  # baseline first


def batch_sets(p: int, k: int, frames: int, workers: int) -> list[str]:
    return [
        f"data.ids_per_batch={p}",
        f"data.seqs_per_id={k}",
        f"data.frames={frames}",
        f"data.workers={workers}",
    ]


def loop_speed(model: str, store: Path, out: Path, iterations: int, sets: list[str]) -> dict:
    """The real training loop; the last logged interval (the first is warm-up)."""
    cpu0 = time.process_time()
    log = run(model, store, out, iterations, sets, "cpu")
    return {**log, "cpu_s_per_it": (time.process_time() - cpu0) / iterations}


def floor_step(model: str, p: int, k: int, frames: int, classes: int, steps: int) -> dict:
    """Forward + the recipe's loss + backward + SGD step on one in-memory batch (median)."""
    recipe = load_recipe(find_recipe(model, "casia-b"))
    torch.manual_seed(0)
    net = create(model, num_classes=classes).train()
    loss_fn = GaitLoss(
        recipe.loss.triplet_weight, recipe.loss.triplet_margin, recipe.loss.ce_weight,
        recipe.loss.ce_scale, recipe.loss.label_smoothing,
    )  # fmt: skip
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    sils = (torch.rand(p * k, frames, 64, 44) > 0.5).float()
    labels = torch.arange(p).repeat_interleave(k)
    walls, cpus = [], []
    for _ in range(steps + 1):  # the first step is warm-up
        w0, c0 = time.perf_counter(), time.process_time()
        out = net(sils)
        loss, _ = loss_fn(out.triplet_features, labels, out.logits)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return {
        "it_per_s": 1 / statistics.median(walls[1:]),
        "cpu_s_per_it": statistics.median(cpus[1:]),
    }


def eval_speed(model: str, store_path: Path, seqs: int) -> dict[str, float]:
    """Sequences/s of `extract_embeddings` (store reads, equal-length batches of up to 16), of
    its floor (the same batches already in memory) and of the baseline that OpenGait's configs
    rely on to keep sequences apart (one sequence per forward call, in memory)."""
    torch.manual_seed(0)
    net = create(model).eval()
    store = Store(store_path)
    rows = list(range(min(seqs, len(store))))
    lengths = store.index["length"].to_numpy()[rows]
    clips = [torch.from_numpy(cut_and_scale(store.read(i)[None])) for i in rows]
    batches = [torch.cat([clips[p] for p in b]) for b in length_buckets(lengths, 16)]
    out = {"frames": float(lengths.sum())}
    t0 = time.perf_counter()
    extract_embeddings(net, store, rows, batch_size=16)
    out["extract"] = len(rows) / (time.perf_counter() - t0)
    with torch.no_grad():
        t0 = time.perf_counter()
        for batch in batches:
            net(batch)
        out["floor"] = len(rows) / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        for clip in clips:
            net(clip)
        out["one_by_one"] = len(rows) / (time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=4, help="training iterations per model")
    ap.add_argument("--floor-steps", type=int, default=2)
    ap.add_argument("--batch", default="8x4x30", help="P x K x frames")
    ap.add_argument("--eval-seqs", type=int, default=32)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--only", choices=("train", "eval"), help="run one of the two parts")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"torch {torch.__version__}, CPU, {torch.get_num_threads()} threads, "
          f"{os.cpu_count()} cores, load average {load:.1f} at start, fp32")  # fmt: skip

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        store = make_store(tmp / "store.h5")
        classes = len(Store(store).partition["train"])  # the trainer's classifier width
        if args.only != "eval":
            training(args, store, tmp, classes)
        if args.only != "train":
            evaluation(args, store)


def training(args: argparse.Namespace, store: Path, tmp: Path, classes: int) -> None:
    p, k, f = (int(x) for x in args.batch.split("x"))
    print(f"\n== training, batch {p} x {k} x {f} frames ==")
    print(f"{'model':<17}{'loop it/s':>10}{'CPU s/it':>10}{'floor it/s':>12}"
          f"{'CPU s/it':>10}{'loop/floor':>12}")  # fmt: skip
    rows = {}
    for name in MODELS:
        loop = loop_speed(name, store, tmp / f"run-{name}", args.iterations,
                          batch_sets(p, k, f, args.workers))  # fmt: skip
        floor = floor_step(name, p, k, f, classes, args.floor_steps)
        rows[name] = (loop, floor)
        print(f"{name:<17}{loop['it_per_s']:>10.3f}{loop['cpu_s_per_it']:>10.2f}"
              f"{floor['it_per_s']:>12.3f}{floor['cpu_s_per_it']:>10.2f}"
              f"{loop['it_per_s'] / floor['it_per_s']:>11.2f}x")  # fmt: skip
    (bl, bf), (dl, df) = rows[MODELS[0]], rows[MODELS[1]]
    print(f"deepgaitv2-tiny / gaitbase-tiny: loop {dl['it_per_s'] / bl['it_per_s']:.2f}x "
          f"the speed, CPU per step {dl['cpu_s_per_it'] / bl['cpu_s_per_it']:.2f}x; "
          f"floor {df['it_per_s'] / bf['it_per_s']:.2f}x the speed")  # fmt: skip


def evaluation(args: argparse.Namespace, store: Path) -> None:
    n = min(args.eval_seqs, len(Store(store)))
    print(f"\n== evaluation, {n} sequences of the store (sequences/s) ==")
    print(f"{'model':<17}{'extract':>9}{'frames/s':>10}{'floor':>8}{'extract/floor':>15}"
          f"{'one by one':>12}{'extract/one':>13}")  # fmt: skip
    speeds = {}
    for name in MODELS:
        e = eval_speed(name, store, n)
        speeds[name] = e["extract"]
        print(f"{name:<17}{e['extract']:>9.2f}{e['extract'] * e['frames'] / n:>10.0f}"
              f"{e['floor']:>8.2f}{e['extract'] / e['floor']:>14.2f}x"
              f"{e['one_by_one']:>12.2f}{e['extract'] / e['one_by_one']:>12.2f}x")  # fmt: skip
    print(f"deepgaitv2-tiny / gaitbase-tiny: extraction "
          f"{speeds[MODELS[1]] / speeds[MODELS[0]]:.2f}x the speed")  # fmt: skip


if __name__ == "__main__":
    main()
