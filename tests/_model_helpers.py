"""Shared by the model tests: random clips, and where the tests find the published-format
fidelity checkpoints, which are too large for the repository: $GAITBENCH_FIXTURES first, then
<repo>/../shared/fixtures. A test that needs one is skipped, naming the variable to set, when
neither holds it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch


def fidelity_checkpoint(variant: str) -> Path:
    """The path of fidelity/<variant>.pt, or a skip saying how to provide it."""
    roots = [
        os.environ.get("GAITBENCH_FIXTURES"),
        str(Path(__file__).resolve().parents[2] / "shared" / "fixtures"),
    ]
    for root in filter(None, roots):
        path = Path(root) / "fidelity" / f"{variant}.pt"
        if path.is_file():
            return path
    pytest.skip(
        f"fidelity checkpoint {variant}.pt not found (set GAITBENCH_FIXTURES to the "
        "folder holding fidelity/)"
    )


def tiny_sils(n: int = 2, s: int = 6, seed: int = 0) -> torch.Tensor:
    """n random binary clips of s 64 x 44 frames, reproducible from seed."""
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, s, 64, 44, generator=g) > 0.5).float()
