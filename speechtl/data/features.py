"""Acoustic features: Kaldi-compatible log-mel filterbanks, SpecAugment and VTLP.

Stateless functions first (:func:`fbank`, :func:`fbank_batch`, :func:`spec_augment`,
:func:`warp_frequencies`), then the thin modules that wrap them (:class:`SpecAugment`,
:class:`VTLP`). Their normalisation (``features.cmvn``) is :mod:`speechtl.data.cmvn`.

Bandwidth: the mel filters reach up to ``FeatureConfig.top_frequency`` (the recipe's
``features.bandwidth``, or Nyquist). With a bandwidth that 8 kHz audio can serve
(e.g. 3800 Hz), 8 kHz telephone audio and 16 kHz audio of the same speech give
nearly the same features, and nothing above the band (resampling artefacts, or
content one kind of audio lacks) reaches the model. :func:`check_bandwidth` warns
when audio is recorded at a rate too low for the band the model reads.
"""

from __future__ import annotations

import logging

import torch
import torchaudio.compliance.kaldi as kaldi
import torchaudio.functional as AF
from torch import nn

from speechtl.errors import AudioError
from speechtl.data.config import FeatureConfig, SpecAugmentConfig
from speechtl.data.level import normalise_level

log = logging.getLogger(__name__)
_WARNED_RATES: set[tuple[int, float]] = set()  # (audio rate, band) pairs already warned about in this process


def check_bandwidth(source: str, audio_rate: int, cfg: FeatureConfig) -> bool:
    """Warn (naming ``source`` and the rates) when audio at ``audio_rate`` cannot fill the features' band.

    Audio sampled at ``audio_rate`` holds nothing above ``audio_rate / 2``; a model
    whose mel filters reach higher (``cfg.top_frequency``) sees empty top bins it never
    saw in training. The first file at each rate is named; later ones at the same rate
    are not, so a corpus of such files gives one warning.

    Returns:
        True when the rate serves the band.
    """
    if audio_rate / 2 + 1e-6 >= cfg.top_frequency:
        return True
    key = (int(audio_rate), float(cfg.top_frequency))
    if key not in _WARNED_RATES:
        _WARNED_RATES.add(key)
        log.warning("%s: recorded at %d Hz (nothing above %g Hz), but the model's features reach %g Hz "
                    "(features.sample_rate %d, bandwidth %g); its top mel bins will be empty. Use a model "
                    "with features.bandwidth <= %g (further files at %d Hz are not named)",
                    source, audio_rate, audio_rate / 2, cfg.top_frequency, cfg.sample_rate, cfg.bandwidth,
                    audio_rate / 2, audio_rate)
    return False


def num_frames(num_samples: int, sample_rate: int, cfg: FeatureConfig) -> int:
    """Frames :func:`compute_features` yields for ``num_samples``.

    Filterbanks: Kaldi's ``snip_edges``. Waveform: whole hops, once the audio is
    at least one ``frame_length_ms`` long (wav2vec 2.0's receptive field is 25 ms).
    """
    win = int(sample_rate * cfg.frame_length_ms / 1000)
    hop = int(sample_rate * cfg.frame_shift_ms / 1000)
    if num_samples < win:
        return 0
    return num_samples // hop if cfg.kind == "waveform" else 1 + (num_samples - win) // hop


def compute_features(wave: torch.Tensor, sample_rate: int, cfg: FeatureConfig, source: str = "audio") -> torch.Tensor:
    """What the model reads of one waveform: ``cfg.kind``'s function (:data:`FEATURE_KINDS`).

    With ``cfg.level_dbfs`` set, the waveform is first scaled to that level
    (:func:`speechtl.data.level.normalise_level`, from this recording alone).

    Returns:
        ``(frames, cfg.dim)``.
    """
    if cfg.level_dbfs is not None:
        wave = normalise_level(wave, sample_rate, cfg.level_dbfs)
    return FEATURE_KINDS[cfg.kind](wave, sample_rate, cfg, source)


def waveform_frames(wave: torch.Tensor, sample_rate: int, cfg: FeatureConfig, source: str = "audio") -> torch.Tensor:
    """The samples cut into frames of one hop: ``(samples,) -> (samples // hop, hop)``; a partial last hop is dropped.

    Raises:
        AudioError: audio shorter than one ``frame_length_ms``.
    """
    n = num_frames(wave.numel(), sample_rate, cfg)
    if n == 0:
        raise AudioError(f"{source}: {wave.numel() / sample_rate * 1000:.1f} ms of audio is shorter than one "
                         f"{cfg.frame_length_ms:g} ms analysis frame")
    hop = int(sample_rate * cfg.frame_shift_ms / 1000)
    return wave[: n * hop].reshape(n, hop)


def fbank(wave: torch.Tensor, sample_rate: int, cfg: FeatureConfig, source: str = "audio") -> torch.Tensor:
    """Log-mel filterbank of one waveform (torchaudio's Kaldi-compatible fbank, no dither).

    Args:
        wave: mono samples in [-1, 1], shape ``(samples,)``.
        sample_rate: Hz.
        cfg: feature settings.
        source: what to name in the error for audio shorter than one frame.

    Returns:
        ``(frames, num_mel_bins)``.
    """
    if num_frames(wave.numel(), sample_rate, cfg) == 0:
        raise AudioError(
            f"{source}: {wave.numel() / sample_rate * 1000:.1f} ms of audio is shorter than one "
            f"{cfg.frame_length_ms:g} ms analysis frame"
        )
    return kaldi.fbank(
        wave.unsqueeze(0) * 32768.0,  # Kaldi's scale: 16-bit integer range
        sample_frequency=sample_rate,
        num_mel_bins=cfg.num_mel_bins,
        frame_length=cfg.frame_length_ms,
        frame_shift=cfg.frame_shift_ms,
        dither=0.0,
        energy_floor=0.0,
        high_freq=cfg.top_frequency,  # the band the model reads (features.bandwidth); Nyquist by default
    )


FEATURE_KINDS = {"fbank": fbank, "waveform": waveform_frames}  # features.kind -> (wave, rate, cfg, source) -> frames


def fbank_batch(
    waves: torch.Tensor, lengths: torch.Tensor, sample_rate: int, cfg: FeatureConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """Filterbanks of a zero-padded batch; equal to :func:`fbank` on each item.

    Args:
        waves: ``(batch, samples)``.
        lengths: valid samples per item, ``(batch,)``.

    Returns:
        ``(feats, frame_lengths)``: ``(batch, frames, num_mel_bins)`` padded with
        zeros, and ``(batch,)``.
    """
    feats = [fbank(w[: int(n)], sample_rate, cfg) for w, n in zip(waves, lengths)]
    frame_lengths = torch.tensor([f.shape[0] for f in feats], dtype=torch.long)
    return nn.utils.rnn.pad_sequence(feats, batch_first=True), frame_lengths


def spec_augment(x: torch.Tensor, cfg: SpecAugmentConfig) -> torch.Tensor:
    """Frequency and time masking with an independent mask per utterance.

    Args:
        x: ``(batch, time, freq)``; masked cells are set to zero (the normalised mean).
    """
    spec = x.transpose(1, 2)  # torchaudio masks (..., freq, time)
    for _ in range(cfg.freq_masks):
        spec = AF.mask_along_axis_iid(spec.unsqueeze(1), cfg.freq_mask_width, 0.0, 2).squeeze(1)
    for _ in range(cfg.time_masks):
        spec = AF.mask_along_axis_iid(spec.unsqueeze(1), cfg.time_mask_width, 0.0, 3).squeeze(1)
    return spec.transpose(1, 2)


class SpecAugment(nn.Module):
    """SpecAugment (Park et al., 2019) active in training mode only."""

    def __init__(self, cfg: SpecAugmentConfig) -> None:
        super().__init__()
        self.cfg = cfg

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or not self.cfg.enabled:
            return x
        return spec_augment(x, self.cfg)


KALDI_LOW_FREQ = 20.0  # torchaudio.compliance.kaldi.fbank's lowest mel filter edge (its default)


def warp_frequencies(x: torch.Tensor, alpha: torch.Tensor, top_frequency: float) -> torch.Tensor:
    """Scale each utterance's frequency axis by ``alpha`` on its log-mel filterbank (VTLP).

    Output bin k takes the input's value at the frequency ``f_k / alpha`` (``f_k``
    the bin's centre on Kaldi's mel scale), linearly interpolated between bins
    and held at the edges: ``alpha > 1`` moves formants up, as a shorter vocal
    tract does. ``alpha = 1`` returns ``x`` unchanged.

    Args:
        x: ``(batch, time, num_mel_bins)`` log-mel features.
        alpha: ``(batch,)`` scale factors.
        top_frequency: the filterbank's top edge in Hz (``FeatureConfig.top_frequency``).
    """
    bins = x.shape[-1]
    lo, hi = kaldi.mel_scale(torch.tensor(KALDI_LOW_FREQ)), kaldi.mel_scale(torch.tensor(float(top_frequency)))
    step = (hi - lo) / (bins + 1)
    centres_hz = kaldi.inverse_mel_scale(lo + step * torch.arange(1, bins + 1, dtype=torch.float32))
    source_hz = centres_hz[None, :] / alpha.to(torch.float32)[:, None]  # (batch, bins)
    pos = ((kaldi.mel_scale(source_hz) - lo) / step - 1).clamp(0, bins - 1).to(x.device)
    left = pos.floor().long().clamp(max=bins - 2) if bins > 1 else pos.long()
    frac = (pos - left).to(x.dtype)[:, None, :]
    left = left[:, None, :].expand(-1, x.shape[1], -1)
    right = (left + 1).clamp(max=bins - 1)
    return x.gather(2, left) * (1 - frac) + x.gather(2, right) * frac


class VTLP(nn.Module):
    """Vocal tract length perturbation (Jaitly & Hinton 2013): a random frequency scale per utterance.

    Active in training mode only, with scales drawn uniformly from ``cfg.vtlp``; applied
    to the filterbanks (whose top edge is ``top_frequency`` Hz) before normalisation.
    """

    def __init__(self, cfg: SpecAugmentConfig, top_frequency: float) -> None:
        super().__init__()
        self.cfg = cfg
        self.top_frequency = top_frequency

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lo, hi = self.cfg.vtlp
        if not self.training or not self.cfg.enabled or lo == hi == 1.0:
            return x
        alpha = lo + (hi - lo) * torch.rand(x.shape[0])
        return warp_frequencies(x, alpha, self.top_frequency)
