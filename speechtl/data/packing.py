"""Signal processing of many short recordings in one call, equal to one call per recording.

Per-call set-up dominates for short files (Kaldi's fbank builds its window and mel
banks on every call; a resampler pads and convolves each file apart). Both
operations are local, so the recordings are packed end to end into one signal,
each placed where the operation's phase matches its own start and with a gap
wide enough that nothing leaks between neighbours, processed once, and cut
apart again. :class:`StreamResampler` resamples a signal that arrives in pieces the same way.
"""

from __future__ import annotations

import functools
import math

import torch

from speechtl.data.config import FeatureConfig
from speechtl.data.features import compute_features, num_frames


def fbank_packed(waves: list[torch.Tensor], sample_rate: int, cfg: FeatureConfig) -> list[torch.Tensor]:
    """:func:`~speechtl.data.features.fbank` of each waveform, with one call for all.

    Kaldi's filterbank is per frame (window at a fixed hop, DC removal, pre-emphasis
    and energy inside the frame, no dither), so each recording starts at a multiple
    of the hop and frames that straddle two recordings are dropped.

    Args:
        waves: mono ``(samples,)`` tensors, each at least one analysis frame long.

    Returns:
        ``(frames_i, num_mel_bins)`` per waveform.
    """
    hop = int(sample_rate * cfg.frame_shift_ms / 1000)
    counts = [num_frames(w.numel(), sample_rate, cfg) for w in waves]
    if not waves or min(counts) == 0:
        raise ValueError("every waveform must hold at least one analysis frame")
    starts, pos = [], 0
    for w in waves:
        starts.append(pos)
        pos += math.ceil(w.numel() / hop) * hop
    packed = torch.zeros(pos)
    for start, w in zip(starts, waves):
        packed[start: start + w.numel()] = w
    frames = compute_features(packed, sample_rate, cfg)
    return [frames[s // hop: s // hop + n] for s, n in zip(starts, counts)]


@functools.lru_cache(maxsize=8)
def _resampler(orig: int, new: int):
    import torchaudio

    return torchaudio.transforms.Resample(orig, new)  # its sinc kernel is computed once per rate pair


def resample_packed(waves: list[torch.Tensor], orig: int, new: int) -> list[torch.Tensor]:
    """torchaudio's sinc resampling of each waveform, with one convolution for all.

    Each recording starts at a multiple of the resampler's input period (``orig / gcd``)
    and is followed by zeros wider than the filter, as torchaudio pads each one alone.
    """
    if orig == new or not waves:
        return list(waves)
    resampler = _resampler(orig, new)
    period, out_period = orig // resampler.gcd, new // resampler.gcd
    gap = (2 * resampler.width + 2 * period) // period * period + period  # zeros beyond the kernel's reach
    starts, pos = [], 0
    for w in waves:
        starts.append(pos)
        pos += math.ceil(w.numel() / period) * period + gap
    packed = torch.zeros(pos)
    for start, w in zip(starts, waves):
        packed[start: start + w.numel()] = w
    out = resampler(packed)
    return [out[s // period * out_period: s // period * out_period + math.ceil(out_period * w.numel() / period)]
            for s, w in zip(starts, waves)]


class StreamResampler:
    """torchaudio's sinc resampling of a signal that arrives in pieces, equal to resampling it whole.

    Input is processed in whole periods of the resampler (``orig / gcd`` samples), each with
    enough input on both sides that the filter never reaches the zeros torchaudio pads a
    piece with; the last ``margin`` samples wait for the next piece (or :meth:`finish`).
    """

    def __init__(self, orig: int, new: int) -> None:
        self.orig, self.new = orig, new
        if orig != new:
            resampler = _resampler(orig, new)
            self.period, self.out_period = orig // resampler.gcd, new // resampler.gcd
            self.margin = (resampler.width + self.period) // self.period * self.period + self.period
        self.buffer = torch.zeros(0)  # input from `start` on (left context included)
        self.start = 0  # index in the whole input of buffer[0]
        self.done = 0  # input samples whose output was given out (a multiple of the period)
        self.total = 0  # input samples received
        self.emitted = 0  # output samples given out

    def accept(self, samples: torch.Tensor) -> torch.Tensor:
        """Resampled samples that are final now."""
        if self.orig == self.new:
            return samples
        self.buffer = torch.cat([self.buffer, samples.to(torch.float32)])
        self.total += samples.numel()
        ready = (self.total - self.margin) // self.period * self.period  # input whose output is final
        if ready <= self.done:
            return torch.zeros(0)
        return self._emit(self.total, ready)

    def finish(self) -> torch.Tensor:
        """The rest, the end of the input being its end."""
        if self.orig == self.new:
            return torch.zeros(0)
        return self._emit(self.total, None)

    def _emit(self, upto: int, ready: int | None) -> torch.Tensor:
        out = _resampler(self.orig, self.new)(self.buffer[: upto - self.start])
        first = self.start // self.period * self.out_period  # output index of out[0]
        stop = math.ceil(self.out_period * self.total / self.period) if ready is None \
            else ready // self.period * self.out_period
        piece = out[self.emitted - first: stop - first]
        self.emitted = stop
        if ready is not None:
            self.done = ready
            keep = max(0, ready - self.margin)  # left context of the next piece, a multiple of the period
            self.buffer = self.buffer[keep - self.start:]
            self.start = keep
        return piece
