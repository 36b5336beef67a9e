"""The results JSON: what one evaluation measured, self-describing and versioned.

Schema ``gaitbench-results/1`` (all figures in percent)::

    {
      "schema": "gaitbench-results/1",
      "protocol": "casia-b" | "oumvlp" | "grew" | "gait3d",
      "protocol_label": "CASIA-B: rank-1, identical views excluded",
      "protocol_options": {...},          # e.g. {"drop_missing": false}
      "model": "hstl", "model_args": {...},
      "dataset": "casia-b",
      "metric": "euc" | "cos",
      "params": 4745834 | null,           # from gaitbench.reporting.complexity (null if unknown)
      "flops": 25824774400 | null,        # fvcore, one multiply-add = one FLOP
      "flops_input": "1 x 30 x 64 x 44", "flops_convention": "...",
      "checkpoint": "runs/hstl/checkpoints/last.pt", "iteration": 90000 | null,
      "config_hash": "sha256:..." | null,
      "gaitbench_version": "0.1.0", "date": "2025-01-01T12:00:00+00:00",
      "embeddings": "runs/hstl/embeddings-casia-b.h5" | null,
      "n_probe": {...}, "n_gallery": 2200,
      "missing_gallery": {"NM": {"missing": 30, "pairs": 10000}, ...},   # view protocols: (probe,
                                          # gallery view) pairs without the probe's subject
      "n_unused": 0,                      # test sequences neither probe nor gallery
      "metrics": {
        # casia-b / oumvlp: per probe condition (NM, BG, CL; OU-MVLP only NM)
        "NM": {"rank1": 98.1, "rank1_per_view": {"000": 96.4, ...}},
        # grew / gait3d:
        "rank1": ..., "rank5": ..., "rank10": ..., "rank20": ..., "mAP": ..., "mINP": ...
      }
    }
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

SCHEMA = "gaitbench-results/1"
REQUIRED = ("schema", "protocol", "model", "dataset", "metric", "metrics")


def config_hash(config: dict | None) -> str | None:
    """A short, order-independent fingerprint of a resolved config (``None`` without one)."""
    if not config:
        return None
    blob = json.dumps(config, sort_keys=True, default=str).encode()
    return "sha256:" + hashlib.sha256(blob).hexdigest()[:16]


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
) -> dict:
    """The results-JSON dict for a `ProtocolResult`."""
    comp = complexity if complexity is not None else model_complexity(model, dataset)
    return {
        "schema": SCHEMA,
        "protocol": result.protocol,
        "protocol_label": result.label,
        "protocol_options": {k: v for k, v in result.options.items()},
        "model": model or "unknown",
        "model_args": model_args or {},
        "dataset": dataset,
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
    }


def write_results(path: str | os.PathLike, results: dict) -> Path:
    """Write results JSON atomically."""
    validate_results(results, str(path))
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(results, indent=1, sort_keys=False) + "\n")
    return Path(path)


def validate_results(results: dict, where: str = "results") -> dict:
    if not isinstance(results, dict) or results.get("schema") != SCHEMA:
        got = results.get("schema") if isinstance(results, dict) else type(results).__name__
        raise GaitbenchError(
            f"{where} is not gaitbench results JSON (schema {got!r}, expected {SCHEMA!r}): "
            "pass files written by `gaitbench evaluate`"
        )
    missing = [k for k in REQUIRED if k not in results]
    if missing:
        raise GaitbenchError(
            f"{where} lacks key(s) {', '.join(missing)}: re-run `gaitbench evaluate`"
        )
    return results


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
