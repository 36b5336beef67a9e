"""Test-set embeddings from a model: every frame of every sequence, batched by equal length.

Sequences of the same length are stacked into one batch (no padding, so no model needs to know
about masks), which gives the same embeddings as feeding them one at a time. The batch size is a
number of sequences chosen by the user, never tied to a GPU count.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from gaitbench.data.sampling import cut_and_scale
from gaitbench.evaluation.embeddings import EmbeddingSet

# Frames per forward pass at most: long sequences get smaller batches so memory stays bounded.
DEFAULT_MAX_FRAMES = 4096


def length_buckets(
    lengths: Sequence[int], batch_size: int, max_frames: int = DEFAULT_MAX_FRAMES
) -> list[list[int]]:
    """Positions into ``lengths`` grouped into batches of equal length, at most ``batch_size``
    sequences and (unless one sequence alone is longer) ``max_frames`` frames each."""
    by_len: dict[int, list[int]] = {}
    for pos, n in enumerate(lengths):
        by_len.setdefault(int(n), []).append(pos)
    batches = []
    for n, positions in sorted(by_len.items()):
        per_batch = max(1, min(batch_size, max_frames // max(n, 1)))
        batches += [positions[i : i + per_batch] for i in range(0, len(positions), per_batch)]
    return batches


def shuffled_order(frames: int, row: int, seed: int) -> np.ndarray:
    """The random frame order ``--shuffle-frames SEED`` gives the sequence at store ``row``: one
    permutation per (seed, row), the same on every run and whatever else is extracted."""
    return np.random.default_rng([seed, row]).permutation(frames)


@torch.no_grad()
def extract_embeddings(
    model: nn.Module,
    store,
    indices: Sequence[int] | None = None,
    device: str = "cpu",
    batch_size: int = 16,
    max_frames: int = DEFAULT_MAX_FRAMES,
    progress: Callable[[int], None] | None = None,
    windows: Sequence[tuple[int, int]] | None = None,
    shuffle_seed: int | None = None,
) -> EmbeddingSet:
    """Embeddings ``[N, parts, channels]`` of store sequences ``indices`` (default: all), in order.

    ``progress(n)`` is called after each batch with the number of sequences done in it.
    ``windows``: per index, the (start, end) frames the sequence is cut to (the SelfGait
    release's fixed window); None uses every frame.
    """
    if indices is None:
        indices = range(len(store))
    indices = [int(i) for i in indices]
    index = store.index
    lengths = index["length"].to_numpy()[indices] if len(indices) else np.zeros(0, int)
    if windows is not None:
        lengths = np.array([end - start for start, end in windows], dtype=np.int64)

    def frames_of(p: int) -> np.ndarray:
        seq = store.read(indices[p])
        seq = seq if windows is None else seq[windows[p][0] : windows[p][1]]
        if shuffle_seed is not None:
            seq = seq[shuffled_order(len(seq), indices[p], shuffle_seed)]
        return seq

    was_training = model.training
    model.eval().to(device)
    out: list[np.ndarray | None] = [None] * len(indices)
    try:
        for batch in length_buckets(lengths, batch_size, max_frames):
            frames = np.stack([frames_of(p) for p in batch])  # equal lengths: no padding
            sils = torch.from_numpy(cut_and_scale(frames)).to(device)
            emb = model(sils).embeddings.float().cpu().numpy()
            for p, e in zip(batch, emb):
                out[p] = e
            if progress is not None:
                progress(len(batch))
    finally:
        model.train(was_training)
    rows = index.iloc[indices]
    embeddings = np.stack(out) if out else np.zeros((0, 0, 0), np.float32)
    return EmbeddingSet(
        embeddings,
        rows["subject"].to_numpy(),
        rows["condition"].to_numpy(),
        rows["view"].to_numpy(),
        attrs={"dataset": getattr(store, "dataset", "")},
    )
