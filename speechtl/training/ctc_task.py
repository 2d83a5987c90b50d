"""The multilingual CTC task: shared encoder, each utterance scored by its language's head."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from speechtl.data.dataset import Batch
from speechtl.models.acoustic import AcousticModel
from speechtl.training.objective import StepOutput


def multilingual_ctc_loss(model: AcousticModel, hidden: torch.Tensor, lengths: torch.Tensor,
                          batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Masked multi-head CTC: sum of per-utterance CTC losses, divided by the batch size.

    Utterances of one language go through that language's head together.

    Args:
        hidden: encoder output ``(B, T, D)``; lengths ``(B,)``.

    Returns:
        The loss and ``{language: log_probs (B_l, T, C)}``.
    """
    total = hidden.new_zeros(())
    logits = {}
    for language in sorted(set(batch.languages)):
        rows = [i for i, lang in enumerate(batch.languages) if lang == language]
        idx = torch.tensor(rows, device=hidden.device)
        log_probs = model.log_probs(hidden.index_select(0, idx), language)
        targets = [batch.targets[i] for i in rows]
        loss = F.ctc_loss(
            log_probs.transpose(0, 1),  # (T, B, C)
            torch.cat(targets).to(hidden.device),
            lengths.index_select(0, idx),
            torch.tensor([len(t) for t in targets], device=hidden.device),
            blank=model.inventories[language].blank,
            reduction="sum",
            zero_infinity=True,
        )
        total = total + loss
        logits[language] = log_probs
    return total / len(batch), logits


class CTCTask(nn.Module):
    """Task module for :class:`~speechtl.training.objective.Objective`."""

    def __init__(self, model: AcousticModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: Batch) -> StepOutput:
        hidden, lengths = self.model(batch.feats, batch.lengths)
        loss, logits = multilingual_ctc_loss(self.model, hidden, lengths, batch)
        return StepOutput(loss=loss, hidden=hidden, lengths=lengths, logits=logits, batch_size=len(batch))
