"""The results JSON: what one evaluation measured, self-describing and versioned.

Schema ``gaitbench-results/2`` (all figures in percent; schema 1 files still load, see below)::

    {
      "schema": "gaitbench-results/2",
      "run": "hstl-casia-b",              # the run's name: gaitbench train --name, else the run
                                          # folder's name (a published checkpoint: its file stem)
      "protocol": "casia-b" | "oumvlp" | "grew" | "gait3d",
      "protocol_label": "CASIA-B: rank-1, identical views excluded",
      "protocol_options": {...},          # e.g. {"drop_missing": false}
      "model": "hstl", "model_args": {...},
      "dataset": "casia-b",
      "data": {                           # the store the test split was extracted from
        "file": "casia-b-64.h5",          # its file name only, never a path
        "fingerprint": "sha256:...",      # content hash of frames + index (gaitbench info)
        "fingerprint_source": "stored" | "computed",  # computed: the store predates fingerprints
        "kind": "real" | "synthetic",
        "generator": {...} | null,        # synthetic: subjects, views, frames, size, difficulty,
                                          # seed, generator version
        "test": {"subjects": 50, "probe": 3300, "gallery": 2200, "sequences": 5500}
      },
      "training": {                       # null for a model evaluated without training
        "seed": 0, "iterations": 80000,   # iterations: of the checkpoint evaluated
        "batch": {"p": 8, "k": 16, "frames": 30},   # P ids x K sequences x frames per batch
        "precision": "fp32" | "bf16" | "fp16" | null,   # autocast dtype; null: not recorded
        "device": "cuda:0" | null,
        "wall_seconds": 5400.2 | null,    # training loop time over all segments (RUN/run.json)
        "recipe_hash": "sha256:...",      # the resolved recipe without its seed: runs that
                                          # differ only in seed share it
        "data_fingerprint": "sha256:..." | null   # the store it was trained on
      },
      "metric": "euc" | "cos",
      "params": 4745834 | null,           # from gaitbench.reporting.complexity (null if unknown)
      "flops": 25824774400 | null,        # fvcore, one multiply-add = one FLOP
      "flops_input": "1 x 30 x 64 x 44", "flops_convention": "...",
      "checkpoint": "checkpoints/last.pt" | "hstl.pt",   # relative to the results file, or a
      "embeddings": "embeddings-casia-b.h5",             # bare file name: never an absolute path
      "iteration": 90000 | null,
      "config_hash": "sha256:..." | null, # the whole resolved recipe, seed included
      "gaitbench_version": "0.1.0", "date": "2025-01-01T12:00:00+00:00",
      "n_probe": {...}, "n_gallery": 2200,
      "missing_gallery": {"NM": {"missing": 30, "pairs": 10000}, ...},   # view protocols: (probe,
                                          # gallery view) pairs without the probe's subject
      "n_unused": 0,                      # test sequences neither probe nor gallery
      "metrics": {
        # casia-b / oumvlp: per probe condition (NM, BG, CL; OU-MVLP only NM)
        "NM": {"rank1": 98.1, "rank1_per_view": {"000": 96.4, ...}},
        # grew / gait3d:
        "rank1": ..., "rank5": ..., "rank10": ..., "rank20": ..., "mAP": ..., "mINP": ...
      },
      "per_probe": {                      # every probe's outcome (gaitbench compare pairs them)
        # casia-b / oumvlp: per condition, for every probe and every gallery view (gallery_views
        # order) the 1-based rank of its first true match among that view's gallery sequences,
        # sorted by distance with ties kept in gallery order: 1 + those strictly closer than the
        # nearest true match + those exactly as close that come before it. That is how the
        # nearest sequence is chosen, so rank 1 is exactly a rank-1 hit and the protocol's
        # figures are the share of rank-1 entries. null: not ranked, either the identical view
        # (always left out) or a subject with no gallery sequence in that view, which the
        # protocol counts as a miss ("unmatched": "miss") or leaves out (drop_missing: "skip").
        "layout": "view-pairs", "gallery_views": ["000", "018", ...], "unmatched": "miss",
        "conditions": {"NM": {"probe": ["075/nm-05/000", ...], "view": ["000", ...],
                              "rank": [[null, 1, 1, 3, ...], ...]}},
        # Files written before ranks were recorded hold, instead of "rank" (and without
        # "unmatched"), "outcome": one character per gallery view, "1" rank-1 hit, "0" miss, "-"
        # not counted (identical view, or a subject absent there under drop_missing), e.g.
        # ["-1111111111", ...]. Both are read (gaitbench compare: a hit is rank == 1).
        # grew / gait3d: the 1-based rank of each probe's first true match (null: none in the
        # gallery) and its AP (0..1, null without a true match)
        "layout": "ranking", "unmatched": "miss" | "skip",
        "probe": ["00001/02/abc", ...], "rank": [1, 4, null, ...], "ap": [1.0, 0.25, null, ...]
      } | null,                           # null: converted from schema 1 (not recorded)
      "notes": ["..."]                    # optional: what a converted file lacks, and why
    }

Schema ``gaitbench-results/1`` is schema 2 without run, data, training, per_probe and notes, with
checkpoint and embeddings as the paths they were written from. `load_results` reads both;
`upgrade_v1` converts a schema 1 dict to schema 2 with the missing fields null and a note.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from pathlib import Path

from gaitbench import __version__
from gaitbench.errors import GaitbenchError
from gaitbench.paths import atomic_write

SCHEMA = "gaitbench-results/2"
SCHEMA_V1 = "gaitbench-results/1"
SCHEMAS = (SCHEMA_V1, SCHEMA)
REQUIRED = ("schema", "protocol", "model", "dataset", "metric", "metrics")
REQUIRED_V2 = ("run", "data", "training", "per_probe")
# Keys of a resolved recipe that do not change what is trained, left out of the recipe hash so
# that runs differing only in them (and in the seed) group as seeds of one configuration.
_NOT_RECIPE = {"train": ("seed", "save_every", "keep_last", "log_every", "eval_every")}


def config_hash(config: dict | None) -> str | None:
    """A short, order-independent fingerprint of a resolved config (``None`` without one)."""
    if not config:
        return None
    blob = json.dumps(config, sort_keys=True, default=str).encode()
    return "sha256:" + hashlib.sha256(blob).hexdigest()[:16]


def recipe_hash(config: dict | None) -> str | None:
    """`config_hash` of the recipe without its seed and its logging / saving intervals: what
    seeds of one configuration share."""
    if not config:
        return None
    trimmed = {k: (dict(v) if isinstance(v, dict) else v) for k, v in config.items()}
    for section, keys in _NOT_RECIPE.items():
        for key in keys:
            (trimmed.get(section) or {}).pop(key, None)
    return config_hash(trimmed)


def training_record(
    config: dict | None,
    iteration: int | None,
    run_info: dict | None = None,
) -> dict | None:
    """The results file's ``training`` block from a checkpoint's resolved recipe and the run
    folder's ``run.json`` (`gaitbench.training.runinfo`); None without a recipe (no training)."""
    if not config:
        return None
    from gaitbench.training.runinfo import wall_seconds

    train = config.get("train") or {}
    data = config.get("data") or {}
    info = run_info or {}
    return {
        "seed": info.get("seed", train.get("seed")),
        "iterations": iteration,
        "planned_iterations": train.get("iterations"),
        "batch": {
            "p": data.get("ids_per_batch"),
            "k": data.get("seqs_per_id"),
            "frames": data.get("frames"),
        },
        "precision": info.get("precision") or _precision_from_recipe(train),
        "device": info.get("device"),
        "wall_seconds": wall_seconds(info),
        "recipe_hash": recipe_hash(config),
        "data_fingerprint": (info.get("data") or {}).get("fingerprint"),
    }


def _precision_from_recipe(train: dict) -> str | None:
    # Without run.json: config.yaml's resolved train.precision (runs since `train --precision`);
    # older recipes say what was asked for, not what ran (AMP on CUDA only): unknown unless fp32.
    if train.get("precision") in ("fp32", "bf16", "fp16"):
        return train["precision"]
    return "fp32" if train.get("amp") is False else None


def relative_to(path: str | os.PathLike | None, base: str | os.PathLike) -> str | None:
    """``path`` relative to the folder ``base`` (a results file's folder) when it lies under it,
    else its bare file name: results files never hold absolute paths."""
    if path is None:
        return None
    p, b = Path(path).resolve(), Path(base).resolve()
    try:
        return p.relative_to(b).as_posix()
    except ValueError:
        return p.name


def model_complexity(model_name: str | None, dataset: str) -> dict:
    """Parameters and FLOPs from `gaitbench.reporting.complexity` (the same numbers `gaitbench
    complexity` prints); empty when that module or the model's entry is not available."""
    if not model_name:
        return {}
    try:
        from gaitbench.reporting.complexity import complexity
    except ImportError:
        return {}
    try:
        c = complexity(model_name, dataset=dataset)
    except GaitbenchError:
        return {}
    return {
        "params": c.get("params"),
        "flops": c.get("flops"),
        "flops_input": c.get("input"),
        "flops_convention": c.get("convention"),
    }


def build_results(
    result,
    *,
    model: str | None,
    dataset: str,
    model_args: dict | None = None,
    checkpoint: str | None = None,
    iteration: int | None = None,
    config: dict | None = None,
    embeddings: str | None = None,
    complexity: dict | None = None,
    run: str | None = None,
    data: dict | None = None,
    training: dict | None = None,
) -> dict:
    """The results-JSON dict for a `ProtocolResult`. ``checkpoint`` and ``embeddings`` are stored
    as given: pass them relative (`relative_to`); ``data`` is `gaitbench.data.store.provenance`
    with the test split's counts under ``test``; ``training`` is `training_record`."""
    comp = complexity if complexity is not None else model_complexity(model, dataset)
    return {
        "schema": SCHEMA,
        "run": run or model or "unknown",
        "protocol": result.protocol,
        "protocol_label": result.label,
        "protocol_options": {k: v for k, v in result.options.items()},
        "model": model or "unknown",
        "model_args": model_args or {},
        "dataset": dataset,
        "data": data,
        "training": training,
        "metric": result.metric,
        "params": comp.get("params"),
        "flops": comp.get("flops"),
        "flops_input": comp.get("flops_input"),
        "flops_convention": comp.get("flops_convention"),
        "checkpoint": checkpoint,
        "iteration": iteration,
        "config_hash": config_hash(config),
        "gaitbench_version": __version__,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "embeddings": embeddings,
        "n_probe": result.n_probe,
        "n_gallery": result.n_gallery,
        "missing_gallery": result.missing_gallery,
        "n_unused": result.n_unused,
        "metrics": result.metrics,
        "per_probe": result.per_probe or None,
    }


def dumps(results: dict) -> str:
    """The file's text: one key per line, each per-probe list on a single line (a CASIA-B file
    holds 3,300 probes; one line each would make it 40,000 lines)."""
    per_probe = results.get("per_probe")
    if not per_probe:
        return json.dumps(results, indent=1) + "\n"
    marker = "__gaitbench_per_probe__"
    text = json.dumps({**results, "per_probe": marker}, indent=1)
    compact = _compact_lists(per_probe, 1)
    return text.replace(json.dumps(marker), compact) + "\n"


def _compact_lists(value, depth: int) -> str:
    """JSON with dicts indented like ``indent=1`` and lists on one line."""
    if isinstance(value, dict) and value:
        pad = " " * (depth + 1)
        items = [f"{pad}{json.dumps(k)}: {_compact_lists(v, depth + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * depth + "}"
    return json.dumps(value, separators=(",", ":"))


def write_results(path: str | os.PathLike, results: dict) -> Path:
    """Write results JSON atomically."""
    validate_results(results, str(path))
    with atomic_write(path) as tmp:
        tmp.write_text(dumps(results))
    return Path(path)


def is_results(data) -> bool:
    """Whether a parsed JSON document is a gaitbench results file (any schema version)."""
    return isinstance(data, dict) and str(data.get("schema", "")).startswith("gaitbench-results/")


def validate_results(results: dict, where: str = "results") -> dict:
    if not isinstance(results, dict) or results.get("schema") not in SCHEMAS:
        got = results.get("schema") if isinstance(results, dict) else type(results).__name__
        hint = (
            "a newer gaitbench wrote it: upgrade gaitbench"
            if is_results(results)
            else "pass files written by `gaitbench evaluate`"
        )
        raise GaitbenchError(
            f"{where} is not gaitbench results JSON this version reads (schema {got!r}, "
            f"expected one of {', '.join(SCHEMAS)}): {hint}"
        )
    required = REQUIRED + (REQUIRED_V2 if results["schema"] == SCHEMA else ())
    missing = [k for k in required if k not in results]
    if missing:
        raise GaitbenchError(
            f"{where} lacks key(s) {', '.join(missing)}: re-run `gaitbench evaluate`"
        )
    if not isinstance(results["metrics"], dict):
        raise GaitbenchError(f"{where}: metrics is not an object: re-run `gaitbench evaluate`")
    from gaitbench.evaluation.protocols import PROTOCOLS

    if results["protocol"] not in PROTOCOLS:
        raise GaitbenchError(
            f"{where}: protocol {results['protocol']!r} is not one of {', '.join(PROTOCOLS)}: "
            "re-run `gaitbench evaluate`"
        )
    numbers = {k: results.get(k) for k in ("params", "flops", "iteration", "n_gallery")}
    for key, value in [*_leaves(results["metrics"], "metrics"), *_leaves(numbers, "")]:
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise GaitbenchError(
                f"{where}: {key} is {value!r}, not a number: re-run `gaitbench evaluate`"
            )
    return results


def _leaves(tree: dict, prefix: str):
    """(dotted key, value) for every non-mapping value under ``tree``."""
    for key, value in tree.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            yield from _leaves(value, name)
        else:
            yield name, value


def upgrade_v1(results: dict, run: str | None = None, notes: list[str] | None = None) -> dict:
    """A schema-1 dict as schema 2: what schema 1 did not record is null, and ``notes`` says so.

    ``run`` names the run (default: the model); the absolute paths schema 1 wrote are reduced
    to file names."""
    if results.get("schema") == SCHEMA:
        return results
    rest = {k: v for k, v in results.items() if k not in ("schema", "run")}
    out = {"schema": SCHEMA, "run": run or results.get("model") or "unknown", **rest}
    out.setdefault("data", None)
    out.setdefault("training", None)
    out.setdefault("per_probe", None)
    for key in ("checkpoint", "embeddings"):
        if out.get(key):
            out[key] = Path(str(out[key])).name
    out["notes"] = [
        *(notes or []),
        (
            "converted from gaitbench-results/1: the store's fingerprint, real or synthetic, "
            "the training seed, budget, precision, device and per-probe outcomes were not recorded"
        ),
    ]
    return out


def load_results(path: str | os.PathLike) -> dict:
    """Read and check one results JSON file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise GaitbenchError(
            f"results file {path} not found: run `gaitbench evaluate` first"
        ) from None
    except json.JSONDecodeError as exc:
        raise GaitbenchError(
            f"results file {path} is not valid JSON ({exc}): re-run `gaitbench evaluate`"
        ) from None
    return validate_results(data, str(path))
