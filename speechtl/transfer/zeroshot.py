"""Zero-shot classification through class descriptions: DAP and label embedding.

Both learn from items of *seen* classes and recognise *unseen* ones through a
description every class has: a vector of attributes (closed loop, vertical
stroke, ...) or of its name (a sentence-embedding of the class name).

* :class:`DAP`, direct attribute prediction (Lampert, Nickisch & Harmeling 2009,
  "Learning To Detect Unseen Object Classes by Between-Class Attribute
  Transfer"): one probabilistic classifier per attribute; an unseen class scores
  ``sum_m log p(a_m = a_m^z | x) - log p(a_m^z)``.
* :class:`LabelEmbedding`, attribute / label embedding (Akata, Perronnin,
  Harchaoui & Schmid 2013, "Label-Embedding for Attribute-Based
  Classification"; Frome et al. 2013, "DeViSE"): ``f(x)`` and ``g(y)`` map into
  one space, trained with the hinge ranking loss
  ``sum_{y' != y} max(0, k - f(x).g(y) + f(x).g(y'))``, which is zero only when
  the true class beats every other by the margin ``k``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from speechtl.models.backbone import pool
from speechtl.training.objective import StepOutput, TransferMethod
from speechtl.transfer.labels import LabelSpace


def hinge_rank_loss(scores: torch.Tensor, target: torch.Tensor, margin: float = 1.0) -> torch.Tensor:
    """Per item ``sum_{y' != y} max(0, margin - s[y] + s[y'])``, averaged over items.

    Args:
        scores: ``(batch, classes)`` compatibilities ``f(x) . g(y)``.
        target: ``(batch,)`` true class ids.

    Returns:
        A scalar: zero exactly when every item's true score beats all others by ``margin``.
    """
    true = scores.gather(1, target[:, None])
    violations = (margin - true + scores).clamp(min=0)
    violations = violations.masked_fill(F.one_hot(target, scores.shape[1]).bool(), 0.0)
    return violations.sum(1).mean()


class ClassDescriptions(nn.Module):
    """Seen and unseen classes with one description vector each.

    Args:
        labels: the item label naming the class, over the *seen* classes (class-id order).
        unseen: names of the classes scored zero-shot.
        vectors: ``{class name: (dim,) description}`` for every seen and unseen class.
    """

    def __init__(self, labels: LabelSpace, unseen: list[str], vectors: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.labels = labels
        self.unseen = list(unseen)
        self.register_buffer("seen_vectors", torch.stack([vectors[c] for c in labels.values]).float(),
                             persistent=False)
        unseen_vectors = (torch.stack([vectors[c] for c in unseen]).float() if unseen
                          else self.seen_vectors.new_zeros((0, self.seen_vectors.shape[1])))
        self.register_buffer("unseen_vectors", unseen_vectors, persistent=False)

    def seen_items(self, out: StepOutput, batch) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Pooled features ``(n, dim)`` and class ids ``(n,)`` of the batch's items of seen classes."""
        target = self.labels.ids(batch, out.hidden.device)
        keep = target >= 0
        if not bool(keep.any()):
            return None
        return pool(out.hidden, out.lengths)[keep], target[keep]


class ZeroShotPredictor:
    """Anything that scores the unseen classes of ``transfer.zeroshot`` from backbone features."""

    def zero_shot_scores(self, hidden: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        """``(batch, unseen)`` scores; the highest is the answer."""
        raise NotImplementedError


class SeenClassMethod(TransferMethod, ZeroShotPredictor):
    """A zero-shot method trained on the pooled features of the items of seen classes."""

    classes: ClassDescriptions

    def forward(self, model: nn.Module, batch, out: StepOutput, progress: float
                ) -> tuple[torch.Tensor, dict[str, float]]:
        seen = self.classes.seen_items(out, batch)
        if seen is None:
            return out.hidden.sum() * 0.0, {}
        return self.seen_loss(*seen)

    def seen_loss(self, features: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """The loss over features ``(n, dim)`` of items of seen classes ``(n,)``."""
        raise NotImplementedError


class LabelEmbedding(SeenClassMethod):
    """``f(x) . g(y)`` compatibility trained with the hinge ranking loss.

    Args:
        in_dim: backbone feature width.
        classes: seen/unseen classes and their description vectors.
        dim: joint space width; ``margin``: ``k``.
    """

    name = "embedding"

    def __init__(self, in_dim: int, classes: ClassDescriptions, dim: int = 64, margin: float = 1.0) -> None:
        super().__init__()
        self.classes = classes
        self.f = nn.Linear(in_dim, dim)
        self.g = nn.Linear(classes.seen_vectors.shape[1], dim)
        self.margin = margin

    def compatibility(self, features: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
        """``(batch, classes)`` scores of pooled features ``(batch, dim)`` against class vectors."""
        return self.f(features) @ self.g(vectors).T

    def seen_loss(self, features: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        scores = self.compatibility(features, self.classes.seen_vectors)
        acc = float((scores.argmax(1) == target).float().mean())
        return hinge_rank_loss(scores, target, self.margin), {"acc": acc}

    def zero_shot_scores(self, hidden: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        """``(batch, unseen)`` compatibilities with the unseen classes."""
        return self.compatibility(pool(hidden, lengths), self.classes.unseen_vectors)


def dap_scores(attr_probs: torch.Tensor, class_attrs: torch.Tensor, prior: torch.Tensor,
               eps: float = 1e-4) -> torch.Tensor:
    """DAP class scores ``sum_m log p(a_m^z | x) - log p(a_m^z)`` (log of Lampert et al.'s eq. 2).

    Args:
        attr_probs: ``(batch, attributes)`` predicted ``p(a_m = 1 | x)``.
        class_attrs: ``(classes, attributes)`` binary (or [0, 1]) class descriptions.
        prior: ``(attributes,)`` ``p(a_m = 1)``, the mean over training classes.

    Returns:
        ``(batch, classes)``.
    """
    p = attr_probs.clamp(eps, 1 - eps)
    q = prior.clamp(eps, 1 - eps)
    log_like = torch.log(p) @ class_attrs.T + torch.log1p(-p) @ (1 - class_attrs).T
    log_prior = class_attrs @ torch.log(q) + (1 - class_attrs) @ torch.log1p(-q)
    return log_like - log_prior[None, :]


class DAP(SeenClassMethod):
    """One logistic attribute classifier per attribute on pooled backbone features.

    Args:
        in_dim: backbone feature width.
        classes: seen/unseen classes and their attribute vectors (values in [0, 1]).
    """

    name = "dap"

    def __init__(self, in_dim: int, classes: ClassDescriptions) -> None:
        super().__init__()
        self.classes = classes
        self.attributes = nn.Linear(in_dim, classes.seen_vectors.shape[1])

    def seen_loss(self, features: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        logits = self.attributes(features)
        attrs = self.classes.seen_vectors[target]
        acc = float(((logits > 0).float() == (attrs > 0.5).float()).float().mean())
        return F.binary_cross_entropy_with_logits(logits, attrs), {"attr_acc": acc}

    def zero_shot_scores(self, hidden: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        """``(batch, unseen)`` DAP scores of the unseen classes."""
        probs = torch.sigmoid(self.attributes(pool(hidden, lengths)))
        prior = self.classes.seen_vectors.mean(0)
        return dap_scores(probs, self.classes.unseen_vectors, prior)
