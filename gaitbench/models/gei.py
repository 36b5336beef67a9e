"""The gait energy image (Han & Bhanu, TPAMI 2006): a non-learned floor for every table.

    frames [n, s, 64, 44] in 0..1 -> mean over the sequence's frames -> GEI [n, 64, 44]
        -> `parts` horizontal strips, each flattened -> embeddings [n, parts, 64 / parts * 44]

No trainable parameters, no checkpoint: ``gaitbench evaluate --model gei --data STORE`` runs it
directly. The input is what every gaitbench model sees, the central 64 x 44 columns of the stored
64 x 64 frames (`gaitbench.data.sampling.cut_and_scale`). The registered ``gei`` is the whole
frame as one part, so the protocol's distance (per-part Euclidean, averaged over parts) is the
plain Euclidean distance between two 64 x 44 GEIs, and the CASIA-B protocol's nearest gallery
sequence is the Euclidean nearest neighbour with identical views excluded. ``parts`` > 1 cuts the
GEI into equal horizontal strips (a divisor of 64), which the averaged per-part distance then
weighs equally, as it weighs a learned model's parts.

A trained model that does not beat this floor has learned nothing about gait beyond the average
shape of the walker.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gaitbench.models.base import ANY_DATASET, ModelOutput, register

HEIGHT = 64


@register("gei", variants={ANY_DATASET: {"parts": 1}})
class GEI(nn.Module):
    """The mean silhouette of a sequence, cut into ``parts`` horizontal strips.

    parts: how many equal horizontal strips (a divisor of 64); 1 = the whole frame.
    """

    def __init__(self, parts: int = 1) -> None:
        super().__init__()
        if parts < 1 or HEIGHT % parts:
            raise ValueError(f"parts must divide {HEIGHT}, got {parts}")
        self.parts = int(parts)

    def forward(self, sils: Tensor, seq_lens: Tensor | None = None) -> ModelOutput:
        """sils [n, s, h, w] (frames at or beyond a row's ``seq_lens`` are padding)
        -> embeddings [n, parts, h / parts * w]."""
        n, s, h, w = sils.shape
        if h % self.parts:
            raise ValueError(f"frame height {h} is not divisible into {self.parts} parts")
        if seq_lens is None:
            gei = sils.float().mean(dim=1)
        else:
            lens = seq_lens.to(sils.device).long()
            valid = torch.arange(s, device=sils.device)[None, :] < lens[:, None]  # [n, s]
            total = (sils.float() * valid[:, :, None, None]).sum(dim=1)
            gei = total / lens.clamp(min=1)[:, None, None].float()
        return ModelOutput(embeddings=gei.reshape(n, self.parts, (h // self.parts) * w))
