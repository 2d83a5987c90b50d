"""A domain classifier over backbone features, utterance-pooled or frame-level.

Used by DANN behind a gradient reversal layer, and by multitask learning as an
auxiliary classification head (language, speaker, ...): both are "an MLP that
names a categorical label from backbone features".
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from speechtl.models.backbone import pool
from speechtl.tensors import length_mask


class DomainClassifier(nn.Module):
    """MLP from features to class logits.

    Args:
        in_dim: feature width (the backbone's ``out_dim``).
        num_classes: domains (or classes).
        hidden: hidden width; ``layers`` hidden layers (0 = one linear layer).
        level: ``"utterance"`` pools sequences over valid frames, ``"frame"``
            classifies every valid frame; fixed-size features ``(batch, dim)``
            are classified as they are.
    """

    def __init__(self, in_dim: int, num_classes: int, hidden: int = 128, layers: int = 2,
                 dropout: float = 0.0, level: str = "utterance") -> None:
        super().__init__()
        if level not in ("utterance", "frame"):
            raise ValueError(f"level must be 'utterance' or 'frame', got {level!r}")
        self.level = level
        mods: list[nn.Module] = []
        width = in_dim
        for _ in range(layers):
            mods += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden
        mods.append(nn.Linear(width, num_classes))
        self.net = nn.Sequential(*mods)
        self.num_classes = num_classes

    def forward(self, hidden: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Logits: ``(batch, classes)``, or ``(batch, time, classes)`` at frame level."""
        if hidden.dim() == 3 and self.level == "utterance":
            hidden = pool(hidden, lengths)
        return self.net(hidden)

    def loss(self, hidden: torch.Tensor, lengths: torch.Tensor | None, labels: torch.Tensor
             ) -> tuple[torch.Tensor, float, int]:
        """Mean cross-entropy over items (or their valid frames) whose label is not -1.

        Args:
            hidden: ``(batch, dim)`` or ``(batch, time, dim)``.
            lengths: ``(batch,)`` or None.
            labels: ``(batch,)`` class ids, -1 for items without a label.

        Returns:
            ``(loss, accuracy, count)``; the loss is a zero that keeps the graph when no item counts.
        """
        logits = self(hidden, lengths)
        if logits.dim() == 3:
            time = logits.shape[1]
            frames = (length_mask(lengths, time) if lengths is not None
                      else torch.ones(logits.shape[:2], dtype=torch.bool, device=logits.device))
            labels = labels[:, None].expand(-1, time)
            keep = frames & (labels >= 0)
            logits, labels = logits[keep], labels[keep]
        else:
            keep = labels >= 0
            logits, labels = logits[keep], labels[keep]
        if labels.numel() == 0:
            return hidden.sum() * 0.0, 0.0, 0
        loss = F.cross_entropy(logits, labels)
        acc = float((logits.argmax(-1) == labels).float().mean())
        return loss, acc, int(labels.numel())
