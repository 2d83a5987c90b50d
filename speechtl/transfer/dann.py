"""Domain-adversarial training (DANN).

Ganin, Ustinova, Ajakan, Germain, Larochelle, Laviolette, Marchand & Lempitsky
2016, "Domain-Adversarial Training of Neural Networks" (JMLR 17). Backbone
features go to the task head and, through a gradient reversal layer, to a
domain classifier. The classifier learns to tell the domains apart; the reversed
gradient teaches the backbone features it cannot tell apart. The reversal
strength follows ``lambda(p) = 2 / (1 + exp(-gamma p)) - 1`` over training
progress ``p`` in [0, 1], so early noisy domain gradients do not swamp the task.

Domains are any item label (``domain``: labelled source vs unlabelled target
data; ``speaker`` for speaker-invariant training), so the same module serves
images and speech, utterance-pooled or frame by frame. The classifier reads the
backbone's output, or (``layer`` k, :class:`BlockTap`) the output of its k-th block,
so the reversed gradient reaches only the blocks up to k (the layers above stay free
to use what the domain tells, as in speaker-adversarial training on lower layers).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from speechtl.errors import RecipeError
from speechtl.training.objective import StepOutput, TransferMethod
from speechtl.transfer.domain_classifier import DomainClassifier
from speechtl.transfer.grl import grad_reverse
from speechtl.transfer.labels import LabelSpace


def dann_lambda(progress: float, gamma: float = 10.0) -> float:
    """``2 / (1 + exp(-gamma p)) - 1``: 0 at the start, towards 1 at the end."""
    return 2.0 / (1.0 + math.exp(-gamma * progress)) - 1.0


class BlockTap:
    """The hidden state after one encoder block in the latest forward pass (forward hooks fill it).

    Every block up to ``layer`` writes its output, so a block skipped by layer drop leaves
    the state of the block before it (which is what the skipped block passes on); None when
    every one of them was skipped.

    Args:
        model: a model whose ``encoder.blocks`` keep the frame rate (wav2vec 2.0, Conformer, TDNN blocks).
        layer: which block, from 1.

    Raises:
        RecipeError: no such block.
    """

    def __init__(self, model: nn.Module, layer: int) -> None:
        blocks = model.encoder.blocks
        if not 1 <= layer <= len(blocks):
            raise RecipeError(f"transfer.dann.layer: {layer}; the encoder has blocks 1 to {len(blocks)} "
                              "(0: its output)")
        self.output: torch.Tensor | None = None
        model.encoder.register_forward_pre_hook(self._reset)
        for block in blocks[:layer]:
            block.register_forward_hook(self._keep)

    def _reset(self, module: nn.Module, args) -> None:
        self.output = None

    def _keep(self, module: nn.Module, args, output) -> None:
        self.output = output[0] if isinstance(output, tuple) else output  # wav2vec 2.0 layers: (x, position bias)


class DANN(TransferMethod):
    """Domain classifier behind a gradient reversal layer.

    Args:
        in_dim: backbone feature width.
        domains: the domain label and its values.
        gamma / max_lambda: the reversal schedule ``max_lambda * lambda(p)``.
        hidden / layers / dropout / level: the domain classifier (see
            :class:`~speechtl.transfer.domain_classifier.DomainClassifier`).

    Logs ``lambda`` and the domain classifier's accuracy ``acc`` (near chance when the
    features are domain-invariant).
    """

    name = "dann"

    def __init__(self, in_dim: int, domains: LabelSpace, gamma: float = 10.0, max_lambda: float = 1.0,
                 hidden: int = 128, layers: int = 2, dropout: float = 0.0, level: str = "utterance") -> None:
        super().__init__()
        self.domains = domains
        self.gamma = gamma
        self.max_lambda = max_lambda
        self.classifier = DomainClassifier(in_dim, len(domains), hidden, layers, dropout, level)
        self.tap: BlockTap | None = None  # the block whose output is read (None: the backbone's output)

    def forward(self, model: nn.Module, batch, out: StepOutput, progress: float
                ) -> tuple[torch.Tensor, dict[str, float]]:
        lambd = self.max_lambda * dann_lambda(progress, self.gamma)
        labels = self.domains.ids(batch, out.hidden.device)
        features = out.hidden if self.tap is None else self.tap.output
        if features is None:  # layer drop skipped every block up to the tapped one
            return out.hidden.sum() * 0.0, {"lambda": lambd}
        loss, acc, _ = self.classifier.loss(grad_reverse(features, lambd), out.lengths, labels)
        return loss, {"lambda": lambd, "acc": acc}
