"""Per-recording level normalisation: scale each waveform so its speech sits at a target level.

A gain is an additive offset on every log-mel value, which global CMVN (statistics of
the training corpus) does not remove: a speaker recorded 20 dB quieter than the training
data reads as another input to the model. This step reads only the recording itself
(one file decoded alone), measures the RMS level of its loud frames (those within
``SPEECH_RANGE_DB`` of its 95th-percentile frame, so pauses and silence do not pull the
level down) and scales the samples to ``features.level_dbfs``. Scaling by any gain leaves
the result unchanged (the measure moves with the gain), up to float rounding.

Silence: the measured level is held at or above ``LEVEL_FLOOR_DBFS``, so digital silence
or faint noise is raised by at most ``target - LEVEL_FLOOR_DBFS`` dB, never divided by ~0.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from speechtl.config import check_value
from speechtl.data.config import FeatureConfig

LEVEL_FLOOR_DBFS = -70.0  # quieter recordings are treated as this level: the largest gain is target + 70 dB
SPEECH_RANGE_DB = 30.0  # frames this far below the loud (95th percentile) frame count as pauses, not speech
LOUD_QUANTILE = 0.95  # the reference frame: robust to a single click, unlike the maximum
FRAME_MS, HOP_MS = 25.0, 10.0  # level analysis frames (those of the filterbanks)


def frame_powers(wave: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """Mean square of each 25 ms frame at a 10 ms hop (the whole wave when shorter): ``(samples,) -> (frames,)``."""
    win = max(1, int(sample_rate * FRAME_MS / 1000))
    hop = max(1, int(sample_rate * HOP_MS / 1000))
    x = wave.to(torch.float64).flatten()
    if x.numel() < win:
        return x.pow(2).mean().reshape(1) if x.numel() else torch.zeros(1, dtype=torch.float64)
    return x.unfold(0, win, hop).pow(2).mean(dim=1)


def speech_level_dbfs(wave: torch.Tensor, sample_rate: int) -> float:
    """RMS level in dBFS (full scale = samples of magnitude 1) of the loud frames of ``wave``, at least ``LEVEL_FLOOR_DBFS``.

    Args:
        wave: mono samples, ``(samples,)``.
        sample_rate: Hz.
    """
    power = frame_powers(wave, sample_rate)
    loud = torch.quantile(power, LOUD_QUANTILE)
    speech = power[power >= loud * 10 ** (-SPEECH_RANGE_DB / 10)]
    mean = float(speech.mean()) if speech.numel() else 0.0
    floor = 10 ** (LEVEL_FLOOR_DBFS / 10)
    return 10 * math.log10(max(mean, floor))


def normalise_level(wave: torch.Tensor, sample_rate: int, target_dbfs: float) -> torch.Tensor:
    """``wave`` scaled so that :func:`speech_level_dbfs` reads ``target_dbfs`` (same shape and dtype).

    Samples may exceed [-1, 1] afterwards; the filterbanks take them as they are (clipping
    would make the result depend on the input's gain).
    """
    gain_db = target_dbfs - speech_level_dbfs(wave, sample_rate)
    return wave * (10 ** (gain_db / 20))


def corpus_level_dbfs(waves, sample_rate: int) -> float:
    """Median :func:`speech_level_dbfs` of an iterable of waveforms (a model's target from its training data)."""
    levels = [speech_level_dbfs(w, sample_rate) for w in waves]
    if not levels:
        raise ValueError("no waveforms to measure")
    return float(torch.tensor(levels).median())


def with_level(features: FeatureConfig, level_dbfs: float | None) -> FeatureConfig:
    """``features`` with ``level_dbfs`` as its target (a decode-time override); ``None`` keeps the model's.

    Raises:
        RecipeError: ``level_dbfs`` is not a number in [-80, 0] (the message names ``level_dbfs``).
    """
    if level_dbfs is None:
        return features
    value = check_value(level_dbfs, float, "level_dbfs", "[-80, 0]")  # NaN and inf fail the interval
    return dataclasses.replace(features, level_dbfs=float(value))


def stream_refusal(features: FeatureConfig) -> str:
    """``""``, or why a stream cannot apply ``features.level_dbfs`` (it needs the whole recording first)."""
    if features.level_dbfs is None:
        return ""
    return (f"level normalisation reads the whole recording before its features (features.level_dbfs: "
            f"{features.level_dbfs:g}): decode it offline")
