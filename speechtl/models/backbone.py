"""The backbone contract every transfer method is written against.

A backbone maps inputs to hidden features::

    hidden, lengths = backbone(x, lengths)

* sequences: ``x`` is ``(batch, time, in_dim)`` with ``lengths`` ``(batch,)``;
  ``hidden`` is ``(batch, time', out_dim)`` with the new ``lengths``.
* images (or any fixed-size input): ``lengths`` is ``None`` in and out, and
  ``hidden`` is ``(batch, out_dim)``.

``out_dim`` tells heads and domain classifiers their input width. Backbones
built of repeated blocks also expose them as ``blocks`` (an ``nn.ModuleList``)
so layer transfer can name "the first k blocks".
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch


@runtime_checkable
class Backbone(Protocol):
    out_dim: int

    def __call__(
        self, x: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]: ...


def pool(hidden: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """Mean over valid frames: ``(batch, time, dim) -> (batch, dim)``; 2-D input passes through."""
    if hidden.dim() == 2:
        return hidden
    if lengths is None:
        return hidden.mean(1)
    mask = (torch.arange(hidden.shape[1], device=hidden.device)[None, :] < lengths[:, None])
    mask = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
