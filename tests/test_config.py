"""Recipes: every published YAML loads and validates; strict keys; --set overrides."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from gaitbench.errors import GaitbenchError
from gaitbench.models import get_entry
from gaitbench.training.config import (
    apply_overrides,
    find_recipe,
    list_recipes,
    load_recipe,
    recipe_from_dict,
    save_recipe,
)

EXPECTED = {
    "hstl_casia-b", "hstl_oumvlp", "hstl_gait3d", "hstl_grew",
    "gaitset_casia-b", "gaitset_oumvlp", "gaitpart_casia-b", "gaitpart_oumvlp",
    "gaitgl_casia-b", "gaitgl_oumvlp", "gaitgl_grew",
    "gaitbase_casia-b", "gaitbase_oumvlp", "gaitbase_grew", "gaitbase_gait3d",
    "deepgaitv2_casia-b", "deepgaitv2_oumvlp", "deepgaitv2_grew", "deepgaitv2_gait3d",
    "deepgaitv2_ccpg", "deepgaitv2_sustech1k",
}  # fmt: skip


def test_every_published_recipe_is_shipped():
    assert {p.stem for p in list_recipes()} >= EXPECTED


@pytest.mark.parametrize("path", list_recipes(), ids=lambda p: p.stem)
def test_recipe_loads_validates_and_names_its_source(path: Path):
    recipe = load_recipe(path)
    model, dataset = path.stem.split("_")
    assert recipe.model.name == model and recipe.dataset == dataset
    assert "Source:" in path.read_text().splitlines()[1] and recipe.source
    # The triplet loss needs K >= 2 positives per identity in every published setting.
    assert recipe.data.seqs_per_id >= 2 and recipe.loss.triplet_margin == 0.2
    assert recipe.scheduler.milestones[-1] < recipe.train.iterations


ABSOLUTE_PATH = re.compile(r"""(?:^|[\s'"(=])(?:/\w|~/|[A-Za-z]:\\)""")
RELEASE_AT_COMMIT = re.compile(r"\(github [\w-]+/[\w-]+ @[0-9a-f]{7}\)")


@pytest.mark.parametrize("path", list_recipes(), ids=lambda p: p.stem)
def test_recipe_cites_public_sources_only(path: Path):
    # The release at its commit (and the paper); never a path of the machine it was written on.
    text = path.read_text()
    assert RELEASE_AT_COMMIT.search(text.splitlines()[1]), text.splitlines()[1]
    assert RELEASE_AT_COMMIT.search(load_recipe(path).source)
    bad = [line for line in text.splitlines() if ABSOLUTE_PATH.search(line)]
    assert not bad, bad


def test_hstl_casia_b_is_the_published_setting():
    r = load_recipe(find_recipe("hstl", "casia-b"))
    assert (r.optimizer.name, r.optimizer.lr, r.optimizer.weight_decay) == ("adam", 1e-4, 5e-4)
    assert (r.train.iterations, r.scheduler.milestones, r.scheduler.gamma) == (90000, [70000], 0.1)
    assert (r.data.ids_per_batch, r.data.seqs_per_id, r.data.frames) == (8, 8, 30)
    assert r.data.sample_type == "fixed_ordered" and r.train.amp
    assert (r.loss.triplet_weight, r.loss.ce_weight, r.model.num_classes) == (1.0, 1.0, 74)


@pytest.mark.parametrize(
    "dataset, pk, frames, iterations, milestones",
    [
        ("casia-b", (8, 16), 30, 60000, [20000, 40000, 50000]),
        ("oumvlp", (32, 8), 30, 120000, [60000, 80000, 100000]),
        ("grew", (32, 4), 30, 180000, [80000, 120000, 150000]),
        ("gait3d", (32, 4), 30, 60000, [20000, 40000, 50000]),
        ("ccpg", (8, 16), 30, 60000, [20000, 40000, 50000]),
        ("sustech1k", (8, 8), 10, 50000, [20000, 30000, 40000]),
    ],
)
def test_deepgaitv2_recipes_are_the_released_configs(dataset, pk, frames, iterations, milestones):
    r = load_recipe(find_recipe("deepgaitv2", dataset))
    assert (r.data.ids_per_batch, r.data.seqs_per_id) == pk
    assert (r.data.sample_type, r.data.frames, r.data.frames_skip) == ("fixed_ordered", frames, 4)
    assert [(a.name, a.p) for a in r.data.augment] == [
        ("perspective", 0.2), ("flip", 0.2), ("rotate", 0.2)
    ]  # fmt: skip
    assert (r.train.iterations, r.scheduler.milestones) == (iterations, milestones)
    assert (r.optimizer.name, r.optimizer.lr, r.optimizer.weight_decay) == ("sgd", 0.1, 5e-4)
    assert (r.loss.ce_weight, r.loss.ce_scale, r.loss.label_smoothing) == (1.0, 16.0, 0.1)
    assert (r.train.amp, r.train.amp_dtype, r.train.sync_bn) == (True, "fp16", True)
    assert r.model.num_classes == get_entry("deepgaitv2").arguments(dataset)["num_classes"]
    assert find_recipe("deepgaitv2-tiny", dataset) == find_recipe("deepgaitv2", dataset)


def test_gaitset_uses_unordered_sets_and_gaitgl_80k():
    assert load_recipe(find_recipe("gaitset", "casia-b")).data.sample_type == "fixed_unordered"
    gl = load_recipe(find_recipe("gaitgl", "casia-b"))
    assert gl.train.iterations == 80000 and gl.loss.ce_weight == 1.0
    base = load_recipe(find_recipe("gaitbase", "grew"))
    assert (base.data.frames_min, base.data.frames_max) == (20, 40)
    assert [a.name for a in base.data.augment] == ["perspective", "flip", "rotate"]


def test_unknown_key_names_it(tmp_path):
    data = load_recipe(find_recipe("hstl", "casia-b")).to_dict()
    data["optimizer"]["learning_rate"] = 0.1
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(GaitbenchError, match="optimizer.learning_rate"):
        load_recipe(path)
    with pytest.raises(GaitbenchError, match="'trainer'"):
        recipe_from_dict({"trainer": {}})


def test_wrong_types_and_values_are_errors():
    with pytest.raises(GaitbenchError, match="train.iterations: expected an integer"):
        recipe_from_dict({"train": {"iterations": "many"}})
    with pytest.raises(GaitbenchError, match="data.sample_type"):
        recipe_from_dict({"data": {"sample_type": "random"}})
    with pytest.raises(GaitbenchError, match="ids_per_batch"):
        recipe_from_dict({"data": {"ids_per_batch": 1}})
    with pytest.raises(GaitbenchError, match="augment\\[0\\].name"):
        recipe_from_dict({"data": {"augment": [{"name": "blur", "p": 0.1}]}})


def test_set_overrides():
    r = load_recipe(
        find_recipe("hstl", "casia-b"), ["optimizer.lr=3e-4", "scheduler.milestones=[10, 20]"]
    )
    assert r.optimizer.lr == 3e-4 and r.scheduler.milestones == [10, 20]
    r = apply_overrides(
        r, ["train.amp=false", "model.args.channels=[8, 16]", "model.num_classes=null"]
    )
    assert (
        r.train.amp is False
        and r.model.args == {"channels": [8, 16]}
        and r.model.num_classes is None
    )
    with pytest.raises(GaitbenchError, match="optimizer.betas"):
        apply_overrides(r, ["optimizer.betas=0.9"])
    with pytest.raises(GaitbenchError, match="'optimiser'"):
        apply_overrides(r, ["optimiser.lr=1"])
    with pytest.raises(GaitbenchError, match="section.key=value"):
        apply_overrides(r, ["optimizer.lr"])


def test_resolved_recipe_round_trips(tmp_path):
    r = load_recipe(find_recipe("gaitbase", "casia-b"), ["train.iterations=7"])
    save_recipe(r, tmp_path / "config.yaml")
    assert load_recipe(tmp_path / "config.yaml") == r


def test_recipes_are_found_relative_to_the_package(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert find_recipe("gaitset-tiny", "casia-b").name == "gaitset_casia-b.yaml"
    with pytest.raises(GaitbenchError, match="no published recipe for selfgait on grew"):
        find_recipe("selfgait", "grew")
