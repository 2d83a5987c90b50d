"""Audio I/O: read any format soundfile reads, at any rate, as mono float32.

Every failure names the file: missing, unreadable or corrupt, empty, or holding
non-finite samples.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

from speechtl.errors import AudioError


def resample(wave: torch.Tensor, orig_sr: int, target_sr: int) -> torch.Tensor:
    """Resample ``(..., samples)`` from ``orig_sr`` to ``target_sr`` (torchaudio's sinc)."""
    if orig_sr == target_sr:
        return wave
    return AF.resample(wave, orig_sr, target_sr)


def to_mono(wave: np.ndarray) -> np.ndarray:
    """Downmix ``(samples, channels)`` or ``(samples,)`` to ``(samples,)`` by averaging."""
    return wave.mean(axis=1) if wave.ndim == 2 else wave


def audio_info(path: str | Path) -> tuple[int, int]:
    """``(sample_rate, frames)`` of an audio file without reading the samples."""
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError) as err:
        raise AudioError(f"{path}: cannot read audio: {err}") from None
    return info.samplerate, info.frames


def load_audio(
    path: str | Path,
    sample_rate: int | None = 16000,
    start: float = 0.0,
    duration: float | None = None,
) -> torch.Tensor:
    """Read an audio file as a mono float32 waveform.

    Args:
        path: any file libsndfile reads (WAV, FLAC, OGG, MP3...).
        sample_rate: resample to this rate; ``None`` keeps the file's rate.
        start: offset in seconds.
        duration: seconds to read; ``None`` reads to the end.

    Returns:
        Samples in [-1, 1], shape ``(samples,)``.

    Raises:
        AudioError: the file is missing, unreadable, empty or contains NaN/inf.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: no such audio file")
    try:
        with sf.SoundFile(str(path)) as f:
            sr = f.samplerate
            f.seek(int(round(start * sr)))
            frames = -1 if duration is None else int(round(duration * sr))
            data = f.read(frames, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError) as err:
        raise AudioError(f"{path}: cannot read audio: {err}") from None
    if data.size == 0:
        raise AudioError(f"{path}: the audio file is empty")
    wave = to_mono(data)
    if not np.isfinite(wave).all():
        raise AudioError(f"{path}: the audio contains NaN or infinite samples")
    tensor = torch.from_numpy(np.ascontiguousarray(wave))
    if sample_rate is not None:
        tensor = resample(tensor, sr, sample_rate)
    return tensor


def save_audio(path: str | Path, wave: torch.Tensor | np.ndarray, sample_rate: int) -> None:
    """Write a mono waveform as 16-bit PCM (format from the suffix: .wav, .flac)."""
    if isinstance(wave, torch.Tensor):
        wave = wave.detach().cpu().numpy()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.clip(wave, -1.0, 1.0), sample_rate, subtype="PCM_16")
