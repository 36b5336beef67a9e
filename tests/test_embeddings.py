import h5py
import numpy as np
import pytest
import torch
from _eval_helpers import make_store

from gaitbench.errors import GaitbenchError
from gaitbench.evaluation.embeddings import EmbeddingSet, load_embeddings, save_embeddings
from gaitbench.evaluation.extract import extract_embeddings, length_buckets

torch.set_num_threads(1)


def test_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    es = EmbeddingSet(
        rng.normal(size=(4, 3, 2)),
        ["a", "b", "c", "d"],
        ["nm-01"] * 4,
        ["000", "018", "036", "054"],
        role=["probe", "gallery", "gallery", "probe"],
        attrs={"model": "hstl", "dataset": "casia-b", "checkpoint": "x.pt"},
    )
    path = save_embeddings(tmp_path / "e.h5", es)
    with h5py.File(path) as f:
        assert f.attrs["format"] == "gaitbench-embeddings" and f.attrs["version"] == 1
        assert f["embeddings"].dtype == np.float32 and f["subject"].asstr()[0] == "a"
    back = load_embeddings(path)
    np.testing.assert_array_equal(back.embeddings, es.embeddings)
    assert list(back.view) == list(es.view) and list(back.role) == list(es.role)
    assert back.attrs["model"] == "hstl" and back.dataset == "casia-b"
    assert not list(tmp_path.glob(".*.tmp"))


def test_bad_files_are_user_errors(tmp_path):
    with pytest.raises(GaitbenchError, match="not found"):
        load_embeddings(tmp_path / "missing.h5")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.attrs["format"] = "something-else"
    with pytest.raises(GaitbenchError, match="not a gaitbench embeddings file"):
        load_embeddings(tmp_path / "other.h5")
    with pytest.raises(GaitbenchError, match="rows"):
        EmbeddingSet(np.zeros((2, 1, 1)), ["a"], ["x", "y"], ["v", "w"])
    with pytest.raises(GaitbenchError, match="probe/gallery"):
        EmbeddingSet(np.zeros((1, 1, 1)), ["a"], ["x"], ["v"], role=["query"])


def test_length_buckets():
    batches = length_buckets([5, 3, 5, 5, 3, 9], batch_size=2, max_frames=100)
    assert sorted(map(sorted, batches)) == [[0, 2], [1, 4], [3], [5]]
    # max_frames caps the batch: two 9-frame sequences do not fit in 10 frames
    assert length_buckets([9, 9], batch_size=8, max_frames=10) == [[0], [1]]


def test_bucketed_extraction_equals_one_at_a_time(tmp_path):
    from gaitbench.data.store import Store
    from gaitbench.models import create

    store = Store(make_store(tmp_path / "s.h5"))
    assert store.index["length"].nunique() > 1  # lengths differ: bucketing is exercised
    torch.manual_seed(0)
    model = create("gaitset-tiny", num_classes=2)
    idx = list(range(0, len(store), 3))
    seen = []
    batched = extract_embeddings(model, store, idx, batch_size=8, progress=seen.append)
    single = extract_embeddings(model, store, idx, batch_size=1)
    assert sum(seen) == len(idx) and max(seen) > 1
    assert batched.embeddings.shape[0] == len(idx) and batched.embeddings.ndim == 3
    np.testing.assert_allclose(batched.embeddings, single.embeddings, rtol=1e-4, atol=1e-5)
    assert list(batched.subject) == list(store.index["subject"].iloc[idx])
    model.train()
    extract_embeddings(model, store, idx[:2])
    assert model.training
