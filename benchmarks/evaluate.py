"""Evaluation speed and memory against the physical limit, measured in one process.

    python3 benchmarks/evaluate.py casia-b [--strided]   # CASIA-B size: ours, literal, floor
    python3 benchmarks/evaluate.py oumvlp [--ids N]      # OU-MVLP size: time, floor, peak memory
    python3 benchmarks/evaluate.py oumvlp --probe-fraction 0.1  # full gallery, 10 % of probes
    python3 benchmarks/evaluate.py oumvlp --device cuda  # the same on a GPU

Three lines, all over the same embeddings:

* **gaitbench**: `gaitbench.evaluation.protocols.evaluate`, the whole protocol.
* **literal**: the algorithm the field's evaluator uses, re-written here from its description
  (reference/FACTS.md 3.1-3.2): for every probe set and every (probe view, gallery view) pair,
  the distance matrix by a Python loop over parts (sqrt(relu(|x|^2 + |y|^2 - 2xy)) per part,
  summed, divided by parts), the nearest gallery item, rank-1 rounded to 2 decimals. Each part's
  vectors are contiguous rows (the embeddings' own ``[n, parts, channels]`` layout).
* **floor**: the arithmetic every one of them must do and nothing else: a bare batched matrix
  product over exactly probes x gallery x parts x channels (float32, the same blocks gaitbench
  uses, results written into one reused buffer), no square roots, no sums, no minimum.

``--strided`` adds the literal algorithm on the ``[n, channels, parts]`` layout (each part a
strided column), a labelled extra line: it is not a baseline, only what the layout costs.
Embeddings are synthetic with identity structure (subject centre + noise), float32. Speed is
the best of ``--repeats`` interleaved rounds; the ratios are the figures to quote.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import torch

from gaitbench.evaluation.distances import DEFAULT_CHUNK_BYTES, chunk_sizes
from gaitbench.evaluation.embeddings import EmbeddingSet
from gaitbench.evaluation.protocols import VIEW_PROTOCOLS, evaluate

CASIA_VIEWS = [f"{a:03d}" for a in range(0, 181, 18)]
CASIA_CONDS = [
    "nm-01",
    "nm-02",
    "nm-03",
    "nm-04",
    "nm-05",
    "nm-06",
    "bg-01",
    "bg-02",
    "cl-01",
    "cl-02",
]
OUMVLP_VIEWS = [f"{a:03d}" for a in (*range(0, 91, 15), *range(180, 271, 15))]


def synthetic(
    n_ids: int,
    conds: list[str],
    views: list[str],
    parts: int,
    channels: int,
    noise: float,
    seed: int = 0,
    probe_ids: int | None = None,
    probe_conds: tuple[str, ...] = (),
) -> EmbeddingSet:
    """Every id has a sequence per condition and view, except that ``probe_conds`` are given to
    the first ``probe_ids`` ids only (all when None): a full-size gallery with a fraction of the
    probes, so that time can be measured on a fraction and memory on the full gallery."""
    rng = np.random.default_rng(seed)
    limit = n_ids if probe_ids is None else probe_ids
    conds_of = [[c for c in conds if i < limit or c not in probe_conds] for i in range(n_ids)]
    total = sum(len(c) for c in conds_of) * len(views)
    # Filled in place, one identity at a time: building the set never holds a second copy, so
    # the peak memory measured around the protocol is the protocol's own.
    emb = np.empty((total, parts, channels), dtype=np.float32)
    subj, cond, view = [], [], []
    row = 0
    for i in range(n_ids):
        per_id = len(conds_of[i]) * len(views)
        centre = rng.normal(size=(parts, channels)).astype(np.float32)
        noise_block = rng.normal(size=(per_id, parts, channels)).astype(np.float32)
        emb[row : row + per_id] = centre + noise * noise_block
        row += per_id
        for c in conds_of[i]:
            for v in views:
                subj.append(f"{i:05d}")
                cond.append(c)
                view.append(v)
    return EmbeddingSet(emb, subj, cond, view)


def literal_dist(x: torch.Tensor, y: torch.Tensor, part_axis: int) -> torch.Tensor:
    """Probe x and gallery y with parts on ``part_axis`` (1: ``[n, p, c]``, 2: ``[n, c, p]``)
    -> ``[n, m]``: a Python loop over parts, the reference's way."""
    num_bin = x.size(part_axis)
    dist = torch.zeros(x.size(0), y.size(0), device=x.device)
    for i in range(num_bin):
        _x, _y = x.select(part_axis, i), y.select(part_axis, i)
        d = (_x**2).sum(1).unsqueeze(1) + (_y**2).sum(1).unsqueeze(0) - 2 * _x @ _y.T
        dist += torch.sqrt(torch.relu(d))
    return dist / num_bin


def literal_protocol(
    es: EmbeddingSet, protocol: str, strided: bool = False, device: str = "cpu"
) -> dict[str, float]:
    spec = VIEW_PROTOCOLS[protocol]
    feature = es.embeddings.transpose(0, 2, 1) if strided else es.embeddings
    part_axis = 2 if strided else 1
    views = sorted(set(es.view))
    out = {}
    for name, probe_conds in spec["probes"].items():
        acc = np.zeros((len(views), len(views)))
        for v1, pv in enumerate(views):
            pm = np.isin(es.condition, probe_conds) & (es.view == pv)
            px, py = torch.from_numpy(feature[pm]).to(device), es.subject[pm]
            for v2, gv in enumerate(views):
                gm = np.isin(es.condition, spec["gallery"]) & (es.view == gv)
                gx, gy = torch.from_numpy(feature[gm]).to(device), es.subject[gm]
                dist = literal_dist(px, gx, part_axis)
                idx = dist.topk(1, largest=False)[1].cpu().numpy()
                acc[v1, v2] = np.round(np.sum(py == gy[idx[:, 0]]) * 100 / len(py), 2)
        per_view = (acc.sum(1) - np.diag(acc)) / (len(views) - 1.0)
        out[name] = float(per_view.mean())
    return out


def protocol_shape(es: EmbeddingSet, protocol: str) -> tuple[int, int, int, int]:
    """(probes, gallery, parts, channels) the protocol compares."""
    spec = VIEW_PROTOCOLS[protocol]
    probe_conds = [c for conds in spec["probes"].values() for c in conds]
    n_probe = int(np.isin(es.condition, probe_conds).sum())
    n_gallery = int(np.isin(es.condition, spec["gallery"]).sum())
    return n_probe, n_gallery, es.embeddings.shape[1], es.embeddings.shape[2]


def floor_time(n_probe: int, n_gallery: int, parts: int, channels: int, device: str) -> float:
    """Seconds of a bare batched matmul over exactly probes x gallery x parts x channels, in
    gaitbench's blocks, into one reused buffer (random inputs: speed does not depend on values)."""
    g = torch.Generator(device=device).manual_seed(0)
    rows, cols = chunk_sizes(parts, n_probe, n_gallery, DEFAULT_CHUNK_BYTES)
    y = torch.randn(parts, n_gallery, channels, generator=g, device=device)
    x = torch.randn(parts, rows, channels, generator=g, device=device)  # one probe block, reused
    work = torch.empty(parts * rows * cols, device=device)
    sync(device)
    t = CLOCK()
    for r0 in range(0, n_probe, rows):
        xb = x[:, : min(rows, n_probe - r0)]
        for c0 in range(0, n_gallery, cols):
            yb = y[:, c0 : c0 + cols]
            torch.bmm(xb, yb.transpose(1, 2), out=work[: parts * xb.shape[1] * yb.shape[1]].view(
                parts, xb.shape[1], yb.shape[1]))  # fmt: skip
    sync(device)
    return CLOCK() - t


CLOCK = time.perf_counter
CLOCK_NAME = "wall seconds"


def use_cpu_clock() -> None:
    """On one CPU thread, time the process's CPU seconds: on a loaded machine they are the
    work itself, where wall time mostly measures the other processes."""
    global CLOCK, CLOCK_NAME
    CLOCK, CLOCK_NAME = time.process_time, "CPU seconds (1 thread)"


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def gflop(n_probe: int, n_gallery: int, parts: int, channels: int) -> float:
    """Multiply-adds of the per-part products, counted as 2 FLOPs each."""
    return 2.0 * n_probe * n_gallery * parts * channels / 1e9


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # Linux reports KiB


def rss_gib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**30


def bench_casia(repeats: int, strided: bool, device: str) -> None:
    es = synthetic(50, CASIA_CONDS, CASIA_VIEWS, parts=73, channels=128, noise=6.0)
    shape = protocol_shape(es, "casia-b")
    print(
        f"CASIA-B size: {len(es)} sequences (50 ids x 110), embeddings 73 x 128; "
        f"{shape[0]} probes x {shape[1]} gallery x {shape[2]} parts x {shape[3]} channels = "
        f"{gflop(*shape):.0f} GFLOP; device {device}, torch threads {torch.get_num_threads()}, "
        f"timed in {CLOCK_NAME}"
    )
    evaluate(es.subset(np.arange(0, len(es), 10)), "casia-b", device=device)  # warm-up
    times: dict[str, list[float]] = {"gaitbench": [], "literal": [], "floor": []}
    ours = lit = None
    for _ in range(repeats):  # interleaved, so that load on the machine hits all three alike
        t = CLOCK()
        ours = evaluate(es, "casia-b", device=device).metrics
        sync(device)
        times["gaitbench"].append(CLOCK() - t)
        t = CLOCK()
        lit = literal_protocol(es, "casia-b", device=device)
        times["literal"].append(CLOCK() - t)
        times["floor"].append(floor_time(*shape, device))
    for c in lit:
        print(
            f"  {c}: gaitbench {ours[c]['rank1']:.4f}  literal {lit[c]:.4f}  "
            f"|diff| {abs(ours[c]['rank1'] - lit[c]):.6f}"
        )
    same = all(abs(ours[c]["rank1"] - lit[c]) < 0.01 for c in lit)
    best = {k: min(v) for k, v in times.items()}
    for k, v in times.items():
        print(
            f"  {k:<10} {best[k]:7.3f} s  {gflop(*shape) / best[k]:6.1f} GFLOP/s   "
            f"(best of {repeats}: {', '.join(f'{x:.3f}' for x in v)})"
        )
    print(f"  gaitbench / floor: {best['gaitbench'] / best['floor']:.2f}x  (goal <= 1.2x)")
    print(f"  literal / gaitbench: {best['literal'] / best['gaitbench']:.2f}x")
    print(f"  identical numbers to the literal algorithm (0.01): {same}")
    if strided:
        t = CLOCK()
        literal_protocol(es, "casia-b", strided=True, device=device)
        dt = CLOCK() - t
        print(
            f"  extra line, not a baseline: literal on the strided [n, channels, parts] layout "
            f"{dt:.3f} s ({dt / best['gaitbench']:.1f}x gaitbench)"
        )


def bench_oumvlp(n_ids: int, device: str, probe_fraction: float = 1.0) -> None:
    probe_ids = max(1, round(n_ids * probe_fraction))
    es = synthetic(n_ids, ["00", "01"], OUMVLP_VIEWS, parts=50, channels=256, noise=8.0,
                   probe_ids=probe_ids, probe_conds=("00",))  # fmt: skip
    shape = protocol_shape(es, "oumvlp")
    full_probes = n_ids * len(OUMVLP_VIEWS)
    print(
        f"OU-MVLP size: {n_ids} ids x 14 views, gallery seq 01 of every id, probe seq 00 of "
        f"{probe_ids} ids ({shape[0]} of {full_probes} probes); embeddings 50 x 256; "
        f"{shape[0]} probes x {shape[1]} gallery x 50 x 256 = {gflop(*shape) / 1e3:.1f} TFLOP; "
        f"device {device}, torch threads {torch.get_num_threads()}, timed in {CLOCK_NAME}"
    )
    print(
        f"  a whole probe x gallery float32 matrix would be "
        f"{full_probes * shape[1] * 4 / 2**30:.1f} GiB; "
        f"the embeddings held here {es.embeddings.nbytes / 2**30:.2f} GiB"
    )
    rss0, peak0 = rss_gib(), peak_rss_gib()
    t = CLOCK()
    r = evaluate(es, "oumvlp", device=device)
    sync(device)
    dt = CLOCK() - t
    peak = peak_rss_gib()
    floor = floor_time(*shape, device)
    print(f"  rank-1 NM {r.metrics['NM']['rank1']:.2f}")
    print(
        f"  gaitbench: {dt:.1f} s ({gflop(*shape) / dt:.1f} GFLOP/s)   peak RSS: {peak:.2f} GiB "
        f"(resident before the protocol: {rss0:.2f})"
    )
    print(
        f"  floor (bare batched matmul, same blocks): {floor:.1f} s "
        f"({gflop(*shape) / floor:.1f} GFLOP/s); gaitbench / floor: {dt / floor:.2f}x"
    )
    if peak > peak0:
        extra = peak - rss0
        print(
            f"  the protocol's own peak: {extra:.2f} GiB = "
            f"{extra / (es.embeddings.nbytes / 2**30):.2f} x the embeddings"
        )
    else:
        print(f"  the protocol stayed below the earlier peak ({peak0:.2f} GiB)")
    if shape[0] < full_probes:
        scale = full_probes / shape[0]
        missing = (full_probes - shape[0]) * 50 * 256 * 4 / 2**30
        print(
            f"  EXTRAPOLATED to all {full_probes} probes (time is linear in probes, the gallery "
            f"is already full size): gaitbench {dt * scale / 60:.1f} min, floor "
            f"{floor * scale / 60:.1f} min; peak RSS {peak + missing:.2f} GiB (+{missing:.2f} "
            "GiB of probe embeddings; the protocol works a probe block at a time)"
        )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("which", choices=["casia-b", "oumvlp"])
    ap.add_argument(
        "--ids", type=int, default=5154, help="OU-MVLP test identities (default: the real 5,154)"
    )
    ap.add_argument(
        "--probe-fraction",
        type=float,
        default=1.0,
        help="oumvlp: time a fraction of the probes against the full gallery, then extrapolate",
    )
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument(
        "--strided", action="store_true", help="casia-b: add the strided-layout extra line"
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.threads == 1 and args.device == "cpu":
        use_cpu_clock()
    if args.which == "casia-b":
        bench_casia(args.repeats, args.strided, args.device)
    else:
        bench_oumvlp(args.ids, args.device, args.probe_fraction)


if __name__ == "__main__":
    main()
