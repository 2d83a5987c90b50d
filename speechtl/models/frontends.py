"""Front ends: what turns a batch of model inputs into what the encoder reads.

``fbank``: Kaldi filterbanks (computed by :mod:`speechtl.data.features`) in;
VTLP and SpecAugment in training mode, then normalisation (global statistics
stored in the model, per utterance or a sliding window; per speaker is done before,
by the data layer). ``waveform``: frames of samples in
(``features.kind: waveform``), normalised per utterance or passed as they are;
wav2vec 2.0-family encoders read them. A front end is looked up by
``features.kind`` in :data:`FRONTENDS` and exposes ``out_dim`` (the encoder's
input width) and ``features`` (the feature settings its inputs were made with).
"""

from __future__ import annotations

import torch
from torch import nn

from speechtl.data.config import FeatureConfig, SpecAugmentConfig
from speechtl.data.cmvn import Normaliser
from speechtl.data.features import VTLP, SpecAugment
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
        self.normalizer = Normaliser(features).module()
        self.specaugment = SpecAugment(specaugment)
        self.out_dim = features.num_mel_bins

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.specaugment(self.normalizer(self.vtlp(feats), lengths)), lengths


@FRONTENDS.register("fbank")
def fbank_frontend(features: FeatureConfig, specaugment: SpecAugmentConfig) -> FbankFrontend:
    return FbankFrontend(features, specaugment)


class WaveformFrontend(nn.Module):
    """Waveform frames ``(B, T, hop)`` in, the same frames (normalised per utterance with ``cmvn: utterance``) out.

    Augmentation of waveform models is the encoder's business (wav2vec 2.0 masks its own features).
    """

    def __init__(self, features: FeatureConfig) -> None:
        super().__init__()
        self.features = features
        self.normalizer = Normaliser(features).module()
        self.out_dim = features.dim

    def forward(self, frames: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.normalizer(frames, lengths), lengths


@FRONTENDS.register("waveform")
def waveform_frontend(features: FeatureConfig, specaugment: SpecAugmentConfig) -> WaveformFrontend:
    return WaveformFrontend(features)
