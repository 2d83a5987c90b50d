"""Front ends: what turns a batch of model inputs into what the encoder reads.

``fbank``: Kaldi filterbanks (computed by :mod:`speechtl.data.features`) in;
VTLP and SpecAugment in training mode, then normalisation (global statistics
stored in the model, or per utterance). A front end is looked up by name in
:data:`FRONTENDS` and exposes ``out_dim`` (the encoder's input width) and
``features`` (the feature settings its inputs were made with).
"""

from __future__ import annotations

import torch
from torch import nn

from speechtl.data.config import FeatureConfig, SpecAugmentConfig
from speechtl.data.features import VTLP, SpecAugment, build_normalizer
from speechtl.registry import Registry

FRONTENDS: Registry = Registry("front end")


class FbankFrontend(nn.Module):
    """Filterbanks ``(B, T, num_mel_bins)`` in, normalised (and in training, augmented) filterbanks out.

    Args:
        features: the settings the filterbanks were computed with.
        specaugment: training-time augmentation (VTLP before, SpecAugment after normalisation).
    """

    def __init__(self, features: FeatureConfig, specaugment: SpecAugmentConfig) -> None:
        super().__init__()
        self.features = features
        self.vtlp = VTLP(specaugment, features.top_frequency)
        self.normalizer = build_normalizer(features)
        self.specaugment = SpecAugment(specaugment)
        self.out_dim = features.num_mel_bins

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.specaugment(self.normalizer(self.vtlp(feats), lengths)), lengths


@FRONTENDS.register("fbank")
def fbank_frontend(features: FeatureConfig, specaugment: SpecAugmentConfig) -> FbankFrontend:
    return FbankFrontend(features, specaugment)
