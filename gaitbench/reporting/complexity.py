"""Parameter and FLOP counts that state their assumptions.

Papers disagree on gait models' FLOPs by 10x because nobody states the input and the counting
convention. Ours always do: one sequence of `frames` x 64 x 44 silhouettes, the model in eval
mode, counted with fvcore on the inference embedding (operators that only feed the classifier
are not traced), where one multiply-add counts as one FLOP. fvcore counts convolutions,
matrix products and normalisations; the operators it skipped (activations, pooling, GeM powers,
softmax, sums) are listed with their call counts, except those fvcore ignores by design
(e.g. ReLU, max pooling), which it neither counts nor reports.
"""

from __future__ import annotations

import logging
import warnings
from collections import Counter
from typing import Any

import torch
from torch import Tensor, nn

from gaitbench.models import create

CONVENTION = (
    "fvcore: one multiply-add = one FLOP; counts conv, matmul/linear and normalisation only; "
    "eval mode, inference embedding only, batch of one sequence"
)


class _Embedding(nn.Module):
    """Trace only the inference embedding (fvcore needs tensor outputs)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, sils: Tensor) -> Tensor:
        return self.model(sils).embeddings


def count_params(model: nn.Module) -> int:
    """Every parameter (classifier, BNNeck and GeM exponents included; BN buffers excluded)."""
    return sum(p.numel() for p in model.parameters())


def model_complexity(
    model: nn.Module, frames: int = 30, height: int = 64, width: int = 44
) -> dict[str, Any]:
    """Parameters and fvcore FLOPs of `model` for one [1, frames, height, width] input."""
    with warnings.catch_warnings():  # fvcore scripts helpers with torch.jit at import
        warnings.simplefilter("ignore", DeprecationWarning)
        from fvcore.nn import FlopCountAnalysis

    was_training = model.training
    model.eval()
    # Count the published architecture's dense operators: run-time shortcuts that depend on
    # the input (HSTL's nonzero-column convolutions; `literal` flags) are switched off, or an
    # all-zero trace input would count nothing.
    shortcuts = {
        m: m.literal for m in model.modules() if isinstance(getattr(m, "literal", None), bool)
    }
    for m in shortcuts:
        m.literal = True
    shape = [1, frames, height, width]
    try:
        # fvcore traces with torch.jit, which newer torch marks deprecated on every call
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            analysis = FlopCountAnalysis(_Embedding(model), torch.zeros(shape))
            analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            # fvcore logs every skipped operator; we report them in the result instead.
            logger = logging.getLogger("fvcore.nn.jit_analysis")
            level = logger.level
            logger.setLevel(logging.ERROR)
            try:
                total = int(analysis.total())
                by_operator = {k: int(v) for k, v in analysis.by_operator().items() if v}
                skipped = dict(sorted(Counter(analysis.unsupported_ops()).items()))
            finally:
                logger.setLevel(level)
    finally:
        model.train(was_training)
        for m, value in shortcuts.items():
            m.literal = value
    return {
        "input": shape,
        "params": count_params(model),
        "flops": total,
        "flops_by_operator": by_operator,
        "convention": CONVENTION,
        "skipped": {k: int(v) for k, v in skipped.items()},
    }


def complexity(name: str, dataset: str = "casia-b", frames: int = 30) -> dict[str, Any]:
    """Parameters and fvcore FLOPs of registered model `name` (its `dataset` variant) for one
    `frames` x 64 x 44 sequence: {model, dataset, input, params, flops, flops_by_operator,
    convention, skipped}."""
    model = create(name, dataset=dataset)
    return {"model": name, "dataset": dataset, **model_complexity(model, frames)}


def model_table() -> list[dict[str, Any]]:
    """Every registered model: {model, datasets, published, params} where params counts the
    first published variant (CASIA-B where there is one). Built on the meta device: no memory,
    no initialisation cost, even for the 280M-parameter GREW variants."""
    from gaitbench.models import get_entry, list_models

    rows = []
    for name in list_models():
        entry = get_entry(name)
        datasets = entry.datasets()
        dataset = "casia-b" if "casia-b" in datasets else datasets[0]
        with torch.device("meta"):
            model = create(name, dataset=dataset if dataset != "*" else "casia-b")
        rows.append(
            {
                "model": name,
                "datasets": datasets,
                "published": entry.published,
                "params_dataset": dataset,
                "params": count_params(model),
            }
        )
    return rows
