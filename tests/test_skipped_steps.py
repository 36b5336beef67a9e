"""A fp16 step the GradScaler skips (an overflowed gradient) is no iteration and does not step the
LR schedule, as in OpenGait: the run draws the next batch instead. Forced here on the CPU with a
real GradScaler and an infinite gradient on chosen batches."""

from __future__ import annotations

import pytest
import torch

from gaitbench.errors import GaitbenchError
from gaitbench.models import create
from gaitbench.training import find_recipe, load_recipe
from gaitbench.training import trainer as trainer_module
from gaitbench.training.distributed import DistInfo
from gaitbench.training.losses import GaitLoss
from gaitbench.training.trainer import Trainer


def _batches(count: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    gen = torch.Generator().manual_seed(0)
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    return [(torch.randint(0, 256, (6, 4, 64, 44), generator=gen, dtype=torch.uint8), labels)
            for _ in range(count)]  # fmt: skip


def _trainer(tmp_path, scaler: torch.amp.GradScaler, overflow_at: set[int] = frozenset()):
    """gaitset-tiny, SGD lr 0.1 dropping x0.1 after 2 iterations; the gradient of backward pass
    number ``i`` (from 0) is made infinite for ``i`` in ``overflow_at``."""
    torch.manual_seed(0)
    model = create("gaitset-tiny", "casia-b")
    recipe = load_recipe(find_recipe("gaitset-tiny", "casia-b"), [
        "model.name=gaitset-tiny", "optimizer.name=sgd", "optimizer.lr=0.1",
        "scheduler.milestones=[2]", "train.log_every=100"])  # fmt: skip
    passes = iter(range(10**6))

    def overflow(grad: torch.Tensor) -> torch.Tensor:
        return grad + float("inf") if next(passes) in overflow_at else grad

    next(model.parameters()).register_hook(overflow)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, [2], 0.1)
    return Trainer(model, GaitLoss(1.0, 0.2), opt, sched, scaler, recipe, tmp_path,
                   DistInfo(), torch.device("cpu"), None, [])  # fmt: skip


def test_a_skipped_step_is_no_iteration_and_keeps_the_schedule(tmp_path):
    batches = _batches(6)
    skipping = _trainer(tmp_path, torch.amp.GradScaler("cpu", init_scale=2.0**16), {1, 2})
    skipping.fit(batches, stop_at=4)
    # Batches 1 and 2 overflowed: six batches for four iterations, four schedule steps.
    assert (skipping.iteration, skipping.batches) == (4, 6)
    assert skipping.scheduler.last_epoch == 4
    assert skipping.optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * 0.1)
    assert skipping.scaler.get_scale() == 2.0**14  # halved once per skip
    assert skipping.logs[-1]["skipped_steps"] == 2
    # The same weights as a run that never saw batches 1 and 2 (scaling by a power of two is
    # exact, so the scaled run matches an unscaled one bit for bit).
    plain = _trainer(tmp_path, torch.amp.GradScaler("cpu", enabled=False))
    plain.fit([batches[i] for i in (0, 3, 4, 5)], stop_at=4)
    assert plain.logs[-1]["skipped_steps"] == 0
    a, b = skipping.bare_model.state_dict(), plain.bare_model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert skipping.state_dict()["batches"] == 6  # a resume draws batch 6 next


def test_a_run_whose_every_step_overflows_stops(tmp_path, monkeypatch):
    monkeypatch.setattr(trainer_module, "MAX_SKIPS_IN_A_ROW", 3)
    stuck = _trainer(tmp_path, torch.amp.GradScaler("cpu"), set(range(100)))
    with pytest.raises(GaitbenchError, match="skipped 3 steps in a row at iteration 0"):
        stuck.fit(_batches(5), stop_at=2)
