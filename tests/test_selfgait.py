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


def test_finetune_from_scratch_is_its_seeds(tmp_path):
    # The weights are drawn after seeding: same seed, same run; another length changes nothing
    # of the first iterations; another seed, other weights.
    store = write_store(tmp_path / "s.h5")

    def run(name: str, iterations: int, seed: int = 0) -> dict:
        recipe = tiny_recipe(iterations=iterations)
        recipe.train.seed = seed
        torch.manual_seed(1234 + len(name))  # whatever came before must not matter
        res = selfsup.finetune(recipe, store, tmp_path / name, labels=1.0, label_seed=0)
        return load_checkpoint(res.checkpoint)["model"]

    a, b, longer, other = run("a", 1), run("b", 1), run("longer", 2), run("other", 1, seed=1)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], other[k]) for k in a)
    losses = [
        [json.loads(line)["loss"] for line in (tmp_path / n / "metrics.jsonl").open()][:1]
        for n in ("a", "longer")
    ]
    assert losses[0] == losses[1]


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


def _fake_run(
    root: Path, name: str, labels: float, pretrained: bool, nm: float, seed: int = 0
) -> Path:
    run = root / name
    run.mkdir()
    (run / "selfgait.json").write_text(
        json.dumps(
            {
                "stage": "finetune",
                "init": "runs/pre" if pretrained else None,
                "labels": labels,
                "label_seed": seed,
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
        "| 0.1 | 2 of 20 | 1/1 | 30.0 | 42.0 | +12.0 | 20.0 | 32.0 | +12.0 | 10.0 | 22.0 | +12.0 |"
        in text
    )
    assert "| 1 | 20 of 20 | 1/1 | 60.0 | 65.5 | +5.5 |" in text

    result = CliRunner().invoke(
        app, ["report", "--label-efficiency", *map(str, runs), "--plots", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    assert "+12.0" in result.output
    saved = json.loads((tmp_path / "out" / "label_efficiency.json").read_text())
    assert saved["schema"] == le.SCHEMA and len(saved["runs"]) == 4
    assert sorted(r["run"] for r in saved["runs"]) == ["p01", "p1", "s01", "s1"]  # names, no paths
    assert le.data_kind(saved) == "data of unrecorded kind"  # the fake results record no data
    for kind, word in (("real", "real data"), ("synthetic", "synthetic walkers")):
        assert le.data_kind({"runs": [{"data": {"kind": kind}}] * 2}) == word
    mixed = {"runs": [{"data": {"kind": "real"}}, {"data": {"kind": "synthetic"}}]}
    assert le.data_kind(mixed) == "mixed data"
    assert (tmp_path / "out" / "label_efficiency.png").stat().st_size > 10_000

    with pytest.raises(GaitbenchError, match="selfgait.json not found"):
        le.collect([tmp_path / "out"])


# -- as released: recipe, optimiser carried into fine-tuning, initialisation, augmentation --------


def test_recipes_are_the_releases():
    from gaitbench.training.config import apply_overrides, find_recipe, load_recipe

    finetune = load_recipe(find_recipe("selfgait-tiny", "casia-b"))
    o = finetune.optimizer
    assert (o.name, o.lr, o.momentum, o.weight_decay) == ("sgd", 0.03, 0.9, 0.0004)
    assert finetune.scheduler.gamma == 1.0  # no schedule
    d = finetune.data
    assert (d.ids_per_batch, d.seqs_per_id, d.frames, d.sample_type) == (8, 16, 30, "fixed_ordered")
    assert [(a.name, a.p) for a in d.augment] == [("frame-flip", 0.5)]
    assert (finetune.loss.triplet_margin, finetune.loss.ce_weight) == (0.2, 0.0)
    assert finetune.train.iterations == 80000 and finetune.train.amp is False
    pretrain = apply_overrides(finetune, selfsup.PRETRAIN_OVERRIDES)
    assert pretrain.train.iterations == 10000
    assert pretrain.optimizer == finetune.optimizer  # one optimiser for both stages
    assert selfsup.PRETRAIN_AUGMENT == (("frame-flip", 0.5),)


def test_finetune_continues_the_pretraining_optimiser(tmp_path):
    store = write_store(tmp_path / "s.h5")
    pre = selfsup.pretrain(tiny_recipe(iterations=2), store, tmp_path / "pre")
    pre_ckpt = load_checkpoint(pre.checkpoint)
    model = create("selfgait-tiny")
    pre_names = [n for n, p in model.named_parameters() if p.requires_grad]
    backbone = [n for n in pre_names if n.startswith(("encoder.", "mtb.", "fcs."))]
    assert len(pre_ckpt["optimizer"]["param_groups"][0]["params"]) == len(pre_names)

    recipe = tiny_recipe(iterations=1)
    recipe.optimizer.weight_decay = 0.0004
    carried = selfsup.carried_optimizer_state(pre_ckpt, pre_names, backbone, recipe)
    group = carried["param_groups"][0]
    assert (group["lr"], group["momentum"], group["weight_decay"]) == (0.03, 0.9, 0.0004)
    for j, name in enumerate(backbone):
        i = pre_names.index(name)
        assert torch.equal(
            carried["state"][j]["momentum_buffer"],
            pre_ckpt["optimizer"]["state"][i]["momentum_buffer"],
        ), name

    # One fine-tuning step with the carried state and one with a fresh SGD, from the same weights
    # on the same batch: same gradient g, so the buffers differ by exactly momentum x carried.
    runs = {}
    for carry in (True, False):
        res = selfsup.finetune(
            recipe, store, tmp_path / f"ft-{carry}", init=tmp_path / "pre", carry_optimizer=carry
        )
        runs[carry] = load_checkpoint(res.checkpoint)["optimizer"]
    record = json.loads((tmp_path / "ft-True" / "selfgait.json").read_text())
    assert record["optimizer_state"] == f"carried from {tmp_path / 'pre'} iteration 2"
    assert json.loads((tmp_path / "ft-False" / "selfgait.json").read_text())["optimizer_state"] == (
        "fresh"
    )
    assert runs[True]["param_groups"][0]["lr"] == 0.03
    for j in range(len(backbone)):
        expected = 0.9 * carried["state"][j]["momentum_buffer"]
        got = runs[True]["state"][j]["momentum_buffer"] - runs[False]["state"][j]["momentum_buffer"]
        assert torch.allclose(got, expected, atol=1e-5), backbone[j]


def test_cli_finetune_writes_the_releases_optimiser(tmp_path):
    import yaml
    from typer.testing import CliRunner

    from gaitbench.cli import app

    store = write_store(tmp_path / "s.h5")
    small = ["data.ids_per_batch=2", "data.seqs_per_id=2", "data.frames=6", "data.workers=0"]
    pre = ["train", "selfgait-tiny", "--stage", "pretrain", "--data", str(store), "-n", "1"]
    pre += ["--out", str(tmp_path / "pre"), *[x for kv in small for x in ("--set", kv)]]
    result = CliRunner().invoke(app, pre)  # -n replaces the release's 10,000 iterations
    assert result.exit_code == 0, result.output
    assert (
        yaml.safe_load((tmp_path / "pre" / "config.yaml").read_text())["train"]["iterations"] == 1
    )
    args = ["train", "selfgait-tiny", "--stage", "finetune", "--init", str(tmp_path / "pre")]
    args += ["--data", str(store), "-n", "1", "--out", str(tmp_path / "ft")]
    args += [x for kv in small for x in ("--set", kv)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    config = yaml.safe_load((tmp_path / "ft" / "config.yaml").read_text())
    assert config["optimizer"] == {
        "name": "sgd",
        "lr": 0.03,
        "weight_decay": 0.0004,
        "momentum": 0.9,
    }
    record = json.loads((tmp_path / "ft" / "selfgait.json").read_text())
    assert record["optimizer_state"].startswith("carried from")


def test_initialisation_and_mtb_bias_as_released():
    torch.manual_seed(0)
    model = create("selfgait")
    convs = [m for m in model.encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 6 and all(c.bias is None for c in convs)
    for conv in convs:
        fan_in = conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1]
        fan_out = conv.out_channels * conv.kernel_size[0] * conv.kernel_size[1]
        bound = (6 / (fan_in + fan_out)) ** 0.5
        w = conv.weight.abs()
        # xavier-uniform: U(-bound, bound), so the largest of hundreds of draws nears the bound
        assert w.max() <= bound and w.max() > 0.95 * bound
        assert w.mean().item() == pytest.approx(bound / 2, rel=0.05)
    mtb_convs = [m for m in model.mtb.modules() if isinstance(m, torch.nn.Conv1d)]
    assert len(mtb_convs) == 4 and all(c.bias is not None for c in mtb_convs)
    # 31 parts x (32 + 128 + 32 + 128) biases on the published widths (128 channels, squeeze 4)
    assert sum(c.bias.numel() for c in mtb_convs) == 31 * (32 + 128 + 32 + 128)


def test_frame_flip_draws_each_frame():
    from gaitbench.data.sampling import augment_sequence

    rng = np.random.default_rng(0)
    frames = (rng.random((40, 64, 64)) < 0.3).astype(np.uint8) * 255
    out = augment_sequence(frames, [("frame-flip", 0.5)], np.random.default_rng(1))
    cut = frames[:, :, 10:54]
    flipped = [bool(np.array_equal(o, c[:, ::-1])) for o, c in zip(out, cut)]
    kept = [bool(np.array_equal(o, c)) for o, c in zip(out, cut)]
    assert all(f != k for f, k in zip(flipped, kept))  # each frame: mirrored or untouched
    assert 10 < sum(flipped) < 30  # drawn per frame, not once for the clip
    expected = np.random.default_rng(1).random(40) < 0.5
    assert flipped == expected.tolist()


# -- the collapse monitor ------------------------------------------------------------------------


def test_embedding_spread_is_one_over_sqrt_dim_for_random_directions_and_zero_when_collapsed():
    from gaitbench.models.selfgait import collapse_threshold, embedding_spread

    torch.manual_seed(0)
    random = torch.randn(4000, 3, 64)
    assert embedding_spread(random).item() == pytest.approx(1 / 8, rel=0.02)
    one = torch.randn(1, 3, 64).expand(50, 3, 64) * torch.rand(50, 1, 1)  # one direction per part
    assert embedding_spread(one).item() == pytest.approx(0.0, abs=1e-6)
    assert collapse_threshold(128) == pytest.approx(0.02 / 128**0.5)


def test_collapse_monitor_is_logged_and_warns(tmp_path):
    from types import SimpleNamespace

    store = write_store(tmp_path / "s.h5")
    res = selfsup.pretrain(tiny_recipe(iterations=2), store, tmp_path / "pre")
    assert all(0 < log["embed_std"] < 1 / 32**0.5 for log in res.logs)
    lines = [json.loads(x) for x in (tmp_path / "pre" / "metrics.jsonl").read_text().splitlines()]
    assert [r["embed_std"] for r in lines if "embed_std" in r] == [x["embed_std"] for x in res.logs]
    record = json.loads((tmp_path / "pre" / "selfgait.json").read_text())
    assert record["collapse_threshold"] == pytest.approx(0.02 / 32**0.5)

    hook = selfsup.CollapseHook(0.01, 32, tmp_path / "m.jsonl")
    healthy = {"loss": 1.0, "embed_std": 0.02}
    hook.after_step(SimpleNamespace(iteration=10), healthy)
    assert "collapse_warning" not in healthy and not (tmp_path / "m.jsonl").exists()
    low = {"loss": 0.1, "embed_std": 0.004}
    hook.after_step(SimpleNamespace(iteration=20), low)
    assert low["collapse_warning"].startswith(
        "embedding spread 0.0040 at iteration 20 is below 0.0100"
    )
    event = json.loads((tmp_path / "m.jsonl").read_text())
    assert event["event"] == "collapse" and event["iteration"] == 20
    lower = {"loss": 0.1, "embed_std": 0.001}
    hook.after_step(SimpleNamespace(iteration=30), lower)  # warned once
    assert "collapse_warning" not in lower


def test_training_curves_plot_the_collapse_monitor(tmp_path, monkeypatch):
    from gaitbench.reporting.plots import plot_training_curves

    pre, ft = tmp_path / "pre", tmp_path / "ft"
    for run, rows in ((pre, [(10, 1.2, 0.010), (20, 0.6, 0.004)]), (ft, [(10, 0.3, None)])):
        run.mkdir()
        (run / "metrics.jsonl").write_text(
            "".join(
                json.dumps({"iteration": i, "loss": lo, **({"embed_std": e} if e else {})}) + "\n"
                for i, lo, e in rows
            )
        )
    (pre / "selfgait.json").write_text(
        json.dumps({"stage": "pretrain", "collapse_threshold": 0.005})
    )
    (ft / "selfgait.json").write_text(json.dumps({"stage": "finetune", "init": str(pre)}))
    result = {
        "_path": str(ft / "results-casia-b.json"),
        "model": "selfgait-tiny",
        "protocol": "casia-b",
    }
    import matplotlib.pyplot as plt

    seen = {}
    original = plt.Figure.savefig

    def capture(fig, *args, **kwargs):
        seen["titles"] = [ax.get_title() for ax in fig.axes if ax.get_visible()]
        seen["lines"] = [
            [tuple(line.get_ydata()) for line in ax.get_lines()]
            for ax in fig.axes
            if ax.get_visible()
        ]
        return original(fig, *args, **kwargs)

    monkeypatch.setattr(plt.Figure, "savefig", capture)
    paths = plot_training_curves([result], tmp_path / "out")
    assert [p.suffix for p in paths] == [".png", ".pdf"]
    assert seen["titles"][:2] == ["loss", "embed_std (collapse monitor; dashed: warning threshold)"]
    assert (0.010, 0.004) in seen["lines"][1] and (0.005, 0.005) in seen["lines"][1]


# -- the release's protocol: its split of sequences, fixed 30-frame windows ------------------------

RELEASE_CONDITIONS = ["nm-01", "nm-02", "nm-03", "nm-04", "nm-05", "nm-06", "bg-01", "cl-01"]


def write_release_store(path: Path) -> tuple[Path, list[tuple[str, str, str, int]]]:
    """Subjects 001-006 (005 included), 8 conditions, 2 views; lengths 20..40 frames."""
    rng = np.random.default_rng(5)
    rows = []
    with StoreWriter(path, dataset="casia-b", size=64, source="test") as w:
        for s in range(1, 7):
            for c in RELEASE_CONDITIONS:
                for v in ("090", "000"):  # written out of order: the split sorts
                    n = int(rng.integers(20, 41))
                    w.add(f"{s:03d}", c, v, _frames(rng, s, n))
                    rows.append((f"{s:03d}", c, v, n))
    return path, rows


def test_selfgait_release_split_is_the_releases(tmp_path):
    from gaitbench.data.partitions import release_window, resolve_partition

    path, rows = write_release_store(tmp_path / "s.h5")
    kept = sorted((s, c, v, i) for i, (s, c, v, n) in enumerate(rows) if n >= 30 and s != "005")
    cut = int(len(kept) * 0.8)  # floor
    with Store(path) as store:
        part = resolve_partition(
            "selfgait-release", "casia-b", store.subjects(), None, index=store.index
        )
        seq = part.sequences
        assert seq.train_rows.tolist() == sorted(i for *_, i in kept[:cut])
        assert seq.test_rows.tolist() == sorted(i for *_, i in kept[cut:])
        assert "005" not in part.train + part.test
        boundary = kept[cut][0]
        assert boundary in part.train and boundary in part.test  # the cut splits one subject
        for i in [*seq.train_rows, *seq.test_rows]:
            start, end = seq.windows[int(i)]
            s, c, v, n = rows[int(i)]
            assert end - start == 30 and 0 <= start <= n - 30
            assert (start, end) == release_window(s, c, v, n)  # fixed: a function of the name

        recipe = tiny_recipe()
        recipe.data.partition = "selfgait-release"
        from gaitbench.training.trainer import store_partition, training_split

        train_rows, labels, classes = training_split(store, store_partition(recipe, store))
        assert train_rows.tolist() == seq.train_rows.tolist()
    with pytest.raises(GaitbenchError, match="release's CASIA-B split"):
        resolve_partition("selfgait-release", "oumvlp", ["1"], None, index=object())


def test_train_and_evaluate_on_the_release_protocol(tmp_path):
    from gaitbench.data.partitions import release_window
    from gaitbench.data.sampling import TrainClips
    from gaitbench.evaluation.api import evaluate_target

    path, rows = write_release_store(tmp_path / "s.h5")
    recipe = tiny_recipe(iterations=1, frames=30)
    recipe.data.partition = "selfgait-release"
    selfsup.finetune(recipe, path, tmp_path / "ft")

    ev = evaluate_target(tmp_path / "ft", data=path)  # the run's split picks the protocol
    assert ev.results["protocol"] == "selfgait-release"
    kept = sorted((s, c, v) for s, c, v, n in rows if n >= 30 and s != "005")
    test = kept[int(len(kept) * 0.8) :]
    probes = [k for k in test if k[1] in ("nm-05", "nm-06")]
    assert ev.result.n_probe["NM"] == len(probes)
    with pytest.raises(GaitbenchError, match="drop --partition official"):
        evaluate_target(
            tmp_path / "ft", data=path, protocol="selfgait-release", partition="official"
        )

    # Training clips are the fixed windows: with 30 frames, exactly the window's frames.
    with Store(path) as store:
        row = next(i for i, (s, c, v, n) in enumerate(rows) if n > 35 and s == "001")
        s, c, v, n = rows[row]
        start, end = release_window(s, c, v, n)
        clips = TrainClips(
            path, [row, row], [0, 1], p=2, k=1, frames=30, windows=[(start, end)] * 2, store=store
        )
        sils, _ = clips[0]
        assert torch.equal(sils[0], torch.from_numpy(store.read(row)[start:end, :, 10:54]))


def test_label_efficiency_aggregates_seeds(tmp_path):
    from gaitbench.reporting import label_efficiency as le

    runs = [
        _fake_run(tmp_path, "s1-a", 1.0, False, 60.0, seed=0),
        _fake_run(tmp_path, "s1-b", 1.0, False, 64.0, seed=1),
        _fake_run(tmp_path, "p1-a", 1.0, True, 70.0, seed=0),
        _fake_run(tmp_path, "p1-b", 1.0, True, 71.0, seed=1),
        _fake_run(tmp_path, "p1-c", 1.0, True, 75.0, seed=2),
    ]
    data = le.collect(runs)
    scratch, pre = data["cells"]
    assert (scratch["n"], scratch["seeds"], pre["n"]) == (2, [0, 1], 3)
    assert scratch["rank1"]["NM"] == 62.0
    assert scratch["rank1_std"]["NM"] == pytest.approx(2 * 2**0.5)  # sample std of 60, 64
    assert pre["rank1"]["CL"] == pytest.approx(52.0)
    assert pre["rank1_std"]["CL"] == pytest.approx(7**0.5)  # of 50, 51, 55: variance 7
    text = le.table(data)
    assert "| 1 | 20 of 20 | 2/3 | 62.0 ± 2.8 | 72.0 ± 2.6 | +10.0 |" in text
    assert r"62.0 $\pm$ 2.8" in le.table(data, "latex")
    assert le.plot(data, tmp_path / "out")[0].stat().st_size > 10_000


def test_published_selfgait_rows_sit_beside_their_own_protocol_only(tmp_path):
    import json

    from gaitbench.reporting.report import build_report
    from gaitbench.reporting.tables import load_published, published_protocol

    pub = load_published()
    assert all(p.get("protocol") for p in pub["results"])  # every published row says its protocol
    selfgait = {
        p["dataset"]: published_protocol(p) for p in pub["results"] if p["model"] == "SelfGait"
    }
    assert selfgait == {"casia-b": "selfgait-release", "oumvlp": "selfgait-release-oumvlp"}
    metrics = {c: {"rank1": 50.0} for c in ("NM", "BG", "CL")}
    for protocol in ("casia-b", "selfgait-release"):
        (tmp_path / f"{protocol}.json").write_text(
            json.dumps(
                {
                    "schema": "gaitbench-results/2", "run": f"sg-{protocol}", "protocol": protocol,
                    "model": "selfgait-tiny", "dataset": "casia-b", "metric": "euc",
                    "data": {"fingerprint": "sha256:0123456789abcdef", "kind": "real"},
                    "training": None, "per_probe": None, "metrics": metrics,
                }
            )
        )  # fmt: skip
    s = build_report([tmp_path]).summary
    standard = s[s.data.str.startswith("CASIA-B (real data")]
    assert "SelfGait" not in set(standard.model) and "GaitSet" in set(standard.model)
    release = s[s.data.str.startswith("CASIA-B (SelfGait release split) (real data")]
    assert set(release[release.origin == "published"].model) == {"SelfGait"}
    assert release[release.model == "SelfGait"].iloc[0]["NM"] == 93.5


def test_pretraining_log_is_found_in_a_copied_tree_of_runs(tmp_path):
    from gaitbench.reporting.plots import _pretraining_log

    pre, ft = tmp_path / "out" / "runs" / "pretrain" / "s0", tmp_path / "out" / "runs" / "ft" / "s0"
    for run in (pre, ft):
        run.mkdir(parents=True)
        (run / "metrics.jsonl").write_text('{"iteration": 1, "loss": 1.0}\n')
    # recorded relative to the work folder the runs were trained in, not to this copy
    (ft / "selfgait.json").write_text(json.dumps({"stage": "finetune", "init": "runs/pretrain/s0"}))
    assert _pretraining_log(ft / "metrics.jsonl") == pre / "metrics.jsonl"
    (ft / "selfgait.json").write_text(json.dumps({"stage": "finetune", "init": None}))
    assert _pretraining_log(ft / "metrics.jsonl") is None
