"""Mean and variance normalisation of features (``features.cmvn``).

``global`` removes the training corpus's mean and scales by its deviation
(statistics stored in the model, :class:`GlobalCMVN`); ``utterance`` normalises each
recording by its own mean and deviation; ``sliding`` removes the mean of a window of
past frames (Kaldi's ``apply-cmvn-sliding``), which follows a channel that changes
within a long recording; ``speaker`` normalises each speaker's recordings by the mean
and deviation of all of them together (Kaldi's per-speaker CMVN over ``spk2utt``):
it is done on the features before the model, since a model sees one batch and not the
speaker's other recordings, and a recording of no known speaker is its own speaker.
:class:`FeatureStats` gathers the statistics in constant memory.

:class:`Normaliser` is the one place that knows the mode: what runs inside the model
(:meth:`Normaliser.module`), what is done before it (``normaliser(feats, speaker)``), which
statistics it needs and whether frames can be normalised as they arrive. Every caller goes
through it (training data, the recogniser, ``speechtl decode --one-speaker``, streaming).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from speechtl.data.config import FeatureConfig
from speechtl.errors import RecipeError, shorten
from speechtl.tensors import length_mask

MODES = ("global", "utterance", "sliding", "speaker", "none")  # features.cmvn


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
    return (feats - stats.mean.to(feats.dtype)) / stats.std.clamp(min=1e-3).to(feats.dtype)


def own_stats(feats: torch.Tensor) -> FeatureStats:
    """The statistics of one recording's own ``(frames, dim)`` features."""
    stats = FeatureStats(feats.shape[1])
    stats.add(feats)
    return stats


class PassThrough(nn.Module):
    """No normalisation in the model (``cmvn: none``, or ``speaker``: normalised before the model)."""

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return x


def waveform_norm(frames: torch.Tensor, lengths: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """Zero mean, unit variance over each utterance's valid samples (as Hugging Face's ``do_normalize``).

    Args:
        frames: ``(batch, frames, hop)`` samples.
        lengths: ``(batch,)`` valid frames.
    """
    mask = length_mask(lengths, frames.shape[1])[:, :, None].to(frames.dtype)
    count = (mask.sum((1, 2)) * frames.shape[2]).clamp(min=1)[:, None, None]
    mean = (frames * mask).sum((1, 2), keepdim=True) / count
    var = (((frames - mean) * mask) ** 2).sum((1, 2), keepdim=True) / count
    return (frames - mean) / (var + eps).sqrt() * mask


class WaveformNorm(nn.Module):
    """Module form of :func:`waveform_norm`."""

    def forward(self, frames: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return waveform_norm(frames, lengths)


class Normaliser:
    """``features.cmvn``'s mode and every normalisation it asks for, in one object.

    ``global``, ``utterance`` and ``sliding`` run inside the model (:meth:`module`; global
    statistics travel in the model file, :meth:`fit_model`); ``speaker`` is done on each
    recording's ``(frames, dim)`` features before the model (:meth:`__call__`, :meth:`batch`)
    with statistics per speaker (:meth:`fit`, :meth:`add`: the speaker's own audio, no
    transcript); ``none`` does nothing. Before the model, every mode but ``speaker`` passes
    features through unchanged.

    Args:
        cfg: the feature settings (``cmvn``, ``cmvn_window``, ``cmvn_min_window``, ``kind``).
        stats: speaker -> statistics gathered beforehand (used by ``speaker`` only).

    Raises:
        RecipeError: ``cfg.cmvn`` is not a mode (the message names ``features.cmvn``).

    Example:
        >>> norm = Normaliser(FeatureConfig(cmvn="speaker", num_mel_bins=1))
        >>> norm = norm.fit({"ann": [torch.tensor([[1.0], [3.0]])]})
        >>> [round(v, 2) for v in norm(torch.tensor([[1.0], [3.0], [5.0]]), "ann").flatten().tolist()]
        [-0.71, 0.71, 2.12]
    """

    def __init__(self, cfg: FeatureConfig, stats: dict[str, FeatureStats] | None = None) -> None:
        if cfg.cmvn not in MODES:
            raise RecipeError(f"features.cmvn: unknown mode {shorten(repr(cfg.cmvn))}; known: {', '.join(MODES)}")
        self.cfg, self.mode = cfg, cfg.cmvn
        self.stats: dict[str, FeatureStats] = dict(stats or {})

    @property
    def by_speaker(self) -> bool:
        """Whether features are normalised before the model, by their speaker's statistics."""
        return self.mode == "speaker"

    @property
    def streamable(self) -> bool:
        """Whether frames can be normalised as they arrive (corpus statistics or none)."""
        return self.cfg.streamable

    def module(self) -> nn.Module:
        """The model's own normalisation of a padded ``(batch, frames, dim)`` batch (its front end's)."""
        if self.cfg.kind == "waveform":
            return WaveformNorm() if self.mode == "utterance" else PassThrough()
        if self.mode == "global":
            return GlobalCMVN(self.cfg.num_mel_bins)
        if self.mode == "utterance":
            return UtteranceCMVN()
        if self.mode == "sliding":
            return SlidingCMN(self.cfg.cmvn_window, self.cfg.cmvn_min_window)
        return PassThrough()

    @staticmethod
    def fit_model(module: nn.Module, stats: FeatureStats | Iterable[torch.Tensor]) -> None:
        """Global CMVN: ``module`` (from :meth:`module`) takes the corpus's statistics (other modes need none).

        Args:
            stats: gathered beforehand, or ``(frames, dim)`` features to gather them from (read only if needed).
        """
        if not isinstance(module, GlobalCMVN):
            return
        if isinstance(stats, FeatureStats):
            module.set_stats(stats)
        else:
            module.fit(stats)

    def add(self, speaker: str, feats: torch.Tensor) -> None:
        """Count one recording's ``(frames, dim)`` features in ``speaker``'s statistics."""
        self.stats.setdefault(speaker, FeatureStats(feats.shape[1])).add(feats)

    def fit(self, feats: dict[str, Iterable[torch.Tensor]]) -> "Normaliser":
        """Gather statistics from speaker -> ``(frames, dim)`` features of their recordings; returns itself."""
        for speaker, recordings in feats.items():
            for f in recordings:
                self.add(speaker, f)
        return self

    def __call__(self, feats: torch.Tensor, speaker: str | None = None) -> torch.Tensor:
        """One recording's ``(frames, dim)`` features as the model takes them.

        ``speaker``: its statistics normalise the recording (a speaker with none, or no speaker:
        the recording's own); other modes return ``feats`` itself (the model normalises).
        """
        if not self.by_speaker:
            return feats
        stats = self.stats.get(speaker) if speaker else None
        return normalise(feats, stats if stats is not None else own_stats(feats))

    def batch(self, feats: list[torch.Tensor], speakers: list[str]) -> list[torch.Tensor]:
        """Several recordings (as :meth:`__call__`); a speaker without statistics gets those of its recordings here.

        Args:
            feats: ``(frames, dim)`` per recording.
            speakers: per recording; ``""`` makes a recording its own speaker.
        """
        if not self.by_speaker:
            return feats
        here = Normaliser(self.cfg, self.stats)  # speakers met only here: their recordings' joint statistics
        for f, spk in zip(feats, speakers):
            if spk and spk not in self.stats:
                here.add(spk, f)
        return [here(f, spk) for f, spk in zip(feats, speakers)]


def speaker_cmvn(feats: list[torch.Tensor], speakers: list[str], cfg: FeatureConfig,
                 stats: dict[str, FeatureStats] | None = None) -> list[torch.Tensor]:
    """``Normaliser(cfg, stats).batch(feats, speakers)``: each recording by its speaker's statistics."""
    return Normaliser(cfg, stats).batch(feats, speakers)


def build_normalizer(cfg: FeatureConfig) -> nn.Module:
    """``Normaliser(cfg).module()``: the model's own normalisation."""
    return Normaliser(cfg).module()
