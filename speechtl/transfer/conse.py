"""ConSE: zero-shot learning by convex combination of semantic embeddings.

Norouzi, Mikolov, Bengio, Singer, Shlens, Frome, Corrado & Dean 2014,
"Zero-Shot Learning by Convex Combination of Semantic Embeddings" (ICLR).
Any trained classifier over *seen* classes is reused as it is: an input is
embedded as ``sum_t p(y_t | x) s(y_t) / sum_t p(y_t | x)`` over its top-T seen
classes ``y_t`` (``s`` the class-name vectors), and answered with the unseen
class whose name vector is nearest by cosine similarity. Nothing is trained.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from speechtl.transfer.zeroshot import ClassDescriptions, ZeroShotPredictor


def conse_embed(probs: torch.Tensor, seen_vectors: torch.Tensor, top: int) -> torch.Tensor:
    """Probability-weighted mean of the top-``top`` seen-class vectors.

    Args:
        probs: ``(batch, seen)`` class probabilities.
        seen_vectors: ``(seen, dim)``.

    Returns:
        ``(batch, dim)``.
    """
    top = min(top, probs.shape[1])
    weights, idx = probs.topk(top, dim=1)
    mixed = (weights[..., None] * seen_vectors[idx]).sum(1)
    return mixed / weights.sum(1, keepdim=True).clamp(min=1e-12)


def conse_scores(probs: torch.Tensor, seen_vectors: torch.Tensor, unseen_vectors: torch.Tensor,
                 top: int) -> torch.Tensor:
    """``(batch, unseen)`` cosine similarities of the ConSE embedding to each unseen class."""
    embedded = conse_embed(probs, seen_vectors, top)
    return F.normalize(embedded, dim=1) @ F.normalize(unseen_vectors, dim=1).T


class ConSE(ZeroShotPredictor):
    """A zero-shot wrapper around a trained classifier (no parameters, no loss).

    Args:
        classify: ``(hidden, lengths) -> (batch, seen) logits`` in the order of ``classes.labels``.
        classes: seen/unseen classes with their name vectors.
        top: T.
    """

    name = "conse"

    def __init__(self, classify: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor],
                 classes: ClassDescriptions, top: int = 3) -> None:
        self.classify = classify
        self.classes = classes
        self.top = top

    def zero_shot_scores(self, hidden: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        probs = torch.softmax(self.classify(hidden, lengths), dim=-1)
        return conse_scores(probs, self.classes.seen_vectors.to(probs.device),
                            self.classes.unseen_vectors.to(probs.device), self.top)
