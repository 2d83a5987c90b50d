"""Signal processing of many short recordings in one call, equal to one call per recording.

Per-call set-up dominates for short files (Kaldi's fbank builds its window and mel
banks on every call; a resampler pads and convolves each file apart). Both
operations are local, so the recordings are packed end to end into one signal,
each placed where the operation's phase matches its own start and with a gap
wide enough that nothing leaks between neighbours, processed once, and cut
apart again. (:class:`~speechtl.data.resampling.StreamResampler` resamples a signal that
arrives in pieces.)
"""

from __future__ import annotations

import dataclasses
import math

import torch

from speechtl.data.config import FeatureConfig
from speechtl.data.features import compute_features, num_frames
from speechtl.data.level import normalise_level
from speechtl.data.resampling import StreamResampler, plan, resample, sinc_resampler

__all__ = ["StreamResampler", "fbank_packed", "resample_packed"]


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
    if cfg.level_dbfs is not None:  # each recording its own gain, not one for the pack
        waves = [normalise_level(w, sample_rate, cfg.level_dbfs) for w in waves]
        cfg = dataclasses.replace(cfg, level_dbfs=None)
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


def resample_packed(waves: list[torch.Tensor], orig: int, new: int) -> list[torch.Tensor]:
    """torchaudio's sinc resampling of each waveform, with one convolution for all.

    Each recording starts at a multiple of the resampler's input period (``orig / gcd``)
    and is followed by zeros wider than the filter, as torchaudio pads each one alone.
    """
    if orig == new or not waves:
        return list(waves)
    if plan(orig, new).up:  # a rate pair resampled in steps (its one-step kernel would be huge): one by one
        return [resample(w, orig, new) for w in waves]
    resampler = sinc_resampler(orig, new)
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
