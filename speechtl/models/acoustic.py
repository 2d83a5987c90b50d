"""The multilingual acoustic model, assembled from a front end, a shared encoder and language heads.

:func:`build_acoustic_model` is the factory: it builds each part from its
recipe section (:class:`AcousticModelConfig` gathers the sections a model is
made from) and injects them, as torchaudio builds ``Wav2Vec2Model`` from a
feature extractor and an encoder.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from speechtl.data.config import FeatureConfig, SpecAugmentConfig
from speechtl.models.attributes import AttributeDetectors
from speechtl.models.config import ModelConfig
from speechtl.errors import RecipeError
from speechtl.models.encoders import ENCODER_INPUTS, build_encoder
from speechtl.models.frontends import FRONTENDS
from speechtl.models.heads import LanguageHeads
from speechtl.text.inventory import Inventory
from speechtl.text.units import UnitConfig


@dataclass
class AcousticModelConfig:
    """The recipe sections an acoustic model is built from (stored with its weights)."""

    features: FeatureConfig = field(default_factory=FeatureConfig)
    specaugment: SpecAugmentConfig = field(default_factory=SpecAugmentConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    units: UnitConfig = field(default_factory=UnitConfig)


class AcousticModel(nn.Module):
    """Model inputs in, per-language CTC log-probabilities out.

    ``model.encoder`` is the shared backbone (the contract in
    :mod:`speechtl.models.backbone`), ``model.heads`` the per-language CTC heads.

    Args:
        frontend: ``(inputs, lengths) -> (features, lengths)``; exposes ``out_dim`` and ``features``.
        encoder: the backbone, ``(features, lengths) -> (hidden, lengths)``; exposes ``out_dim``
            and ``subsampling``.
        heads: one output layer per language.
        config: the sections the parts were built from (saved beside the weights).
        attributes: articulatory attribute detectors beside the heads (``model.attributes`` > 0),
            from which a head for any inventory can be composed (:mod:`speechtl.models.attributes`).

    Example:
        >>> from speechtl.models.config import ModelConfig
        >>> config = AcousticModelConfig(model=ModelConfig(encoder="tdnn", dim=16, layers=1))
        >>> model = build_acoustic_model(config, {"de": Inventory(["a", "b"])})
        >>> hidden, hlens = model(torch.randn(2, 100, 80), torch.tensor([100, 60]))  # filterbanks, frames
        >>> hidden.shape, hlens.tolist()                   # (B, T', D): 4x subsampling
        (torch.Size([2, 25, 16]), [25, 15])
        >>> model.log_probs(hidden, "de").shape            # (B, T', |inventory de|): blank, |, a, b
        torch.Size([2, 25, 4])
    """

    def __init__(self, frontend: nn.Module, encoder: nn.Module, heads: LanguageHeads,
                 config: AcousticModelConfig, attributes: AttributeDetectors | None = None) -> None:
        super().__init__()
        self.frontend = frontend
        self.encoder = encoder
        self.heads = heads
        self.config = config
        self.attributes = attributes  # articulatory attribute detectors (zero-shot phonemes), or None
        # serialized SentencePiece model per language when the heads output subwords
        self.unit_models: dict[str, bytes] = {}

    @property
    def out_dim(self) -> int:
        return self.encoder.out_dim

    @property
    def features(self) -> FeatureConfig:
        """The feature settings the model's inputs are computed with."""
        return self.frontend.features

    @property
    def units(self) -> str:
        """What the heads output: ``phoneme`` or ``subword``."""
        return self.config.units.kind

    @property
    def frame_seconds(self) -> float:
        """Seconds per output frame (the feature hop times the encoder's subsampling)."""
        return self.features.frame_shift_ms / 1000 * self.encoder.subsampling

    @property
    def inventories(self) -> dict[str, Inventory]:
        return self.heads.inventories

    @property
    def languages(self) -> list[str]:
        return self.heads.languages

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode a batch.

        Args:
            feats: ``(batch, frames, features.dim)``: filterbanks or waveform frames.
            lengths: ``(batch,)`` valid frames.

        Returns:
            ``(hidden, hidden_lengths)``: ``(batch, frames', dim)`` and ``(batch,)``.
        """
        return self.encoder(*self.frontend(feats, lengths))

    def log_probs(self, hidden: torch.Tensor, language: str) -> torch.Tensor:
        """``(batch, time, |inventory|)`` log-probabilities of ``language``'s head."""
        return torch.log_softmax(self.heads(hidden, language), dim=-1)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def build_acoustic_model(config: AcousticModelConfig, inventories: dict[str, Inventory]) -> AcousticModel:
    """Front end, encoder and heads built from ``config`` and joined into one model."""
    reads = ENCODER_INPUTS.get(config.model.encoder, "fbank")
    if reads != config.features.kind:
        raise RecipeError(f"model.encoder: {config.model.encoder} reads {reads} features; the recipe's "
                          f"features.kind is {config.features.kind} (set features.kind: {reads})")
    frontend = FRONTENDS.get(config.features.kind)(config.features, config.specaugment)
    encoder = build_encoder(frontend.out_dim, config.model)
    attributes = AttributeDetectors(encoder.out_dim) if config.model.attributes > 0 else None
    return AcousticModel(frontend, encoder, LanguageHeads(encoder.out_dim, inventories), config, attributes)
