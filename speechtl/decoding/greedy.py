"""Greedy (best-path) CTC decoding."""

from __future__ import annotations

import torch


def ctc_greedy(log_probs: torch.Tensor, lengths: torch.Tensor, blank: int = 0) -> list[list[int]]:
    """Best path: argmax per frame, merge repeats, drop blanks.

    Args:
        log_probs: ``(batch, time, classes)``.
        lengths: ``(batch,)`` valid frames.

    Returns:
        One list of symbol ids per utterance.
    """
    best = log_probs.argmax(-1).cpu()
    out = []
    for path, n in zip(best, lengths.cpu()):
        path = torch.unique_consecutive(path[: int(n)])
        out.append([int(i) for i in path if i != blank])
    return out
