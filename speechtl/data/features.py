"""Acoustic features: Kaldi-compatible log-mel filterbanks, CMVN, SpecAugment and VTLP.

Stateless functions first (:func:`fbank`, :func:`fbank_batch`,
:func:`utterance_cmvn`, :func:`sliding_cmn`, :func:`spec_augment`, :func:`warp_frequencies`),
then the thin modules that wrap them (:class:`GlobalCMVN`, :class:`SlidingCMN`, :class:`SpecAugment`,
:class:`VTLP`).

Normalisation (``features.cmvn``): ``global`` removes the training corpus's mean and
scales by its deviation (statistics stored in the model); ``utterance`` normalises
each recording by its own mean and deviation; ``sliding`` removes the mean of a
window of past frames (Kaldi's ``apply-cmvn-sliding``), which follows a channel
that changes within a long recording; ``speaker`` normalises each speaker's
recordings by the mean and deviation of all of them together (Kaldi's per-speaker
CMVN over ``spk2utt``): the data layer does it (:func:`speaker_cmvn`), since a
model sees one batch and not the speaker's other recordings, and a recording of
no known speaker is its own speaker.

Bandwidth: the mel filters reach up to ``FeatureConfig.top_frequency`` (the recipe's
``features.bandwidth``, or Nyquist). With a bandwidth that 8 kHz audio can serve
(e.g. 3800 Hz), 8 kHz telephone audio and 16 kHz audio of the same speech give
nearly the same features, and nothing above the band (resampling artefacts, or
content one kind of audio lacks) reaches the model. :func:`check_bandwidth` warns
when audio is recorded at a rate too low for the band the model reads.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import torch
import torchaudio.compliance.kaldi as kaldi
import torchaudio.functional as AF
from torch import nn

from speechtl.errors import AudioError
from speechtl.data.config import FeatureConfig, SpecAugmentConfig
from speechtl.tensors import length_mask

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

    Returns:
        ``(frames, cfg.dim)``.
    """
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


def utterance_cmvn(x: torch.Tensor, lengths: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Normalise each utterance to zero mean, unit variance over its valid frames.

    Args:
        x: ``(batch, time, dim)``.
        lengths: ``(batch,)``.
    """
    mask = length_mask(lengths, x.shape[1]).unsqueeze(-1).to(x.dtype)
    count = mask.sum(1, keepdim=True).clamp(min=1)
    mean = (x * mask).sum(1, keepdim=True) / count
    var = (((x - mean) * mask) ** 2).sum(1, keepdim=True) / count
    return (x - mean) / (var + eps).sqrt() * mask


def sliding_cmn(x: torch.Tensor, lengths: torch.Tensor, window: int, min_window: int) -> torch.Tensor:
    """Remove from each frame the mean of a window of past frames, per utterance (variances kept).

    The same windows as Kaldi's ``apply-cmvn-sliding`` and torchaudio's
    ``sliding_window_cmn`` (``center=False``, ``norm_vars=False``): frame ``t`` takes
    frames ``max(0, t - window)`` to ``max(t + 1, min_window)`` (the first frames read
    ahead up to ``min_window``; an utterance shorter than that uses all of it). Computed
    over a padded batch at once from cumulative sums, not frame by frame.

    Args:
        x: ``(batch, time, dim)``.
        lengths: ``(batch,)`` valid frames.
    """
    batch, frames, _ = x.shape
    mask = length_mask(lengths, frames).unsqueeze(-1).to(x.dtype)
    sums = torch.cat([x.new_zeros(batch, 1, x.shape[2]), (x * mask).cumsum(1)], dim=1)  # sums[t] = frames < t
    t = torch.arange(frames, device=x.device).expand(batch, frames)
    n = lengths.to(x.device).unsqueeze(1)
    start = (t - window).clamp(min=0)
    end = torch.clamp(t + 1, min=min_window)
    over = (end - n).clamp(min=0)  # windows past the end shift back (an utterance shorter than min_window)
    start, end = (start - over).clamp(min=0), end - over
    index = lambda i: i.clamp(max=frames).unsqueeze(-1).expand(-1, -1, x.shape[2])  # noqa: E731
    mean = (sums.gather(1, index(end)) - sums.gather(1, index(start))) / (end - start).clamp(min=1).unsqueeze(-1)
    return (x - mean) * mask


class FeatureStats:
    """Running per-dimension mean and standard deviation over frames, in float64.

    Memory is constant however many utterances are added (CMVN over a corpus of any size).
    """

    def __init__(self, dim: int) -> None:
        self.count = 0
        self.sum = torch.zeros(dim, dtype=torch.float64)
        self.sumsq = torch.zeros(dim, dtype=torch.float64)

    def add(self, feats: torch.Tensor) -> None:
        """Add the frames of one ``(frames, dim)`` utterance."""
        x = feats.detach().to(torch.float64)
        self.count += x.shape[0]
        self.sum += x.sum(0)
        self.sumsq += (x * x).sum(0)

    def merge(self, other: "FeatureStats") -> None:
        """Add the frames ``other`` counted."""
        self.count += other.count
        self.sum += other.sum
        self.sumsq += other.sumsq

    def state(self) -> list:
        """``[count, sum, sum of squares]`` as plain numbers (JSON)."""
        return [self.count, self.sum.tolist(), self.sumsq.tolist()]

    @classmethod
    def from_state(cls, state: list) -> "FeatureStats":
        stats = cls(len(state[1]))
        stats.count = int(state[0])
        stats.sum = torch.tensor(state[1], dtype=torch.float64)
        stats.sumsq = torch.tensor(state[2], dtype=torch.float64)
        return stats

    @property
    def mean(self) -> torch.Tensor:
        return self.sum / max(self.count, 1)

    @property
    def std(self) -> torch.Tensor:
        n = max(self.count, 1)
        var = (self.sumsq - self.sum * self.sum / n) / max(n - 1, 1)  # unbiased, as torch.std
        return var.clamp(min=0).sqrt()


class GlobalCMVN(nn.Module):
    """Normalise features with corpus-level mean and standard deviation.

    The statistics are buffers, so they travel inside the model's safetensors file.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    @torch.no_grad()
    def fit(self, feats: Iterable[torch.Tensor]) -> None:
        """Set the statistics from ``(frames, dim)`` tensors (an iterable: read once, never held)."""
        stats = FeatureStats(self.mean.numel())
        for f in feats:
            stats.add(f)
        self.set_stats(stats)

    @torch.no_grad()
    def set_stats(self, stats: FeatureStats) -> None:
        self.mean.copy_(stats.mean.float())
        self.std.copy_(stats.std.clamp(min=1e-3).float())

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        mask = length_mask(lengths, x.shape[1]).unsqueeze(-1).to(x.dtype)
        return (x - self.mean) / self.std * mask


class UtteranceCMVN(nn.Module):
    """Module form of :func:`utterance_cmvn`."""

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return utterance_cmvn(x, lengths)


class SlidingCMN(nn.Module):
    """Module form of :func:`sliding_cmn`."""

    def __init__(self, window: int, min_window: int) -> None:
        super().__init__()
        self.window, self.min_window = window, min_window

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return sliding_cmn(x, lengths, self.window, self.min_window)


def normalise(feats: torch.Tensor, stats: FeatureStats) -> torch.Tensor:
    """``(frames, dim)`` features less ``stats``'s mean, over its deviation."""
    return ((feats - stats.mean.to(feats.dtype)) / stats.std.clamp(min=1e-3).to(feats.dtype)).to(feats.dtype)


def own_stats(feats: torch.Tensor) -> FeatureStats:
    """The statistics of one recording's own ``(frames, dim)`` features."""
    stats = FeatureStats(feats.shape[1])
    stats.add(feats)
    return stats


def speaker_cmvn(feats: list[torch.Tensor], speakers: list[str], cfg: FeatureConfig,
                 stats: dict[str, FeatureStats] | None = None) -> list[torch.Tensor]:
    """Each recording normalised by its speaker's statistics when ``cfg.cmvn`` is ``speaker`` (else as it is).

    Args:
        feats: ``(frames, dim)`` per recording.
        speakers: per recording; ``""`` (no known speaker) makes a recording its own speaker.
        stats: speaker -> statistics gathered beforehand (the training set's, in one pass);
            a speaker not in it gets the statistics of its recordings among ``feats``.
    """
    if cfg.cmvn != "speaker":
        return feats
    known = dict(stats or {})
    for f, spk in zip(feats, speakers):
        if spk and spk not in (stats or {}):
            known.setdefault(spk, FeatureStats(f.shape[1])).add(f)
    return [normalise(f, known[spk] if spk else own_stats(f)) for f, spk in zip(feats, speakers)]


class PassThrough(nn.Module):
    """No normalisation in the model (``cmvn: none``, or ``speaker``: normalised by the data layer)."""

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return x


def build_normalizer(cfg: FeatureConfig) -> nn.Module:
    if cfg.cmvn == "global":
        return GlobalCMVN(cfg.num_mel_bins)
    if cfg.cmvn == "utterance":
        return UtteranceCMVN()
    if cfg.cmvn == "sliding":
        return SlidingCMN(cfg.cmvn_window, cfg.cmvn_min_window)
    return PassThrough()


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
