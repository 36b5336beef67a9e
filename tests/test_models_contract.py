"""The model contract over every registered model: the registry, forward / backward of the
tiny variants, variable-length batches, checkpoint rebuild, and, for every published variant
with a reference listing, the state dict against reference/<model>_<dataset>.tsv through the
name table plus the parameter count against summary.json (built on the meta device: instant)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from gaitbench.errors import GaitbenchError
from gaitbench.models import (
    ModelOutput,
    build_from_checkpoint,
    create,
    get_entry,
    list_models,
    register,
)
from gaitbench.models.published import name_table, reference_name

torch.set_num_threads(1)
REFERENCE = Path(__file__).parent / "fixtures" / "reference"
SUMMARY = json.loads((REFERENCE / "summary.json").read_text())
TINY = list_models("*-tiny")
# Models without trainable parameters (the GEI floor): no backward, no classifier, but the same
# padding and checkpoint contract.
PARAMETER_FREE = ["gei"]
PUBLISHED_VARIANTS = sorted(p.stem for p in REFERENCE.glob("*.tsv"))


@pytest.mark.parametrize("name", PARAMETER_FREE)
def test_parameter_free_models_have_none(name):
    model = create(name)
    assert list(model.parameters()) == [] and model(torch.rand(2, 3, 64, 44)).logits is None


def test_every_published_model_has_a_tiny_variant():
    published = [n for n in list_models() if get_entry(n).published]
    assert {"hstl", "gaitgl"} <= set(published)
    for name in published:
        assert f"{name}-tiny" in TINY


def test_unknown_model_lists_what_exists():
    with pytest.raises(GaitbenchError, match="unknown model 'hstll'.*hstl, hstl-tiny"):
        create("hstll")


def test_duplicate_name_raises_listing_registered():
    with pytest.raises(GaitbenchError, match="registered twice.*gaitgl"):
        register("hstl", variants={"casia-b": {}})(torch.nn.Identity)


def test_unknown_dataset_variant_lists_variants():
    with pytest.raises(GaitbenchError, match="no 'casia-c' variant.*casia-b, gait3d, grew, oumvlp"):
        create("hstl", dataset="casia-c")


def test_list_models_pattern():
    assert list_models("hstl*") == ["hstl", "hstl-tiny"]
    assert list_models("nothing*") == []


@pytest.mark.parametrize("name", TINY)
def test_tiny_forward_backward(name):
    torch.manual_seed(0)
    model = create(name, num_classes=5)
    assert model.gaitbench_name == name
    assert model.gaitbench_args == {"dataset": "casia-b", "num_classes": 5}
    sils = (torch.rand(4, 6, 64, 44) > 0.5).float()
    out = model(sils)
    assert isinstance(out, ModelOutput)
    n, parts, channels = out.embeddings.shape
    assert n == 4 and parts > 0 and channels > 0
    assert torch.isfinite(out.embeddings).all()
    if out.logits is not None:
        assert out.logits.shape == (4, parts, 5)
    loss = out.triplet_features.pow(2).mean()
    if out.logits is not None:
        loss = loss + out.logits.logsumexp(-1).mean()
    loss.backward()
    # A model with parts the supervised forward does not use (SelfGait's BYOL heads and EMA
    # target) says which parameters its forward trains through `backbone_parameters()`.
    trained = {id(p) for p in getattr(model, "backbone_parameters", model.parameters)()}
    no_grad = [
        k
        for k, p in model.named_parameters()
        if id(p) in trained and p.requires_grad and p.grad is None
    ]
    assert not no_grad, f"parameters without gradient: {no_grad[:5]}"
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize("name", TINY + PARAMETER_FREE)
def test_padded_rows_equal_unpadded_sequences(name):
    torch.manual_seed(1)
    model = create(name).eval()
    sils = (torch.rand(2, 7, 64, 44) > 0.5).float()
    lens = torch.tensor([7, 4])
    padded = sils.clone()
    padded[1, 4:] = 1  # all-foreground padding: it would raise any max or mean it reached
    with torch.no_grad():
        batch = model(padded, seq_lens=lens).embeddings
        alone = model(sils[1:, :4]).embeddings
        full = model(sils[:1]).embeddings
        unmasked = model(padded).embeddings
    torch.testing.assert_close(batch[1:], alone, rtol=0, atol=1e-5)
    torch.testing.assert_close(batch[:1], full, rtol=0, atol=1e-5)
    assert (unmasked[1:] - alone).abs().max() > 1e-4  # the padding does matter when not masked


@pytest.mark.parametrize("name", TINY + PARAMETER_FREE)
def test_short_clips_are_repeated_not_rejected(name):
    model = create(name).eval()
    with torch.no_grad():
        for s in (1, 2):
            assert torch.isfinite(model(torch.rand(1, s, 64, 44)).embeddings).all()


@pytest.mark.parametrize("name", TINY + PARAMETER_FREE)
def test_build_from_checkpoint_rebuilds_the_same_model(name):
    torch.manual_seed(2)
    model = create(name, num_classes=None if name in PARAMETER_FREE else 3).eval()
    ckpt = {"model": model.state_dict(), "model_name": name, "model_args": model.gaitbench_args}
    rebuilt = build_from_checkpoint(ckpt).eval()
    sils = torch.rand(1, 5, 64, 44)
    with torch.no_grad():
        assert torch.equal(model(sils).embeddings, rebuilt(sils).embeddings)


def test_build_from_checkpoint_errors():
    with pytest.raises(GaitbenchError, match="no 'model_name'"):
        build_from_checkpoint({"model": {}})
    ckpt = {
        "model": create("gaitgl-tiny").state_dict(),
        "model_name": "hstl-tiny",
        "model_args": {"dataset": "casia-b", "num_classes": None},
    }
    with pytest.raises(GaitbenchError, match="do not fit model 'hstl-tiny'"):
        build_from_checkpoint(ckpt)


def _reference_entries(variant: str) -> list[tuple[str, tuple[int, ...]]]:
    lines = (REFERENCE / f"{variant}.tsv").read_text().splitlines()[1:]
    rows = [line.split("\t") for line in lines]
    return [(k, () if s == "scalar" else tuple(int(v) for v in s.split("x"))) for k, s in rows]


@pytest.mark.parametrize("variant", PUBLISHED_VARIANTS)
def test_state_dict_maps_one_to_one_onto_reference(variant):
    name, dataset = variant.split("_")
    with torch.device("meta"):
        model = create(name, dataset=dataset)
    table = name_table(name)
    ours = [(reference_name(k, table), tuple(v.shape)) for k, v in model.state_dict().items()]
    ref = _reference_entries(variant)
    assert ours == ref  # the same entries in the same order as the reference's state dict
    assert len(ours) == SUMMARY[variant]["state_dict_entries"]
    assert sum(p.numel() for p in model.parameters()) == SUMMARY[variant]["params"]
