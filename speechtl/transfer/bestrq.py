"""BEST-RQ: self-supervised pre-training with a random-projection quantiser (Chiu et al. 2022).

"Self-supervised learning with random-projection quantizer for speech recognition":
the targets need no learning. Normalised filterbank frames are stacked to the
encoder's frame rate, projected by a frozen random matrix and l2-normalised; each
stack's target is the index of its nearest codeword in a frozen random, l2-normalised
codebook. Spans of input frames are replaced by noise, and the encoder learns to
predict the targets of the masked positions (cross-entropy through a linear head that
is discarded afterwards). Then the encoder starts any recipe through ``transfer.source``.

Stateless functions first (:func:`quantize`, :func:`span_mask`), then the task module.
"""

from __future__ import annotations

import torch
from torch import nn

from speechtl.tensors import length_mask
from speechtl.training.objective import StepOutput, TaskModule
from speechtl.transfer.config import PretrainConfig


def stack_frames(feats: torch.Tensor, stack: int) -> torch.Tensor:
    """``(B, T, F) -> (B, T // stack, stack * F)``: consecutive frames side by side (the remainder dropped)."""
    b, t, f = feats.shape
    t = t // stack
    return feats[:, : t * stack].reshape(b, t, stack * f)


def quantize(stacked: torch.Tensor, projection: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """Nearest-codeword targets ``(B, T)`` of ``stacked`` ``(B, T, D)`` features.

    Args:
        projection: ``(D, code_dim)`` frozen random matrix.
        codebook: ``(codes, code_dim)`` frozen random codewords, l2-normalised.
    """
    projected = nn.functional.normalize(stacked @ projection, dim=-1)
    # codewords and projections are unit vectors: the nearest has the largest dot product
    return (projected @ codebook.t()).argmax(-1)


def span_mask(lengths: torch.Tensor, frames: int, prob: float, span: int, generator: torch.Generator | None = None
              ) -> torch.Tensor:
    """``(B, frames)`` True on masked frames: each valid frame starts a ``span``-frame mask with probability ``prob``.

    Every utterance gets at least one span (a batch always has something to predict).
    """
    valid = length_mask(lengths, frames)
    starts = (torch.rand(valid.shape, generator=generator) < prob) & valid
    first = torch.zeros_like(starts)
    first[torch.arange(len(lengths)), (torch.rand(len(lengths), generator=generator) *
                                       lengths.clamp(min=1).float()).long().clamp(max=frames - 1)] = True
    starts = starts | (first & valid)
    # a frame is masked when a span started within the span frames before it
    padded = nn.functional.pad(starts.float()[:, None, :], (span - 1, 0))
    masked = nn.functional.max_pool1d(padded, span, stride=1)[:, 0, :] > 0
    return masked & valid


class BestRQ(TaskModule):
    """BEST-RQ's masked prediction of random-projection-quantised targets, over an acoustic model's encoder.

    Args:
        model: the model being pre-trained (its front end's ``normalizer`` and its ``encoder``;
            the encoder exposes ``subsampling`` and ``out_dim``).
        feature_dim: values per input frame.
        cfg: the recipe's ``pretrain`` section.
    """

    def __init__(self, model: nn.Module, feature_dim: int, cfg: PretrainConfig) -> None:
        super().__init__()
        self.model = model
        self.cfg = cfg
        self.stack = model.encoder.subsampling
        rng = torch.Generator().manual_seed(cfg.seed)
        projection = torch.empty(self.stack * feature_dim, cfg.code_dim)
        nn.init.xavier_normal_(projection, generator=rng)
        self.register_buffer("projection", projection)
        self.register_buffer("codebook", nn.functional.normalize(torch.randn(cfg.codebook_size, cfg.code_dim,
                                                                             generator=rng), dim=-1))
        self.head = nn.Linear(model.encoder.out_dim, cfg.codebook_size)
        self.mask_rng = torch.Generator().manual_seed(cfg.seed + 1)

    def encode(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model(batch.feats, batch.lengths)

    def forward(self, batch) -> StepOutput:
        feats, lengths = batch.feats, batch.lengths
        with torch.no_grad():
            normalised = self.model.frontend.normalizer(feats, lengths)
            targets = quantize(stack_frames(normalised, self.stack), self.projection, self.codebook)
            masked = span_mask(lengths.cpu(), feats.shape[1], self.cfg.mask_prob, self.cfg.mask_span,
                               self.mask_rng).to(feats.device)
            noise = torch.randn(feats.shape, generator=self.mask_rng).to(feats.device) * self.cfg.noise_std
            inputs = torch.where(masked[..., None], noise, normalised)
        hidden, hidden_lengths = self.model.encoder(inputs, lengths)
        t = min(hidden.shape[1], targets.shape[1])
        # an output frame is predicted where any of its input frames was masked
        out_masked = stack_frames(masked[..., None].float(), self.stack).amax(-1)[:, :t] > 0
        keep = out_masked & length_mask(torch.minimum(hidden_lengths, lengths // self.stack), t)
        logits = self.head(hidden[:, :t])
        loss = nn.functional.cross_entropy(logits[keep], targets[:, :t][keep])
        with torch.no_grad():
            accuracy = float((logits[keep].argmax(-1) == targets[:, :t][keep]).float().mean())
        return StepOutput(loss=loss, hidden=hidden, lengths=hidden_lengths, batch_size=len(lengths),
                          logs={"masked_accuracy": accuracy, "masked_frames": float(keep.sum())})
