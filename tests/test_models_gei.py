"""The non-learned floor: the gait energy image, its registration, and `evaluate --model gei`
with no checkpoint (`train gei` refused)."""

import json

import h5py
import numpy as np
import pytest
import torch
from _eval_helpers import make_store
from typer.testing import CliRunner

from gaitbench.cli import app
from gaitbench.data.sampling import cut_and_scale
from gaitbench.data.store import Store
from gaitbench.models import create, get_entry
from gaitbench.reporting.complexity import complexity, model_table

runner = CliRunner()


def test_gei_is_the_mean_frame_in_parts():
    sils = torch.zeros(1, 2, 64, 44)
    sils[0, 0, :32] = 1.0  # top half lit in frame 0 only
    sils[0, 1, :, :4] = 1.0  # four left columns lit in frame 1 only
    out = create("gei").eval()(sils)
    assert out.logits is None and out.embeddings.shape == (1, 1, 64 * 44)
    gei = out.embeddings.reshape(64, 44)
    assert gei[0, 0] == 1.0  # lit in both frames
    assert gei[0, 10] == 0.5 and gei[40, 0] == 0.5 and gei[40, 10] == 0.0

    four = create("gei", parts=4).eval()(sils).embeddings
    assert four.shape == (1, 4, 16 * 44)
    torch.testing.assert_close(four.reshape(64, 44), gei, rtol=0, atol=0)


def test_gei_rejects_parts_that_do_not_divide_the_height():
    with pytest.raises(ValueError, match="parts must divide 64"):
        create("gei", parts=5)


def test_gei_ignores_padding_frames():
    sils = torch.rand(2, 5, 64, 44)
    padded = sils.clone()
    padded[1, 3:] = 1.0
    model = create("gei").eval()
    batch = model(padded, seq_lens=torch.tensor([5, 3])).embeddings
    torch.testing.assert_close(batch[1], model(sils[1:, :3]).embeddings[0], rtol=0, atol=1e-6)
    torch.testing.assert_close(batch[0], model(sils[:1]).embeddings[0], rtol=0, atol=1e-6)


def test_gei_is_registered_without_parameters():
    assert not get_entry("gei").published
    row = next(r for r in model_table() if r["model"] == "gei")
    assert row["params"] == 0 and row["datasets"] == ["*"]
    c = complexity("gei")
    assert c["params"] == 0 and c["flops"] == 0  # a mean: no conv, matmul or normalisation


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("gei") / "casia-b-64.h5")


def test_evaluate_gei_without_checkpoint(store, tmp_path):
    out = tmp_path / "gei"
    res = runner.invoke(
        app, ["evaluate", "--model", "gei", "--data", str(store), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    results = json.loads((out / "results-casia-b.json").read_text())
    assert results["model"] == "gei" and results["params"] == 0
    assert results["checkpoint"] is None and results["iteration"] is None
    assert results["training"] is None  # schema 2: null = evaluated without any training
    assert results["run"] == "gei" and results["data"]["file"] == store.name
    # Every test subject is a bar at its own place: the energy images identify them all.
    for cond in ("NM", "BG", "CL"):
        assert results["metrics"][cond]["rank1"] == 100.0
    with h5py.File(out / "embeddings-casia-b.h5") as f:
        emb = f["embeddings"][:]
        subject, condition, view = (f[k][0].decode() for k in ("subject", "condition", "view"))
    with Store(store) as s:
        row = s.index.query("subject == @subject and condition == @condition and view == @view")
        frames = s.read(int(row.index[0]))
    np.testing.assert_allclose(emb[0, 0], cut_and_scale(frames).mean(0).ravel(), atol=1e-6)


def test_evaluate_model_with_parameters_needs_a_checkpoint(store):
    res = runner.invoke(app, ["evaluate", "--model", "gaitset-tiny", "--data", str(store)])
    assert res.exit_code != 0
    assert "has trainable parameters" in res.output and "Traceback" not in res.output


def test_evaluate_gei_needs_a_store():
    res = runner.invoke(app, ["evaluate", "--model", "gei"])
    assert res.exit_code != 0 and "pass --data STORE" in res.output


def test_train_gei_is_refused(store, tmp_path):
    res = runner.invoke(app, ["train", "gei", "--data", str(store), "--out", str(tmp_path / "r")])
    assert res.exit_code != 0
    assert "no trainable parameters" in res.output and "evaluate --model gei" in res.output
    assert not (tmp_path / "r").exists()


def test_report_shows_gei_with_zero_params(store, tmp_path):
    from gaitbench.reporting.report import build_report

    out = tmp_path / "gei"
    res = runner.invoke(
        app, ["evaluate", "--model", "gei", "--data", str(store), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    summary = build_report([str(out / "results-casia-b.json")], published=False).summary
    row = summary[summary.model == "gei"].iloc[0]
    assert row["params (M)"] == 0.0 and row["GFLOPs"] == 0.0


def test_shuffle_frames_permutes_each_sequence_and_is_recorded(store, tmp_path):
    """``--shuffle-frames SEED``: each test sequence's frames in the order
    `shuffled_order(T, row, SEED)`; an order-free model (the GEI, a mean) gives the same
    embeddings, an order-sensitive one does not; the files get a -shuffled suffix and the
    results say so; with --embeddings the option is refused."""
    import torch

    from gaitbench.evaluation.extract import extract_embeddings, shuffled_order

    order = shuffled_order(10, 3, 7)
    assert sorted(order) == list(range(10)) and not np.array_equal(order, np.arange(10))
    assert np.array_equal(order, np.random.default_rng([7, 3]).permutation(10))
    assert not np.array_equal(order, shuffled_order(10, 4, 7))

    class Weighted(torch.nn.Module):
        """Frame t weighted by t + 1: order matters."""

        def forward(self, sils):
            w = torch.arange(1, sils.shape[1] + 1, dtype=sils.dtype).view(1, -1, 1, 1)
            emb = (sils * w).sum(1).flatten(1)[:, None]

            class Out:
                embeddings = emb

            return Out()

    with Store(store) as s:
        rows = [0, 5]
        plain = extract_embeddings(Weighted(), s, rows)
        mixed = extract_embeddings(Weighted(), s, rows, shuffle_seed=7)
        assert not np.allclose(plain.embeddings, mixed.embeddings)
        frames = s.read(5)
        by_hand = Weighted()(
            torch.from_numpy(cut_and_scale(frames[shuffled_order(len(frames), 5, 7)][None]))
        )
        np.testing.assert_allclose(mixed.embeddings[1], by_hand.embeddings[0].numpy(), rtol=1e-5)
        # GaitSet pools its frames as a set (max): no order to lose.
        gaitset = create("gaitset-tiny", num_classes=2)
        np.testing.assert_allclose(
            extract_embeddings(gaitset, s, rows).embeddings,
            extract_embeddings(gaitset, s, rows, shuffle_seed=7).embeddings,
            atol=1e-6,
        )

    out = tmp_path / "gei"
    args = ["evaluate", "--model", "gei", "--data", str(store), "--out", str(out)]
    assert runner.invoke(app, args).exit_code == 0
    res = runner.invoke(app, [*args, "--shuffle-frames", "7"])
    assert res.exit_code == 0, res.output
    assert "random order (seed 7)" in res.output
    shuffled = json.loads((out / "results-casia-b-shuffled.json").read_text())
    assert shuffled["frame_order"] == {"shuffled": True, "seed": 7}
    assert "frame_order" not in json.loads((out / "results-casia-b.json").read_text())
    both = runner.invoke(
        app,
        ["compare", str(out / "results-casia-b.json"), str(out / "results-casia-b-shuffled.json")],
    )
    assert both.exit_code == 0, both.output
    assert "B gei (frames shuffled, seed 7)" in both.output
    with (
        h5py.File(out / "embeddings-casia-b.h5") as a,
        h5py.File(out / "embeddings-casia-b-shuffled.h5") as b,
    ):
        np.testing.assert_allclose(a["embeddings"][:], b["embeddings"][:], atol=1e-6)
    bad = runner.invoke(
        app,
        ["evaluate", "--embeddings", str(out / "embeddings-casia-b.h5"), "--shuffle-frames", "1"],
    )
    assert bad.exit_code != 0 and "--shuffle-frames has no effect" in bad.output
    neg = runner.invoke(app, [*args, "--shuffle-frames", "-1"])
    assert neg.exit_code != 0 and "seed of 0 or more" in neg.output
    csv = tmp_path / "grew.csv"
    sub = runner.invoke(app, [*args, "--shuffle-frames", "1", "--submission", str(csv)])
    assert sub.exit_code != 0 and "not a submission" in sub.output
    assert "Traceback" not in sub.output and not csv.exists()
