"""Evaluation entry points: a model on a store (training's periodic hook), and a run folder or a
checkpoint end to end (``gaitbench evaluate``): load, extract, save embeddings, run the protocol,
write results JSON."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from gaitbench.data.partitions import SELFGAIT_RELEASE
from gaitbench.device import resolve_device
from gaitbench.errors import GaitbenchError
from gaitbench.evaluation.distances import check_metric
from gaitbench.evaluation.embeddings import EmbeddingSet, load_embeddings, save_embeddings
from gaitbench.evaluation.extract import extract_embeddings
from gaitbench.evaluation.protocols import ProtocolResult, evaluate, grew_submission, protocol_name
from gaitbench.evaluation.results import (
    build_results,
    relative_to,
    training_record,
    write_results,
)
from gaitbench.models.base import check_frame_size
from gaitbench.paths import check_output

ProgressFactory = Callable[[str, int], Callable[[int], None]]


def test_indices(store, partition) -> np.ndarray:
    """Store rows whose subject is in ``partition.test`` (a split by sequence: its test rows)."""
    if getattr(partition, "sequences", None) is not None:
        return partition.sequences.test_rows
    test = set(partition.test)
    idx = np.flatnonzero(store.index["subject"].astype(str).isin(test).to_numpy())
    if len(idx) == 0:
        raise GaitbenchError(
            f"store {store.path} has no sequence of the {len(test)} test subjects: "
            "check --data and the partition"
        )
    return idx


def mark_roles(emb_set: EmbeddingSet, protocol: str, partition) -> EmbeddingSet:
    """Set the ``role`` column the real-scene protocols use: Gait3D from the partition's official
    probe list ("subject-condition-view" keys); GREW keeps its condition-based split."""
    if protocol == "gait3d" and getattr(partition, "probe", None):
        keys = [f"{s}-{c}-{v}" for s, c, v in zip(emb_set.subject, emb_set.condition, emb_set.view)]
        probe = np.isin(keys, list(partition.probe))
        emb_set.role = np.where(probe, "probe", "gallery").astype(object)
    return emb_set


def extract_test_set(
    model: nn.Module,
    store,
    partition,
    protocol: str,
    device: str = "cpu",
    batch_size: int = 16,
    progress: Callable[[int], None] | None = None,
) -> EmbeddingSet:
    """Embeddings of the test split (each cut to its window in a split by sequence), with roles
    marked for ``protocol``."""
    rows = test_indices(store, partition)
    emb = extract_embeddings(
        model,
        store,
        rows,
        device,
        batch_size,
        progress=progress,
        windows=_windows(partition, rows),
    )
    return mark_roles(emb, protocol_name(protocol), partition)


def _windows(partition, rows) -> list[tuple[int, int]] | None:
    sequences = getattr(partition, "sequences", None)
    return None if sequences is None else sequences.windows_of(rows)


def evaluate_model(
    model: nn.Module, store, partition, protocol: str, metric: str = "euc", device: str = "cpu"
) -> dict:
    """Extract the test split and run ``protocol``: the results-JSON ``metrics`` dict (percent).
    A split by sequence (``selfgait-release``) is evaluated with its own protocol."""
    if getattr(partition, "sequences", None) is not None:
        protocol = SELFGAIT_RELEASE
    emb = extract_test_set(model, store, partition, protocol, device)
    return evaluate(emb, protocol, metric, device).metrics


@dataclass
class Evaluation:
    """What ``gaitbench evaluate`` produced."""

    result: ProtocolResult
    results: dict
    results_path: Path | None
    embeddings_path: Path | None
    submission_path: Path | None = None


def _load_checkpoint(path: Path) -> dict:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise GaitbenchError(
            f"checkpoint {path} not found: train a model first (`gaitbench train`)"
        ) from None
    except Exception as exc:  # a truncated or foreign file: name it, don't dump a pickle trace
        raise GaitbenchError(
            f"cannot load checkpoint {path} ({type(exc).__name__}): it is truncated or not a torch "
            "checkpoint; pass a run folder or a file written by `gaitbench train` / `convert`"
        ) from None


def untrained_model(model_name: str | None, dataset: str) -> tuple[nn.Module, dict]:
    """A registered model without trainable parameters (``gei``), built with no checkpoint:
    (model in eval mode, info dict as `load_model_for_evaluation` returns it)."""
    from gaitbench import models

    if not model_name:
        raise GaitbenchError(
            "nothing to evaluate: pass a run folder, a checkpoint, --embeddings FILE, or "
            "--model gei (a model without trainable parameters) with --data STORE"
        )
    model = models.create(model_name, dataset=dataset)
    if any(p.requires_grad for p in model.parameters()):
        raise GaitbenchError(
            f"model {model_name!r} has trainable parameters: evaluate its run folder or "
            f"checkpoint (`gaitbench train {model_name}` first); only parameter-free models "
            "such as gei run without one"
        )
    info = {
        "model": model_name,
        "model_args": dict(model.gaitbench_args),
        "dataset": dataset,
        "iteration": None,
        "config": None,
        "checkpoint": None,
        "run_dir": None,
    }
    return model.eval(), info


def load_model_for_evaluation(
    target: str | os.PathLike, model_name: str | None = None, dataset: str | None = None
) -> tuple[nn.Module, dict]:
    """A run folder or checkpoint -> (model in eval mode, info dict with model, model_args,
    dataset, checkpoint, iteration, config, run_dir)."""
    from gaitbench import models

    target = Path(target)
    run_dir = None
    if target.is_dir():
        run_dir = target
        target = target / "checkpoints" / "last.pt"
        if not target.is_file():
            raise GaitbenchError(
                f"run folder {run_dir} has no checkpoints/last.pt: train it first or pass a checkpoint file"
            )
    elif not target.is_file():
        raise GaitbenchError(
            f"{target} is neither a run folder nor a checkpoint file: check the path"
        )
    ckpt = _load_checkpoint(target)
    if isinstance(ckpt, dict) and "model_name" in ckpt:
        if model_name is not None and model_name != ckpt["model_name"]:
            raise GaitbenchError(
                f"--model {model_name}, but {target} holds a {ckpt['model_name']}: a gaitbench "
                "checkpoint names its own model, drop --model"
            )
        model = models.build_from_checkpoint(ckpt)
        args = dict(ckpt.get("model_args", {}))
        info = {
            "model": ckpt["model_name"],
            "model_args": args,
            "dataset": dataset or args.get("dataset") or (ckpt.get("config") or {}).get("dataset"),
            "iteration": ckpt.get("iteration"),
            "config": ckpt.get("config"),
        }
    else:
        if not model_name or not dataset:
            raise GaitbenchError(
                f"{target} is not a gaitbench checkpoint: for a published checkpoint pass "
                "--model (e.g. hstl) and --dataset (e.g. casia-b)"
            )
        model = models.load_published(target, model_name, dataset)
        info = {
            "model": model_name,
            "model_args": {"dataset": dataset},
            "dataset": dataset,
            "iteration": ckpt.get("iteration") if isinstance(ckpt, dict) else None,
            "config": None,
        }
    if not info["dataset"]:
        raise GaitbenchError(f"checkpoint {target} does not say its dataset: pass --dataset")
    info.update(checkpoint=str(target), run_dir=run_dir, owner=run_dir or _owning_run(target))
    return model.eval(), info


def _owning_run(checkpoint: Path) -> Path | None:
    """The run folder a checkpoint file was saved in (``RUN/checkpoints/X.pt`` beside
    ``RUN/run.json``), whose record says the run, seed, device and store; None for a file
    anywhere else (a published checkpoint, a copy)."""
    from gaitbench.training.runinfo import read_run_info

    run = checkpoint.parent.parent
    if checkpoint.parent.name == "checkpoints" and read_run_info(run) is not None:
        return run
    return None


def _run_name(info: dict, run_info: dict | None) -> str:
    """The results file's ``run``: the run's recorded name (and, for a checkpoint saved before
    the run's last, ``NAME@ITERATION``), else the run folder's or the checkpoint's name, else
    the model (evaluated without training, gei)."""
    if run_info and run_info.get("name"):
        if info["run_dir"] is None and info["iteration"] != _last_iteration(run_info):
            return f"{run_info['name']}@{info['iteration']}"
        return run_info["name"]
    if info["run_dir"]:
        return info["run_dir"].name
    return Path(info["checkpoint"]).stem if info["checkpoint"] else info["model"]


def _last_iteration(run_info: dict) -> int | None:
    segments = run_info.get("segments") or []
    return segments[-1].get("to") if segments else None


def _checkpoint_run_info(info: dict, run_info: dict | None) -> dict | None:
    """``run.json`` as it applies to the evaluated checkpoint: for one saved before the run's
    last iteration, the training segments up to it only, or none when a segment runs past it
    (the wall time to that checkpoint is then unknown, not the whole run's)."""
    if not run_info or info["run_dir"] is not None:
        return run_info
    it = info["iteration"]
    if it is None or it == _last_iteration(run_info):
        return run_info
    segments = run_info.get("segments") or []
    before = [seg for seg in segments if seg.get("to", 0) <= it]
    starts_at_zero = bool(before) and before[0].get("from") == 0
    ends_at_it = bool(before) and before[-1].get("to") == it
    return {**run_info, "segments": before if starts_at_zero and ends_at_it else []}


def evaluate_target(
    target: str | os.PathLike | None,
    *,
    data: str | os.PathLike | None = None,
    protocol: str | None = None,
    metric: str = "euc",
    model_name: str | None = None,
    dataset: str | None = None,
    partition: str | None = None,
    device: str = "cpu",
    batch_size: int = 16,
    drop_missing: bool = False,
    submission: str | os.PathLike | None = None,
    out_dir: str | os.PathLike | None = None,
    progress: ProgressFactory | None = None,
    shuffle_frames: int | None = None,
) -> Evaluation:
    """``gaitbench evaluate RUN_DIR_OR_CHECKPOINT``: extract the test split of the store, save the
    embeddings file (in the run folder, or ``out_dir``), run the protocol, write results JSON.

    With ``target`` None, ``model_name`` must be a model without trainable parameters (``gei``):
    it is built as registered and run on ``data``; the files go to ``out_dir``, by default
    ``runs/<model>-<store's file stem>``.

    ``shuffle_frames`` (a seed): every test sequence's frames in a random order
    (`extract.shuffled_order`); the files get a ``-shuffled`` suffix, so the run's own results
    stay, and the results record ``frame_order``.
    """
    from gaitbench.data.partitions import resolve_partition
    from gaitbench.data.store import Store, provenance
    from gaitbench.paths import default_store, runs_root
    from gaitbench.training.runinfo import read_run_info

    device = resolve_device(device)
    check_metric(metric)
    if batch_size < 1:
        raise GaitbenchError(f"--batch-size {batch_size}: give 1 or more sequences")
    if shuffle_frames is not None and shuffle_frames < 0:
        raise GaitbenchError(f"--shuffle-frames {shuffle_frames}: give a seed of 0 or more")
    if shuffle_frames is not None and submission:
        raise GaitbenchError(
            "--shuffle-frames is a diagnostic, not a submission: drop one of it and --submission"
        )
    frame_order = None if shuffle_frames is None else {"shuffled": True, "seed": shuffle_frames}
    shuffled = "" if frame_order is None else "-shuffled"
    run_info = None
    if target is None:
        if not data:
            raise GaitbenchError(
                f"--model {model_name or 'gei'} without a checkpoint needs the store: pass --data STORE"
            )
        store_path = Path(data)
        _check_store_file(store_path, dataset or "casia-b")
        store = Store(store_path)
        model, info = untrained_model(model_name, dataset or store.dataset)
        out_dir = out_dir or runs_root() / f"{info['model']}-{store_path.stem}"
    else:
        model, info = load_model_for_evaluation(target, model_name, dataset)
        run_info = read_run_info(info["owner"]) if info["owner"] else None
        if data:
            store_path = Path(data)
        elif run_info and run_info.get("store"):
            # The store the run was trained on, recorded in RUN/run.json.
            store_path = Path(run_info["store"])
            if not store_path.is_file():
                raise GaitbenchError(
                    f"store {store_path}, recorded in {info['owner']}/run.json as the training "
                    "store, not found: pass --data STORE"
                )
        else:
            store_path = default_store(str(info["dataset"]))
        _check_store_file(store_path, str(info["dataset"]))
        store = Store(store_path)
    check_frame_size(model, store.size, str(store_path))
    out = Path(out_dir) if out_dir else (info["run_dir"] or Path(info["checkpoint"]).parent)
    check_output(out, folder=True)
    if submission:
        check_output(submission)
    ds = str(info["dataset"])
    config = info.get("config") or {}
    trained_on = (config.get("data") or {}).get("partition")
    if protocol is None and partition is None and trained_on == SELFGAIT_RELEASE:
        protocol = SELFGAIT_RELEASE  # a run trained on the release's split is tested on its own
    protocol = protocol_name(protocol or ds)
    if protocol == SELFGAIT_RELEASE:
        if partition not in (None, SELFGAIT_RELEASE):
            raise GaitbenchError(
                f"--protocol {SELFGAIT_RELEASE} tests on the release's own split: drop "
                f"--partition {partition}"
            )
        partition = SELFGAIT_RELEASE
    data_info = provenance(store, _fingerprint_progress(progress) if progress else None)
    spec = partition or trained_on or "official"
    if spec == SELFGAIT_RELEASE and protocol != SELFGAIT_RELEASE:
        raise GaitbenchError(
            f"partition {SELFGAIT_RELEASE} is tested with --protocol {SELFGAIT_RELEASE} (its "
            "30-frame windows): pass that, or --partition official"
        )
    part = resolve_partition(
        spec, store.dataset, store.subjects(), getattr(store, "partition", None), index=store.index
    )
    test = test_indices(store, part)
    tick = progress("extracting embeddings", len(test)) if progress else None
    emb = extract_embeddings(
        model,
        store,
        test,
        device,
        batch_size,
        progress=tick,
        windows=_windows(part, test),
        shuffle_seed=shuffle_frames,
    )
    emb = mark_roles(emb, protocol, part)
    run_name = _run_name(info, run_info)
    training = training_record(config, info["iteration"], _checkpoint_run_info(info, run_info))
    emb.attrs.update(
        model=info["model"],
        dataset=ds,
        checkpoint=relative_to(info["checkpoint"], out),
        run=run_name,
        data=json.dumps(data_info),
        training=json.dumps(training),
    )
    if frame_order:
        emb.attrs.update(frame_order=json.dumps(frame_order))
    emb_path = save_embeddings(out / f"embeddings-{protocol}{shuffled}.h5", emb)
    sub_path = grew_submission(emb, submission, metric, device) if submission else None
    if submission and protocol == "grew" and not _has_local_probes(emb):
        # GREW's official probes carry no labels: the CSV is the only result.
        return Evaluation(None, {}, None, emb_path, sub_path)
    result = evaluate(emb, protocol, metric, device, **_options(drop_missing))
    results = build_results(
        result,
        model=info["model"],
        dataset=ds,
        model_args=info["model_args"],
        checkpoint=relative_to(info["checkpoint"], out),
        iteration=info["iteration"],
        config=config,
        embeddings=relative_to(emb_path, out),
        run=run_name,
        data=_with_test_counts(data_info, emb, result),
        training=training,
    )
    if frame_order:
        results["frame_order"] = frame_order
    suffix = ("-drop-missing" if drop_missing else "") + shuffled
    res_path = write_results(out / f"results-{protocol}{suffix}.json", results)
    return Evaluation(result, results, res_path, emb_path, sub_path)


def _check_store_file(path: Path, dataset: str) -> None:
    if not path.is_file():
        raise GaitbenchError(
            f"store {path} not found: pass --data or run `gaitbench prep {dataset}`"
        )


def _fingerprint_progress(progress: ProgressFactory) -> Callable[[int, int], None]:
    """A (done, total) callback for a store's fingerprint (computed only for stores written
    before fingerprints existed) on top of a progress factory."""
    state: dict = {}

    def update(done: int, total: int) -> None:
        if "tick" not in state:
            state["tick"] = progress("fingerprint (not stored: computing)", total)
            state["seen"] = 0
        state["tick"](done - state["seen"])
        state["seen"] = done

    return update


def _with_test_counts(data_info: dict | None, emb: EmbeddingSet, result: ProtocolResult) -> dict:
    """``data`` plus the test split's counts: subjects, probe and gallery sequences."""
    out = dict(data_info or {})
    out["test"] = {
        "subjects": int(len(set(emb.subject.tolist()))),
        "sequences": int(len(emb)),
        "probe": int(sum(result.n_probe.values())),
        "gallery": int(result.n_gallery),
    }
    return out


def _options(drop_missing: bool) -> dict:
    # Only passed when asked for: a real-scene protocol then rejects it instead of ignoring it.
    return {"drop_missing": True} if drop_missing else {}


def _dataset_name(ds: str) -> str:
    try:
        return protocol_name(ds)
    except GaitbenchError:
        return ds


def _json_attr(value) -> dict | None:
    """An embeddings attribute holding JSON (written by `evaluate_target`); None if absent."""
    if not value:
        return None
    try:
        out = json.loads(value)
    except (TypeError, json.JSONDecodeError):
        return None
    return out if isinstance(out, dict) else None


def _bare(path) -> str | None:
    """Embeddings files written before schema 2 hold the checkpoint's absolute path: keep its
    relative form, or the file name."""
    if not path:
        return None
    return str(path) if not Path(str(path)).is_absolute() else Path(str(path)).name


def _has_local_probes(emb: EmbeddingSet) -> bool:
    if emb.role is not None:
        return bool((emb.role == "probe").any())
    return bool((emb.condition == "02").any())


def evaluate_file(
    path: str | os.PathLike,
    protocol: str | None = None,
    metric: str = "euc",
    device: str = "cpu",
    drop_missing: bool = False,
    submission: str | os.PathLike | None = None,
    out_dir: str | os.PathLike | None = None,
) -> Evaluation:
    """``gaitbench evaluate --embeddings FILE``: the protocol on a saved embeddings file; with
    ``out_dir``, the results JSON is written there."""
    device = resolve_device(device)
    check_metric(metric)
    emb = load_embeddings(path)
    ds = emb.dataset or (protocol or "")
    if not protocol and not ds:
        raise GaitbenchError(f"{path} does not name its dataset: pass --protocol")
    protocol = protocol_name(protocol or ds)
    if out_dir is not None:
        check_output(out_dir, folder=True)
    if submission:
        check_output(submission)
    sub_path = grew_submission(emb, submission, metric, device) if submission else None
    if submission and protocol == "grew" and not _has_local_probes(emb):
        return Evaluation(None, {}, None, Path(path), sub_path)
    result = evaluate(emb, protocol, metric, device, **_options(drop_missing))
    data_info = _json_attr(emb.attrs.get("data"))
    results = build_results(
        result,
        model=emb.attrs.get("model"),
        dataset=_dataset_name(ds) if ds else protocol,
        checkpoint=_bare(emb.attrs.get("checkpoint")),
        embeddings=Path(path).name,
        run=emb.attrs.get("run") or Path(path).stem,
        data=_with_test_counts(data_info, emb, result) if data_info else None,
        training=_json_attr(emb.attrs.get("training")),
    )
    res_path = None
    if out_dir is not None:
        suffix = "-drop-missing" if drop_missing else ""
        res_path = write_results(Path(out_dir) / f"results-{protocol}{suffix}.json", results)
    return Evaluation(result, results, res_path, Path(path), sub_path)
