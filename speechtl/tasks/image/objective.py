"""Image classification as a task of the one training loop: cross-entropy on labelled images."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from speechtl.training.objective import StepOutput, TaskModule
from speechtl.tasks.image.data import ImageBatch
from speechtl.tasks.image.model import ImageModel


class ClassificationTask(TaskModule):
    """The image task module (:class:`~speechtl.training.objective.TaskModule`).

    The classifier covers ``model.class_names``; labelled images of other classes
    (none in a well-formed recipe) and unlabelled images add no task loss.
    """

    def __init__(self, model: ImageModel) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("class_ids", torch.full((10,), -1, dtype=torch.long), persistent=False)
        for i, name in enumerate(model.class_names):
            self.class_ids[int(name)] = i

    def encode(self, batch: ImageBatch) -> tuple[torch.Tensor, None]:
        """Backbone features ``(B, out_dim)``."""
        return self.model(batch.x, None)

    def targets(self, batch: ImageBatch) -> torch.Tensor:
        """``(B,)`` classifier ids; -1 for unlabelled images and classes outside the classifier."""
        ids = self.class_ids.to(batch.labels.device)[batch.labels]
        return torch.where(batch.labelled, ids, torch.full_like(ids, -1))

    def forward(self, batch: ImageBatch) -> StepOutput:
        hidden, _ = self.encode(batch)
        logits = self.model.classify(hidden)
        target = self.targets(batch)
        keep = target >= 0
        logs = {}
        if bool(keep.any()):
            loss = F.cross_entropy(logits[keep], target[keep])
            logs["task_acc"] = float((logits[keep].argmax(1) == target[keep]).float().mean())
        else:
            loss = logits.sum() * 0.0
        return StepOutput(loss=loss, hidden=hidden, lengths=None, logits=logits, batch_size=len(batch), logs=logs)

    def distributions(self, out: StepOutput, batch: ImageBatch) -> dict[str, torch.Tensor]:
        """``{"classes": (B, C)}`` logits (for KL to a source model)."""
        return {"classes": out.logits}

    def every_head_distributions(self, model: nn.Module, out: StepOutput) -> dict[str, torch.Tensor]:
        """The one classifier of ``model`` on every image: ``{"classes": (B, C)}``."""
        return {"classes": model.classify(out.hidden)}
