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

from collections.abc import Callable, Iterable
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from speechtl.tensors import length_mask


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
    mask = length_mask(lengths, hidden.shape[1]).unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)


@torch.no_grad()
def pooled_features(encode: Callable, batches: Iterable, key: str) -> tuple[np.ndarray, list[str]]:
    """``(items, dim)`` pooled backbone features and each item's ``key`` label (``"?"`` when it has none).

    Args:
        encode: ``batch -> (hidden, lengths)``.
        batches: batches answering ``tags(key)``.
    """
    feats, tags = [], []
    for batch in batches:
        hidden, lengths = encode(batch)
        feats.append(pool(hidden, lengths).cpu().numpy())
        tags.extend("?" if t is None else t for t in batch.tags(key))
    return np.concatenate(feats), tags
