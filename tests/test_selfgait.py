"""SelfGait: the EMA, the BYOL loss, both pretext tasks, label-free pre-training, fine-tuning
from a pre-trained run, and the label-efficiency report. Tiny stores written here, tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from gaitbench.data.store import Store, StoreWriter
from gaitbench.errors import GaitbenchError
from gaitbench.models import create
from gaitbench.models.selfgait import SelfGait, byol_loss
from gaitbench.training import selfsup
from gaitbench.training.checkpoint import load_checkpoint
from gaitbench.training.config import Recipe

torch.set_num_threads(1)

SUBJECTS = [f"{i:03d}" for i in range(1, 9)]  # 001-006 train, 007-008 test
PARTITION = {"train": SUBJECTS[:6], "test": SUBJECTS[6:]}
CONDITIONS = ["nm-01", "nm-02"]


def _frames(rng: np.random.Generator, subject: int, t: int) -> np.ndarray:
    """A crude walker: a bar whose height depends on the subject, swinging over time."""
    frames = np.zeros((t, 64, 64), np.uint8)
    for k in range(t):
        x = 24 + int(6 * np.sin(k / 2 + subject))
        frames[k, 8 : 40 + 2 * subject, x : x + 10 + subject] = 255
    frames[:, :, :] |= (rng.random((t, 64, 64)) < 0.01).astype(np.uint8) * 255
    return frames


def write_store(path: Path, labels: list[str] | None = None, seed: int = 0) -> Path:
    """One sequence per (subject, condition); ``labels`` renames the subject of each row."""
    rng = np.random.default_rng(seed)
    rows = [(s, c) for s in SUBJECTS for c in CONDITIONS]
    labels = labels or [s for s, _ in rows]
    with StoreWriter(path, dataset="casia-b", size=64, source="test", partition=PARTITION) as w:
        for (subject, condition), label in zip(rows, labels, strict=True):
            w.add(label, condition, "090", _frames(rng, int(subject), int(rng.integers(10, 16))))
    return path


def tiny_recipe(iterations: int = 3, frames: int = 6) -> Recipe:
    recipe = Recipe()
    recipe.model.name = "selfgait-tiny"
    recipe.data.ids_per_batch, recipe.data.seqs_per_id = 2, 2
    recipe.data.frames, recipe.data.workers = frames, 0
    recipe.data.partition = "official"  # the store carries its own split
    recipe.optimizer.name, recipe.optimizer.lr = "sgd", 0.03
    recipe.train.iterations, recipe.train.save_every, recipe.train.log_every = (
        iterations,
        iterations,
        1,
    )
    recipe.train.amp = False
    return recipe


# -- the model pieces ----------------------------------------------------------------------------


def test_registered_with_published_embedding_shape():
    model = create("selfgait")
    assert isinstance(model, SelfGait)
    with torch.no_grad():
        out = model.eval()(torch.rand(1, 4, 64, 44))
    assert out.embeddings.shape == (1, 31, 128)
    assert out.logits is None
    # The backbone is what inference and fine-tuning use; heads + target are pre-training only.
    backbone = {id(p) for p in model.backbone_parameters()}
    assert not backbone & {id(p) for p in model.target.parameters()}
    assert not backbone & {id(p) for p in model.projector.parameters()}


def test_ema_moves_target_exactly_one_minus_m_toward_online():
    torch.manual_seed(0)
    model = create("selfgait-tiny")
    with torch.no_grad():  # make online and target differ everywhere, BN statistics included
        for p in [
            *model.encoder.parameters(),
            *model.fcs.parameters(),
            *model.projector.parameters(),
        ]:
            p.add_(torch.randn_like(p))
        bn = model.projector.net[1]
        bn.running_mean.add_(torch.randn_like(bn.running_mean))
        bn.running_var.mul_(2.0)
        bn.num_batches_tracked.fill_(7)
    online = {
        f"{name}.{k}": v.clone()
        for name in ("encoder", "fcs", "projector")
        for k, v in getattr(model, name).state_dict().items()
    }
    before = {k: v.clone() for k, v in model.target.state_dict().items()}
    m = 0.9
    selfsup.ema_update(model, m)
    after = model.target.state_dict()
    assert set(after) == set(online)
    moved = 0
    for key, old in before.items():
        if old.is_floating_point():
            expected = old + (1 - m) * (online[key] - old)
            assert torch.allclose(after[key], expected, atol=1e-6, rtol=0), key
            moved += int(not torch.equal(after[key], old))
        else:
            assert torch.equal(after[key], online[key])  # batch counters are copied
    assert moved == len([k for k, v in before.items() if v.is_floating_point()])
    # m = 1 leaves the target alone; m = 0 copies the online branch.
    selfsup.ema_update(model, 1.0)
    assert all(torch.equal(model.target.state_dict()[k], v) for k, v in after.items())
    selfsup.ema_update(model, 0.0)
    assert all(torch.equal(model.target.state_dict()[k], v) for k, v in online.items())


def test_loss_is_zero_on_identical_views_and_near_two_on_random_ones():
    torch.manual_seed(0)
    x = torch.randn(64, 31, 128)
    assert byol_loss(x, x).item() == pytest.approx(0.0, abs=1e-6)
    assert byol_loss(x, 3 * x).item() == pytest.approx(0.0, abs=1e-6)  # scale-free
    assert byol_loss(x, -x).item() == pytest.approx(4.0, abs=1e-5)
    assert byol_loss(x, torch.randn(64, 31, 128)).item() == pytest.approx(2.0, abs=0.02)


def test_untrained_model_loss_on_random_views_is_near_two():
    torch.manual_seed(0)
    model = create("selfgait-tiny")
    a, b = torch.rand(8, 6, 64, 44), torch.rand(8, 6, 64, 44)
    loss = selfsup.pretext_loss(model, a, b, "two-view").item()
    assert 1.5 < loss < 2.5


@pytest.mark.parametrize("pretext", selfsup.PRETEXTS)
def test_pretext_backpropagates_into_online_branch_only(pretext):
    torch.manual_seed(0)
    model = create("selfgait-tiny")
    a, b = torch.rand(4, 5, 64, 44), torch.rand(4, 5, 64, 44)
    loss = selfsup.pretext_loss(model, a, b, pretext)
    loss.backward()
    assert torch.isfinite(loss)
    for name in ("encoder", "mtb", "fcs", "projector", "predictor"):
        assert all(p.grad is not None for p in getattr(model, name).parameters()), name
    assert all(p.grad is None for p in model.target.parameters())


def test_next_frame_target_sees_only_the_last_frame():
    torch.manual_seed(0)
    model = create("selfgait-tiny").eval()
    clip = torch.rand(2, 6, 64, 44)
    changed = clip.clone()
    changed[:, :-1] = torch.rand(2, 5, 64, 44)  # every frame but the last
    assert torch.equal(
        model.target_projection(clip[:, -1:]), model.target_projection(changed[:, -1:])
    )
    with pytest.raises(GaitbenchError, match="at least 2 frames"):
        selfsup.pretext_loss(model, clip[:, :1], clip[:, :1], "next-frame")
    with pytest.raises(GaitbenchError, match="unknown pretext 'jigsaw'"):
        selfsup.pretext_loss(model, clip, clip, "jigsaw")


# -- pre-training data -------------------------------------------------------------------------


class _NoLabels:
    """A store that answers ``read`` and fails the test on any look at its index."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def read(self, i: int) -> np.ndarray:
        return self._store.read(i)

    def __getattr__(self, name: str):
        raise AssertionError(f"pre-training data path touched store.{name}")


def test_unlabelled_clips_read_frames_only(tmp_path):
    path = write_store(tmp_path / "s.h5")
    with Store(path) as store:
        clips = selfsup.UnlabelledClips(
            path, [0, 1, 2, 3], batch_size=4, frames=6, store=_NoLabels(store)
        )
        a, b = clips[0]
        again_a, again_b = clips[0]
    assert a.shape == b.shape == (4, 6, 64, 44) and a.dtype == torch.uint8
    assert torch.equal(a, again_a) and torch.equal(b, again_b)  # a function of (seed, iteration)
    assert not torch.equal(a, b)  # independently augmented views


def test_pretraining_is_unchanged_when_labels_are_shuffled(tmp_path):
    rows = [s for s in SUBJECTS for _ in CONDITIONS]
    shuffled = rows[:12].copy()
    np.random.default_rng(3).shuffle(shuffled)
    assert shuffled != rows[:12]
    plain = write_store(tmp_path / "plain.h5")
    relabelled = write_store(tmp_path / "shuffled.h5", labels=shuffled + rows[12:])
    results = []
    for name, store in (("a", plain), ("b", relabelled)):
        res = selfsup.pretrain(tiny_recipe(), store, tmp_path / name, pretext="two-view")
        results.append((res, load_checkpoint(res.checkpoint)["model"]))
    (ra, wa), (rb, wb) = results
    assert [log["loss"] for log in ra.logs] == [log["loss"] for log in rb.logs]
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    record = json.loads((tmp_path / "a" / "selfgait.json").read_text())
    assert record["stage"] == "pretrain" and record["labels"] == 0.0


def test_labelled_subjects_are_a_seeded_fraction():
    subjects = [f"{i:03d}" for i in range(1, 41)]
    tenth = selfsup.labelled_subjects(subjects, 0.1, seed=0)
    assert len(tenth) == 4 and set(tenth) <= set(subjects)
    assert tenth == selfsup.labelled_subjects(subjects, 0.1, seed=0)
    assert tenth != selfsup.labelled_subjects(subjects, 0.1, seed=1)
    assert selfsup.labelled_subjects(subjects, 1.0) == subjects
    assert len(selfsup.labelled_subjects(subjects, 0.01)) == 2  # a triplet needs two identities
    with pytest.raises(GaitbenchError, match="--labels 0"):
        selfsup.labelled_subjects(subjects, 0.0)


# -- fine-tuning -------------------------------------------------------------------------------


def test_finetune_loads_the_pretrained_backbone(tmp_path):
    store = write_store(tmp_path / "s.h5")
    pre = selfsup.pretrain(tiny_recipe(iterations=2), store, tmp_path / "pre", pretext="next-frame")
    pretrained = load_checkpoint(pre.checkpoint)["model"]

    recipe = tiny_recipe(iterations=1)
    recipe.optimizer.lr = 1e-6  # one tiny step: the weights stay next to where they started
    res = selfsup.finetune(
        recipe, store, tmp_path / "ft", init=tmp_path / "pre", labels=0.5, label_seed=0
    )
    tuned = load_checkpoint(res.checkpoint)["model"]
    fresh = create("selfgait-tiny").state_dict()

    # Heads and target are frozen in fine-tuning: equal to the pre-trained run's, bit for bit.
    for key in [k for k in tuned if k.startswith(("target.", "projector.", "predictor."))]:
        assert torch.equal(tuned[key], pretrained[key]), key
    # The backbone started from the pre-trained weights, not from a fresh initialisation.
    for key in [k for k in tuned if k.startswith(("encoder.", "mtb.", "fcs."))]:
        assert (
            (tuned[key] - pretrained[key]).abs().max()
            < 1e-3
            < (tuned[key] - fresh[key]).abs().max()
        ), key

    record = json.loads((tmp_path / "ft" / "selfgait.json").read_text())
    assert record["stage"] == "finetune" and record["init"] == str(tmp_path / "pre")
    assert record["labels"] == 0.5 and record["train_subjects"] == 6
    assert record["labelled_subjects"] == selfsup.labelled_subjects(PARTITION["train"], 0.5, 0)
    assert res.num_classes == 3  # only the labelled subjects became classes


def test_finetune_rejects_a_run_of_another_variant(tmp_path):
    store = write_store(tmp_path / "s.h5")
    selfsup.pretrain(tiny_recipe(iterations=1), store, tmp_path / "pre")
    recipe = tiny_recipe(iterations=1)
    recipe.model.name = "selfgait"
    with pytest.raises(GaitbenchError, match="does not fit this selfgait variant"):
        selfsup.finetune(recipe, store, tmp_path / "ft", init=tmp_path / "pre")
    with pytest.raises(GaitbenchError, match="no checkpoints/last.pt"):
        selfsup.finetune(tiny_recipe(), store, tmp_path / "ft2", init=tmp_path / "nothing")
    assert not (tmp_path / "ft" / "checkpoints").exists()


# -- the label-efficiency report -----------------------------------------------------------------


def _fake_run(root: Path, name: str, labels: float, pretrained: bool, nm: float) -> Path:
    run = root / name
    run.mkdir()
    (run / "selfgait.json").write_text(
        json.dumps(
            {
                "stage": "finetune",
                "init": "runs/pre" if pretrained else None,
                "labels": labels,
                "train_subjects": 20,
                "labelled_subjects": [f"{i:03d}" for i in range(max(2, round(20 * labels)))],
            }
        )
    )
    metrics = {"NM": {"rank1": nm}, "BG": {"rank1": nm - 10}, "CL": {"rank1": nm - 20}}
    (run / "results-casia-b.json").write_text(
        json.dumps(
            {"protocol": "casia-b", "model": "selfgait-tiny", "iteration": 40, "metrics": metrics}
        )
    )
    return run


def test_label_efficiency_table_plot_and_cli(tmp_path):
    from typer.testing import CliRunner

    from gaitbench.cli import app
    from gaitbench.reporting import label_efficiency as le

    runs = [
        _fake_run(tmp_path, "s1", 1.0, False, 60.0),
        _fake_run(tmp_path, "p1", 1.0, True, 65.5),
        _fake_run(tmp_path, "s01", 0.1, False, 30.0),
        _fake_run(tmp_path, "p01", 0.1, True, 42.0),
    ]
    data = le.collect(runs)
    assert [(r["labels"], r["pretrained"]) for r in data["runs"]] == [
        (0.1, False),
        (1.0, False),
        (0.1, True),
        (1.0, True),
    ]
    text = le.table(data)
    assert (
        "| 0.1 | 2/20 | 30.0 | 42.0 | +12.0 | 20.0 | 32.0 | +12.0 | 10.0 | 22.0 | +12.0 |" in text
    )
    assert "| 1 | 20/20 | 60.0 | 65.5 | +5.5 |" in text

    result = CliRunner().invoke(
        app, ["report", "--label-efficiency", *map(str, runs), "--plots", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    assert "+12.0" in result.output
    saved = json.loads((tmp_path / "out" / "label_efficiency.json").read_text())
    assert saved["schema"] == le.SCHEMA and len(saved["runs"]) == 4
    assert (tmp_path / "out" / "label_efficiency.png").stat().st_size > 10_000

    with pytest.raises(GaitbenchError, match="selfgait.json not found"):
        le.collect([tmp_path / "out"])
