"""Padded sequence batches: the one length mask every layer uses."""

from __future__ import annotations

import torch


def length_mask(lengths: torch.Tensor, max_len: int | None = None) -> torch.Tensor:
    """``(batch, time)`` boolean mask, True on the valid frames of each sequence.

    Args:
        lengths: ``(batch,)`` valid frames per sequence.
        max_len: the padded length (default: the longest sequence).

    Example:
        >>> length_mask(torch.tensor([2, 3]))
        tensor([[ True,  True, False],
                [ True,  True,  True]])
    """
    max_len = int(lengths.max()) if max_len is None else max_len
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]
