"""Prep of an OpenGait pkl tree with the damage real trees have, on generated arrays: a truncated
sequence file is skipped and counted, a pickle naming foreign code still stops prep, and the gaps
of the subject x condition x view grid are counted and named."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from gaitbench.data.prep import prep
from gaitbench.errors import GaitbenchError


def _tree(root: Path, subjects=("001", "002"), conds=("nm-01", "nm-02"), views=("000", "090")):
    rng = np.random.default_rng(0)
    for s in subjects:
        for c in conds:
            for v in views:
                path = root / s / c / v / f"{v}.pkl"
                path.parent.mkdir(parents=True)
                frames = (rng.random((6, 64, 64)) > 0.5).astype(np.uint8) * 255
                path.write_bytes(pickle.dumps(frames))
    return root


def test_damaged_pkl_is_skipped_and_counted_and_grid_gaps_named(tmp_path):
    raw = _tree(tmp_path / "raw")
    damaged = raw / "002" / "nm-02" / "090" / "090.pkl"
    damaged.write_bytes(damaged.read_bytes()[:50])
    (raw / "001" / "nm-01" / "000" / "000.pkl").unlink()
    (raw / "001" / "nm-01" / "000").rmdir()
    summary = prep("casia-b", raw, tmp_path / "s.h5", layout="opengait", workers=1)
    assert summary.sequences == 6 and summary.damaged_files == 1
    assert summary.examples["damaged"] == ["002/nm-02/090"]
    assert (summary.grid_cells, summary.absent_sequences) == (8, 2)
    assert summary.incomplete_subjects == ["001", "002"]


def test_complete_grid_has_no_gaps(tmp_path):
    summary = prep("casia-b", _tree(tmp_path / "raw"), tmp_path / "s.h5", layout="opengait")
    assert (summary.grid_cells, summary.absent_sequences, summary.incomplete_subjects) == (8, 0, [])
    assert summary.damaged_files == 0


class _Evil:
    def __reduce__(self):
        return (os.getcwd, ())


def test_refused_pickle_still_stops_prep(tmp_path):
    raw = _tree(tmp_path / "raw")
    (raw / "002" / "nm-02" / "090" / "090.pkl").write_bytes(pickle.dumps(_Evil()))
    with pytest.raises(GaitbenchError, match="refused and not executed"):
        prep("casia-b", raw, tmp_path / "s.h5", layout="opengait", workers=1)
    assert not (tmp_path / "s.h5").exists()


def test_training_notes_count_short_sequences_and_small_identities(tmp_path):
    from _eval_helpers import make_store

    from gaitbench.training.config import find_recipe, load_recipe
    from gaitbench.training.trainer import training_notes

    store = make_store(tmp_path / "casia-b-64.h5")  # 2 training subjects x 16 sequences, 3-7 frames
    recipe = load_recipe(find_recipe("gaitset-tiny", "casia-b"), ["data.seqs_per_id=17"])
    assert training_notes(recipe, store) == [
        "training split: 32 of 32 sequences shorter than the 30-frame clip (frames repeated)",
        "training split: 2 identities with fewer than 17 sequences (data.seqs_per_id; drawn "
        "with replacement)",
    ]
    recipe = load_recipe(find_recipe("gaitset-tiny", "casia-b"), ["data.frames=3"])
    assert training_notes(recipe, store) == []  # every sequence has 3 frames or more
