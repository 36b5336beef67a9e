"""Small real artifacts for the evaluation tests: a store written with StoreWriter and a run
folder holding a gaitbench checkpoint of a tiny registered model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

CONDITIONS = ("nm-01", "nm-02", "nm-03", "nm-04", "nm-05", "nm-06", "bg-01", "cl-01")
VIEWS = ("000", "090")


def make_store(path: Path, subjects=("075", "076", "077"), train=("001", "002")) -> Path:
    """A CASIA-B-shaped store: every subject a differently placed bar, lengths 3..7 frames."""
    from gaitbench.data.store import StoreWriter

    rng = np.random.default_rng(0)
    with StoreWriter(
        path,
        dataset="casia-b",
        size=64,
        source="test",
        partition={"train": list(train), "test": list(subjects)},
    ) as w:
        for s_i, subject in enumerate((*train, *subjects)):
            for condition in CONDITIONS:
                for view in VIEWS:
                    t = int(rng.integers(3, 8))
                    frames = np.zeros((t, 64, 64), np.uint8)
                    for f in range(t):
                        top = 8 + 4 * s_i + f
                        frames[f, top : top + 30, 22 + s_i : 30 + s_i + f] = 255
                    w.add(subject, condition, view, frames)
    return path


def make_run(
    run_dir: Path, name: str = "gaitset-tiny", num_classes: int = 2, iteration: int = 7
) -> Path:
    from gaitbench.models import create

    torch.manual_seed(0)
    model = create(name, dataset="casia-b", num_classes=num_classes)
    ckpt = run_dir / "checkpoints" / "last.pt"
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "model": model.state_dict(),
            "model_name": name,
            "model_args": model.gaitbench_args,
            "iteration": iteration,
            "config": {"dataset": "casia-b", "seed": 0},
        },
        ckpt,
    )
    return run_dir
