"""The multilingual acoustic model: VTLP, normalisation, SpecAugment, shared encoder, language heads."""

from __future__ import annotations

import torch
from torch import nn

from speechtl.data.features import VTLP, SpecAugment, build_normalizer
from speechtl.models.encoders import build_encoder
from speechtl.models.heads import LanguageHeads
from speechtl.recipe import Recipe
from speechtl.text.inventory import Inventory


class AcousticModel(nn.Module):
    """Filterbank features in, per-language phoneme log-probabilities out.

    ``model.encoder`` is the shared backbone (the contract in
    :mod:`speechtl.models.backbone`), ``model.heads`` the per-language CTC heads.

    Example:
        >>> hidden, hlens = model(feats, lengths)          # (B, T', D), (B,)
        >>> logp = model.log_probs(hidden, "de")           # (B, T', |inventory de|)
    """

    def __init__(self, recipe: Recipe, inventories: dict[str, Inventory]) -> None:
        super().__init__()
        self.recipe = recipe
        self.normalizer = build_normalizer(recipe.features)
        self.specaugment = SpecAugment(recipe.specaugment)
        self.vtlp = VTLP(recipe.specaugment)
        self.encoder = build_encoder(recipe.features.num_mel_bins, recipe.model)
        self.heads = LanguageHeads(self.encoder.out_dim, inventories)
        # serialized SentencePiece model per language when the heads output subwords
        self.unit_models: dict[str, bytes] = {}

    @property
    def out_dim(self) -> int:
        return self.encoder.out_dim

    @property
    def inventories(self) -> dict[str, Inventory]:
        return self.heads.inventories

    @property
    def languages(self) -> list[str]:
        return self.heads.languages

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode a batch of filterbanks.

        Args:
            feats: ``(batch, frames, num_mel_bins)``.
            lengths: ``(batch,)`` valid frames.

        Returns:
            ``(hidden, hidden_lengths)``: ``(batch, frames', dim)`` and ``(batch,)``.
        """
        x = self.specaugment(self.normalizer(self.vtlp(feats), lengths))
        return self.encoder(x, lengths)

    def log_probs(self, hidden: torch.Tensor, language: str) -> torch.Tensor:
        """``(batch, time, |inventory|)`` log-probabilities of ``language``'s head."""
        return torch.log_softmax(self.heads(hidden, language), dim=-1)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
