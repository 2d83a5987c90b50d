"""The multilingual CTC task: shared encoder, each utterance scored by its language's head."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from speechtl.data.dataset import Batch
from speechtl.models.acoustic import AcousticModel
from speechtl.tensors import length_mask
from speechtl.training.objective import StepOutput, TaskModule


def multilingual_ctc_loss(model: AcousticModel, hidden: torch.Tensor, lengths: torch.Tensor,
                          batch: Batch, weights: dict[str, float] | None = None,
                          log_probs_of: Callable[[torch.Tensor, str], torch.Tensor] | None = None
                          ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Masked multi-head CTC: sum of per-utterance CTC losses, divided by the labelled items.

    Utterances of one language go through that language's head together; unlabelled
    utterances (``batch.labelled``) get log-probabilities but no loss. ``weights``
    scales each language's share (multitask per-head weights; default 1). ``log_probs_of(hidden,
    language)`` gives a language's log-probabilities (default: its head, ``model.log_probs``).

    Args:
        hidden: encoder output ``(B, T, D)``; lengths ``(B,)``.

    Returns:
        The loss and ``{language: log_probs (B_l, T, C)}`` over all of the language's items.
    """
    total = hidden.new_zeros(())
    logits = {}
    labelled = 0
    for language in sorted(set(batch.languages)):
        rows = [i for i, lang in enumerate(batch.languages) if lang == language]
        idx = torch.tensor(rows, device=hidden.device)
        log_probs = (log_probs_of or model.log_probs)(hidden.index_select(0, idx), language)
        logits[language] = log_probs
        keep = [j for j, i in enumerate(rows) if batch.is_labelled(i)]
        if not keep:
            continue
        labelled += len(keep)
        targets = [batch.targets[rows[j]] for j in keep]
        sel = torch.tensor(keep, device=hidden.device)
        loss = F.ctc_loss(
            log_probs.index_select(0, sel).transpose(0, 1),  # (T, B, C)
            torch.cat(targets).to(hidden.device),
            lengths.index_select(0, idx).index_select(0, sel),
            torch.tensor([len(t) for t in targets], device=hidden.device),
            blank=model.inventories[language].blank,
            reduction="sum",
            zero_infinity=True,
        )
        total = total + (weights or {}).get(language, 1.0) * loss
    if labelled == 0:
        return hidden.sum() * 0.0, logits  # keeps the graph: the methods' losses still train
    return total / labelled, logits


def attribute_ctc_loss(model: AcousticModel, hidden: torch.Tensor, lengths: torch.Tensor, batch: Batch,
                       weights: dict[str, float] | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """CTC of the heads composed from the model's attribute detectors (see :mod:`speechtl.models.attributes`).

    Every language's phonemes are scored through the same detectors, so this term
    teaches the encoder articulatory attributes shared across languages.
    """
    detectors = model.attributes
    return multilingual_ctc_loss(model, hidden, lengths, batch, weights,
                                 lambda h, language: detectors.log_probs(h, model.inventories[language]))


class CTCTask(TaskModule):
    """The speech task module (:class:`~speechtl.training.objective.TaskModule`).

    Args:
        model: the acoustic model.
        weights: per-language loss weights (multitask per-head weights; default 1).
    """

    def __init__(self, model: AcousticModel, weights: dict[str, float] | None = None) -> None:
        super().__init__()
        self.model = model
        self.weights = dict(weights or {})

    def encode(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """Backbone features ``(B, T', D)`` and lengths ``(B,)``."""
        return self.model(batch.feats, batch.lengths)

    def forward(self, batch: Batch) -> StepOutput:
        hidden, lengths = self.encode(batch)
        loss, logits = multilingual_ctc_loss(self.model, hidden, lengths, batch, self.weights)
        logs = {}
        if self.model.attributes is not None:  # the multitask term of model.attributes, shared by all languages
            attributes, _ = attribute_ctc_loss(self.model, hidden, lengths, batch, self.weights)
            loss = loss + self.model.config.model.attributes * attributes
            logs["attribute_ctc"] = float(attributes.detach())
        return StepOutput(loss=loss, hidden=hidden, lengths=lengths, logits=logits, batch_size=len(batch), logs=logs)

    def distributions(self, out: StepOutput, batch: Batch) -> dict[str, torch.Tensor]:
        """``{language: (valid frames, classes)}`` log-probabilities (for KL to a source model)."""
        dists = {}
        for language, log_probs in out.logits.items():
            rows = torch.tensor([i for i, lang in enumerate(batch.languages) if lang == language],
                                device=log_probs.device)
            lens = out.lengths.index_select(0, rows)
            valid = length_mask(lens, log_probs.shape[1])
            dists[language] = log_probs[valid]
        return dists

    def every_head_distributions(self, model: AcousticModel, out: StepOutput) -> dict[str, torch.Tensor]:
        """``{language: (valid frames, classes)}`` of EVERY head of ``model`` on every item.

        For learning without forgetting: the old languages' outputs on new-language audio.
        """
        valid = length_mask(out.lengths, out.hidden.shape[1])
        frames = out.hidden[valid]
        return {language: model.log_probs(frames, language) for language in model.languages}

