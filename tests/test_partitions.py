"""Official, ratio and file partitions, and the errors for splits that don't fit a store."""

from __future__ import annotations

import json

import pytest

from gaitbench.data.partitions import Partition, official_partition, resolve_partition
from gaitbench.errors import GaitbenchError

CASIA = [f"{i:03d}" for i in range(1, 125)]


def test_casia_b_official():
    p = resolve_partition("official", "casia-b", CASIA)
    assert len(p.train) == 74 and len(p.test) == 50
    assert p.train[0] == "001" and p.train[-1] == "074" and "005" in p.train
    assert p.test[0] == "075" and p.test[-1] == "124"
    assert p.probe is None


def test_casia_b_official_keeps_present_subjects_only():
    present = [s for s in CASIA if s != "005"]
    p = resolve_partition("official", "casia-b", present)
    assert len(p.train) == 73 and "005" not in p.train


def test_oumvlp_odd_even():
    subjects = [f"{i:05d}" for i in range(1, 10308)]
    p = resolve_partition("official", "oumvlp", subjects)
    assert len(p.train) == 5154 and len(p.test) == 5153  # 10,307 ids: odd ids are one more
    assert p.train[:2] == ["00001", "00003"] and p.test[:2] == ["00002", "00004"]
    with pytest.raises(GaitbenchError, match="not a number"):
        resolve_partition("official", "oumvlp", ["00001", "x7"])


def test_grew_rule():
    subjects = ["00001train", "00002train", "00001", "00002", "probe"]
    p = resolve_partition("official", "grew", subjects)
    assert p.train == ["00001train", "00002train"]
    assert p.test == ["00001", "00002", "probe"]


def test_gait3d_official_lists():
    p = official_partition("gait3d", [])
    assert len(p.train) == 3000 and len(p.test) == 1000 and len(p.probe) == 1000
    assert not set(p.train) & set(p.test)
    assert set(p.train) | set(p.test) == {f"{i:04d}" for i in range(4000)}
    # one probe sequence per test subject, named subject-condition-view
    assert sorted(x.split("-")[0] for x in p.probe) == sorted(p.test)
    assert p.probe[0] == "0002-camid33_videoid2-seq0"
    subjects = ["0002", "0007", "1234"]
    q = resolve_partition("official", "gait3d", subjects)
    assert q.train == ["1234"] and q.test == ["0002", "0007"]
    assert q.probe == ["0002-camid33_videoid2-seq0", "0007-camid9_videoid1-seq0"]


def test_store_partition_wins_for_official():
    stored = {"train": ["a", "b"], "test": ["c"]}
    p = resolve_partition("official", "casia-b", ["a", "b", "c"], store_partition=stored)
    assert (p.train, p.test) == (["a", "b"], ["c"])


def test_ratio():
    subjects = [f"s{i:02d}" for i in range(10)][::-1]
    p = resolve_partition("ratio:0.6", "casia-b", subjects)
    assert p.train == [f"s{i:02d}" for i in range(6)]
    assert p.test == [f"s{i:02d}" for i in range(6, 10)]
    for bad in ("ratio:1.5", "ratio:0", "ratio:abc"):
        with pytest.raises(GaitbenchError, match="ratio"):
            resolve_partition(bad, "casia-b", subjects)
    with pytest.raises(GaitbenchError, match="empty"):
        resolve_partition("ratio:0.3", "casia-b", ["a", "b"])


def test_json_file(tmp_path):
    path = tmp_path / "split.json"
    path.write_text(json.dumps({"train": ["1", "2"], "test": [3]}))
    p = resolve_partition(str(path), "casia-b", ["1", "2", "3"])
    assert p == Partition(["1", "2"], ["3"])
    path.write_text("{not json")
    with pytest.raises(GaitbenchError, match="not valid JSON"):
        resolve_partition(str(path), "casia-b", ["1"])
    path.write_text(json.dumps({"train": ["1"], "tset": ["2"]}))
    with pytest.raises(GaitbenchError, match='"train" and "test"'):
        resolve_partition(str(path), "casia-b", ["1"])
    with pytest.raises(GaitbenchError, match="not found"):
        resolve_partition(str(tmp_path / "missing.json"), "casia-b", ["1"])


def test_splits_that_do_not_fit_are_refused():
    synthetic = [f"{i:03d}" for i in range(1, 21)]  # all inside CASIA-B's training range
    with pytest.raises(GaitbenchError, match="test set empty"):
        resolve_partition("official", "casia-b", synthetic)
    with pytest.raises(GaitbenchError, match="neither train nor test"):
        resolve_partition("official", "casia-b", CASIA + ["125"])
    with pytest.raises(GaitbenchError, match="both train and test"):
        resolve_partition("official", "x", ["a"], store_partition={"train": ["a"], "test": ["a"]})
    with pytest.raises(GaitbenchError, match="unknown partition"):
        resolve_partition("offical", "casia-b", CASIA)
    with pytest.raises(GaitbenchError, match="no official partition"):
        resolve_partition("official", "mystery", ["a", "b"])
