"""DeepGaitV2: the dataset variants, the pseudo-3D block's three-frame window, and sequences that
are never mixed: a batch of sequences (equal-length, padded, or through the evaluation's
extraction) gives each sequence the embedding it gets alone, while packing two along the frame
axis, as OpenGait's test loop does, would not.

Fidelity to the published checkpoint is in test_models_fidelity.py, the state dicts against
reference/deepgaitv2_*.tsv in test_models_contract.py, params and FLOPs in test_complexity.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _eval_helpers import make_store
from _model_helpers import tiny_sils

from gaitbench.data.store import Store
from gaitbench.evaluation.extract import extract_embeddings, length_buckets
from gaitbench.models import create, get_entry
from gaitbench.models.deepgaitv2 import BasicBlockP3D

pytestmark = pytest.mark.usefixtures("one_thread")


def deep_tiny() -> torch.nn.Module:
    """The tiny variant with 1-2-2-1 blocks, so P3D blocks without a shortcut projection run too."""
    torch.manual_seed(0)
    model = create("deepgaitv2-tiny", layers=(1, 2, 2, 1), num_classes=4).eval()
    with torch.no_grad():  # non-default BN statistics, so the test is not of a near-identity net
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    return model


def test_published_variants():
    entry = get_entry("deepgaitv2")
    assert entry.published
    expected = {
        "casia-b": ((1, 1, 1, 1), 74),
        "oumvlp": ((1, 1, 1, 1), 5153),
        "ccpg": ((1, 1, 1, 1), 100),
        "sustech1k": ((1, 1, 1, 1), 250),
        "grew": ((1, 4, 4, 1), 20000),
        "gait3d": ((1, 4, 4, 1), 3000),
    }
    assert {d: (a["layers"], a["num_classes"]) for d, a in entry.variants.items()} == expected
    with torch.device("meta"):
        model = create("deepgaitv2", dataset="gait3d")
    assert [len(getattr(model, f"layer{k}")) for k in (2, 3, 4)] == [4, 4, 1]
    assert model.bnnecks.fc_bin.shape == (16, 256, 3000)


def test_embedding_is_the_fc_output_before_the_bnneck():
    model = create("deepgaitv2-tiny").eval()
    with torch.no_grad():
        out = model(tiny_sils(2, 5))
        bn, logits = model.bnnecks(out.embeddings)
    assert out.embeddings.shape == (2, 16, 32) and out.logits.shape == (2, 16, 10)
    torch.testing.assert_close(out.logits, logits, rtol=0, atol=0)
    assert (bn - out.embeddings).abs().max() > 1e-3


def test_p3d_block_sees_one_frame_either_side():
    torch.manual_seed(0)
    block = BasicBlockP3D(4, 8, stride=2).eval()
    x = torch.rand(1, 4, 7, 8, 6)
    y = x.clone()
    y[:, :, 3] += 1.0
    with torch.no_grad():
        changed = (block(x) - block(y)).abs().amax(dim=(0, 1, 3, 4))
    assert block(x).shape == (1, 8, 7, 4, 3)
    assert [t for t in range(7) if changed[t] > 0] == [2, 3, 4]  # zero-padded 3-frame window


def test_two_sequences_together_give_their_embeddings_alone():
    model = deep_tiny()
    sils = tiny_sils(2, 9, seed=3)
    with torch.no_grad():
        alone = [model(sils[i : i + 1]).embeddings for i in range(2)]
        together = model(sils).embeddings
        # padded: the second sequence is 5 frames, padded to 9 with foreground
        padded = sils.clone()
        padded[1, 5:] = 1
        short = model(sils[1:, :5]).embeddings
        masked = model(padded, seq_lens=torch.tensor([9, 5])).embeddings
        # what OpenGait's packed test batch computes: both sequences one after the other on the
        # frame axis, pooled separately. The temporal convolutions mix them at the seam.
        packed = sils.reshape(1, 18, 64, 44)
        x = packed.unsqueeze(1)
        for k in range(5):
            x = getattr(model, f"layer{k}")(x)
        first = model.fcs(model.hpp(x[:, :, :9].amax(2)))
    torch.testing.assert_close(together, torch.cat(alone), rtol=0, atol=1e-5)
    torch.testing.assert_close(masked[:1], alone[0], rtol=0, atol=1e-5)
    torch.testing.assert_close(masked[1:], short, rtol=0, atol=1e-5)
    assert (first - alone[0]).abs().max() > 1e-4  # packing would have changed the embedding


def test_extraction_batches_sequences_without_mixing_them(tmp_path):
    store = Store(make_store(tmp_path / "s.h5"))
    model = deep_tiny()
    lengths = store.index["length"].to_numpy()
    assert max(len(b) for b in length_buckets(lengths, batch_size=8)) > 1  # real batches
    batched = extract_embeddings(model, store, batch_size=8).embeddings
    one_by_one = extract_embeddings(model, store, batch_size=1).embeddings
    assert batched.shape == (len(store), 16, 32)
    np.testing.assert_allclose(batched, one_by_one, rtol=0, atol=1e-5)
