"""Model speed on this CPU: a training step and inference, for every registered model, and
HSTL's fast region-wise convolutions against the literal per-region form, in one process.

    python benchmarks/models.py                       # every published model + selfgait
    python benchmarks/models.py --models hstl --ids 4 --seqs 4 --frames 30 --repeats 3
    python benchmarks/models.py --tiny                # the tiny variants (seconds)

For each model (its CASIA-B variant where it has one):

* ``train``: forward + backward of a training batch of IDS x SEQS sequences of FRAMES frames
  (0/1 silhouettes, 64 x 44), train mode, loss = mean squared triplet features + mean
  log-sum-exp of the logits (the graph the real losses differentiate; no optimiser step);
* ``infer``: eval mode, no_grad, one FRAMES-frame sequence at a time; seconds per sequence.

Then HSTL fast vs literal (same weights, outputs checked equal to 1e-5 first): the ratio of
training-step times, literal / fast; target >= 1.3.

Timing: `--threads` torch threads (default 2); one warm-up, then the best of `--repeats` runs,
the compared variants interleaved (A B A B ...) so a busy machine slows both alike. Wall-clock
and process CPU seconds are both printed: on a shared machine CPU seconds are the steadier.
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from gaitbench.models import create, list_models

CLIP = (
    Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "fidelity" / "clip_1x37x64x44.npy"
)


def silhouette_batch(n: int, frames: int, kind: str, seed: int = 0) -> torch.Tensor:
    """[n, frames, 64, 44] 0/1 silhouettes.

    real:  windows of the real CASIA-B clip of the fidelity fixtures (37 aligned frames of a 90
           degree side view, the widest CASIA-B view), each at its own start frame, mirrored
           for odd rows (frames past the clip's end wrap around). Aligned silhouettes are
           centred on their median column, so a real batch is centred like this one;
    noise: independent coin flips per pixel (no background at all: the worst case for the
           nonzero-column convolutions).
    """
    rng = np.random.default_rng(seed)
    if kind == "noise":
        return torch.from_numpy((rng.random((n, frames, 64, 44)) > 0.5).astype(np.float32))
    clip = np.load(CLIP)[0].astype(np.float32)  # [37, 64, 44]
    rows = []
    for i in range(n):
        idx = (i * 3 + np.arange(frames)) % len(clip)
        rows.append(clip[idx][:, :, ::-1] if i % 2 else clip[idx])
    return torch.from_numpy(np.ascontiguousarray(np.stack(rows)))


def _timed(fn: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def best_of(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, tuple[float, float]]:
    """Warm each once, then run them interleaved `repeats` times; the best (wall, cpu) each."""
    for fn in fns.values():
        fn()
    best = {k: (float("inf"), float("inf")) for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            wall, cpu = _timed(fn)
            best[k] = (min(best[k][0], wall), min(best[k][1], cpu))
    return best


def train_step(model: torch.nn.Module, sils: torch.Tensor) -> Callable[[], None]:
    def step() -> None:
        model.zero_grad(set_to_none=True)
        out = model(sils)
        loss = out.triplet_features.pow(2).mean()
        if out.logits is not None:
            loss = loss + out.logits.logsumexp(-1).mean()
        loss.backward()

    model.train()
    return step


def infer(model: torch.nn.Module, clips: torch.Tensor) -> Callable[[], None]:
    def run() -> None:
        with torch.no_grad():
            for clip in clips:
                model(clip[None])

    return run


def default_models(tiny: bool) -> list[str]:
    if tiny:
        return list_models("*-tiny")
    return [n for n in list_models() if not n.endswith("-tiny")]


def dataset_of(name: str) -> str:
    return "casia-b"  # every model has a CASIA-B variant (tiny ones accept any dataset)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="*", help="registered names (default: all full-size)")
    parser.add_argument("--tiny", action="store_true", help="benchmark the tiny variants")
    parser.add_argument("--ids", type=int, default=4)
    parser.add_argument("--seqs", type=int, default=4)
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--infer-seqs", type=int, default=2, help="sequences timed for inference")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-compare", action="store_true", help="skip HSTL fast vs literal")
    parser.add_argument(
        "--data",
        choices=("real", "noise"),
        default="real",
        help="silhouettes for the per-model table (the comparison runs both)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    n = args.ids * args.seqs
    sils = silhouette_batch(n, args.frames, args.data)
    clips = sils[: args.infer_seqs]
    names = args.models or default_models(args.tiny)
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, training batch "
        f"{args.ids}x{args.seqs} sequences x {args.frames} frames ({args.data} silhouettes), "
        f"best of {args.repeats}"
    )
    print(f"{'model':<16}{'train s/step':>14}{'cpu s':>9}{'infer s/seq':>14}{'cpu s':>9}")
    for name in names:
        model = create(name, dataset=dataset_of(name))
        t = best_of({"train": train_step(model, sils)}, args.repeats)["train"]
        model.eval()
        i = best_of({"infer": infer(model, clips)}, args.repeats)["infer"]
        k = len(clips)
        print(f"{name:<16}{t[0]:>14.3f}{t[1]:>9.2f}{i[0] / k:>14.3f}{i[1] / k:>9.2f}", flush=True)
        del model

    hstl = "hstl-tiny" if args.tiny else "hstl"
    if args.no_compare or (args.models and hstl not in args.models):
        return
    fast = create(hstl)
    literal = create(hstl, literal=True)
    literal.load_state_dict(fast.state_dict())
    for kind in ("real", "noise"):
        batch = silhouette_batch(n, args.frames, kind, seed=1)
        one = batch[: args.infer_seqs]
        fast.eval(), literal.eval()
        with torch.no_grad():
            diff = (fast(one[:1]).embeddings - literal(one[:1]).embeddings).abs().max().item()
        print(
            f"\n{hstl}, {kind} silhouettes: nonzero-column vs literal full-width convolutions, "
            f"max |diff| of embeddings {diff:.2e} (must be < 1e-5)"
        )
        assert diff < 1e-5
        res = best_of(
            {"literal": train_step(literal, batch), "fast": train_step(fast, batch)}, args.repeats
        )
        for k, (wall, cpu) in res.items():
            print(f"  {k:<8} train step {wall:8.3f} s wall  {cpu:8.2f} s cpu")
        print(
            f"  training-step speed-up literal / fast: {res['literal'][0] / res['fast'][0]:.2f}x "
            f"wall, {res['literal'][1] / res['fast'][1]:.2f}x cpu (target >= 1.3x)"
        )
        fast.eval(), literal.eval()
        inf = best_of({"literal": infer(literal, one), "fast": infer(fast, one)}, args.repeats)
        print(
            f"  inference per sequence: literal {inf['literal'][0] / len(one):.3f} s, "
            f"fast {inf['fast'][0] / len(one):.3f} s "
            f"({inf['literal'][0] / inf['fast'][0]:.2f}x wall)",
            flush=True,
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"peak resident memory {peak:.1f} GiB")


if __name__ == "__main__":
    main()
