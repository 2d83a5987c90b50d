"""Multitask learning: one shared trunk, named heads, per-head loss weights.

Caruana 1997, "Multitask Learning" (Machine Learning 28). The multilingual
acoustic model is one instance: a shared encoder with one CTC head per language
(:class:`~speechtl.tasks.speech.objective.CTCTask` takes per-language weights). This
module adds *auxiliary* heads to any backbone: each names an item label
(language, speaker, domain, image class...) from the shared features, and the
loop adds ``sum_h weight_h * loss_h`` to the main task's loss.
"""

from __future__ import annotations

import torch
from torch import nn

from speechtl.training.objective import StepOutput, TransferMethod
from speechtl.transfer.domain_classifier import DomainClassifier
from speechtl.transfer.labels import LabelSpace


class AuxHead(nn.Module):
    """One named auxiliary head: a classifier of ``labels`` over backbone features."""

    def __init__(self, in_dim: int, labels: LabelSpace, hidden: int = 0, level: str = "utterance") -> None:
        super().__init__()
        self.labels = labels
        self.classifier = DomainClassifier(in_dim, len(labels), hidden, 1 if hidden else 0, 0.0, level)

    def logits(self, hidden: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        """``(batch, len(labels))`` (or per frame at frame level)."""
        return self.classifier(hidden, lengths)


class Multitask(TransferMethod):
    """``sum_h weight_h * cross_entropy_h`` over named auxiliary heads.

    Args:
        heads: ``{name: (weight, AuxHead)}``.

    Logs each head's loss and accuracy (``multitask_{name}_loss``, ``..._acc``).
    """

    name = "multitask"

    def __init__(self, heads: dict[str, tuple[float, AuxHead]]) -> None:
        super().__init__()
        self.heads = nn.ModuleDict({n: h for n, (_, h) in heads.items()})
        self.weights = {n: float(w) for n, (w, _) in heads.items()}

    def forward(self, model: nn.Module, batch, out: StepOutput, progress: float
                ) -> tuple[torch.Tensor, dict[str, float]]:
        total = out.hidden.new_zeros(())
        logs: dict[str, float] = {}
        for name, head in self.heads.items():
            labels = head.labels.ids(batch, out.hidden.device)
            loss, acc, _ = head.classifier.loss(out.hidden, out.lengths, labels)
            total = total + self.weights[name] * loss
            logs[f"{name}_loss"] = float(loss.detach())
            logs[f"{name}_acc"] = acc
        return total, logs
