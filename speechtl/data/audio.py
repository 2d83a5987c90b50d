"""Audio I/O: read any format soundfile reads, at any rate, as mono float32.

Every failure names the file: missing, a directory, empty (0 bytes or no
samples), unreadable or corrupt, or holding non-finite samples.

Samples given as an array follow one layout rule (:func:`samples_to_mono`):
``(samples,)`` or ``(samples, channels)`` (soundfile's layout), at most
:data:`MAX_CHANNELS` channels. A channels-first array such as torchaudio's
``(1, N)`` is refused rather than read as N channels of one sample.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

from speechtl.errors import AudioError

MAX_CHANNELS = 64  # more "channels" than this (or than samples) means a channels-first array
PEAK_LIMIT = 2.0  # float samples belong in [-1, 1]; beyond this they are scaled down (with a note)


def resample(wave: torch.Tensor, orig_sr: int, target_sr: int) -> torch.Tensor:
    """Resample ``(..., samples)`` from ``orig_sr`` to ``target_sr`` (torchaudio's sinc).

    A rate pair whose one-step kernel would be large (16,001 -> 16,000 Hz: 256 million values)
    goes through :func:`speechtl.data.resampling.resample`'s small steps, one row at a time.
    """
    from speechtl.data import resampling

    if orig_sr == target_sr:
        return wave
    if resampling.kernel_size(orig_sr, target_sr) <= resampling.MAX_KERNEL:
        return AF.resample(wave, orig_sr, target_sr)
    rows = [resampling.resample(row, orig_sr, target_sr) for row in wave.reshape(-1, wave.shape[-1])]
    return torch.stack(rows).reshape(*wave.shape[:-1], -1)


def to_mono(wave: np.ndarray) -> np.ndarray:
    """Downmix ``(samples, channels)`` or ``(samples,)`` to ``(samples,)`` by averaging."""
    return wave.mean(axis=1) if wave.ndim == 2 else wave


def samples_to_mono(samples) -> np.ndarray:
    """Samples given as an array (numpy, torch, list) as mono float32 ``(samples,)``.

    The layout rule: ``(samples,)`` or ``(samples, channels)`` with at most
    :data:`MAX_CHANNELS` channels and no more channels than samples; channels are averaged.

    Raises:
        AudioError: no samples, more than two dimensions, or a channels-first array.
    """
    if isinstance(samples, torch.Tensor):
        samples = samples.detach().cpu().numpy()
    array = np.asarray(samples, dtype=np.float32)
    if array.ndim not in (1, 2):
        raise AudioError(f"expected samples (samples,) or (samples, channels), got shape {array.shape}")
    if array.size == 0:
        raise AudioError(f"the samples are empty (shape {array.shape})")
    if array.ndim == 2 and (array.shape[1] > MAX_CHANNELS or array.shape[1] > array.shape[0]):
        raise AudioError(f"samples of shape {array.shape} read as (samples, channels) would be {array.shape[1]} "
                         f"channels of {array.shape[0]} samples; this looks channels-first (torchaudio.load's "
                         "layout): pass wave[0] for one channel or wave.T")
    return to_mono(array)


def limit_peak(wave: torch.Tensor) -> tuple[torch.Tensor, str]:
    """Scale float samples far outside [-1, 1] to peak 1, so filterbanks stay finite.

    Samples louder than :data:`PEAK_LIMIT` (integer PCM values passed as floats, a
    broken float file) would give overflowing or NaN features and silently empty transcripts.

    Returns:
        The samples (scaled when needed) and a note saying what was done ("" when nothing was).
    """
    peak = float(wave.abs().max()) if wave.numel() else 0.0
    if peak <= PEAK_LIMIT:
        return wave, ""
    return wave / peak, f"samples reach {peak:.3g}, far outside [-1, 1]; scaled down to peak 1"


def check_audio_path(path: Path) -> None:
    """Raise an AudioError naming ``path`` when it is missing, a directory or empty (0 bytes)."""
    if path.is_dir():
        raise AudioError(f"{path}: is a directory, not an audio file")
    if not path.is_file():
        raise AudioError(f"{path}: no such audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: the file is empty (0 bytes)")


def audio_info(path: str | Path) -> tuple[int, int]:
    """``(sample_rate, frames)`` of an audio file without reading the samples."""
    check_audio_path(Path(path))
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
    check_audio_path(path)
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
