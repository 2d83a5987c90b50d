"""What the loop minimises: a task loss plus weighted transfer-method losses.

The whole objective is one ``nn.Module`` whose ``forward`` computes every term,
so DistributedDataParallel sees all parameters (heads and domain classifiers
included) inside one forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn


@dataclass
class StepOutput:
    """What a task computes for one batch; transfer methods read from it."""

    loss: torch.Tensor  # the task loss (scalar)
    hidden: torch.Tensor | None = None  # backbone features: (B, T, D) or (B, D)
    lengths: torch.Tensor | None = None  # (B,) for sequences, None for fixed-size inputs
    logits: Any = None  # task outputs (e.g. {language: (B_l, T, C)} or (B, C))
    batch_size: int = 0
    logs: dict[str, float] = field(default_factory=dict)


class TaskModule(nn.Module):
    """The task the loop trains (speech CTC, image classification): the model plus its task loss.

    Subclasses own the model as ``self.model`` and implement every method below;
    transfer methods read what they need through them, never through the kind of task.
    """

    model: nn.Module

    def encode(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Backbone features ``(B, T, D)`` with lengths ``(B,)``, or ``(B, D)`` with None."""
        raise NotImplementedError

    def forward(self, batch: Any) -> StepOutput:
        """The task loss and what the methods read (features, outputs)."""
        raise NotImplementedError

    def distributions(self, out: StepOutput, batch: Any) -> dict[str, torch.Tensor]:
        """``{group: (positions, classes)}`` outputs of the items' own heads (KL to a source model)."""
        raise NotImplementedError

    def every_head_distributions(self, model: nn.Module, out: StepOutput) -> dict[str, torch.Tensor]:
        """``{group: (positions, classes)}`` of EVERY head of ``model`` on every item (learning without forgetting)."""
        raise NotImplementedError


class TransferMethod(nn.Module):
    """A loss or regulariser added to the task loss: ``task_loss + weight * method_loss``.

    Subclasses implement :meth:`forward` and return ``(loss, logs)``.
    ``progress`` runs from 0 to 1 over training (for schedules such as DANN's lambda).
    """

    name = "method"

    def forward(self, model: nn.Module, batch: Any, out: StepOutput, progress: float
                ) -> tuple[torch.Tensor, dict[str, float]]:
        raise NotImplementedError


class Objective(nn.Module):
    """``task(batch).loss + sum_i weight_i * method_i(...)``.

    Args:
        task: the :class:`TaskModule` (``forward(batch) -> StepOutput``, the model as ``task.model``).
        methods: ``(weight, method)`` pairs.
    """

    def __init__(self, task: TaskModule, methods: list[tuple[float, TransferMethod]] = ()) -> None:
        super().__init__()
        self.task = task
        self.methods = nn.ModuleList(m for _, m in methods)
        self.weights = [float(w) for w, _ in methods]

    @property
    def model(self) -> nn.Module:
        return self.task.model

    def forward(self, batch: Any, progress: float = 0.0) -> tuple[torch.Tensor, StepOutput]:
        out = self.task(batch)
        total = out.loss
        for weight, method in zip(self.weights, self.methods):
            value, logs = method(self.task.model, batch, out, progress)
            total = total + weight * value
            out.logs[f"{method.name}_loss"] = float(value.detach())
            out.logs.update({f"{method.name}_{k}": v for k, v in logs.items()})
        out.logs["task_loss"] = float(out.loss.detach())
        return total, out
