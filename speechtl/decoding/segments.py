"""Where a long recording is cut into the pieces the recogniser decodes one at a time.

Two plans: at speech boundaries found by voice activity detection
(:mod:`speechtl.data.vad`; silences between them are not decoded), or consecutive pieces of
at most ``decode.chunk_seconds``, each cut at the quietest 10 ms of its last seconds (the plan
before VAD, kept for ``--no-vad`` and short recordings). Either way memory stays bounded
however long the file: audio is read piece by piece.

Examples:
    >>> import torch
    >>> wave = torch.cat([torch.ones(1360), torch.zeros(160), torch.ones(480)])  # a 10 ms pause at 85 ms
    >>> read = lambda s, d: wave[int(round(s * 16000)): int(round((s + d) * 16000))]
    >>> [(start, len(piece)) for start, piece in iter_chunks(read, 2000 / 16000, 0.1, 16000)]
    [(0.0, 1440), (0.09, 560)]
"""

from __future__ import annotations

from typing import Iterator

import torch

from speechtl.data.vad import Reader, Span, VadSettings, detect_speech
from speechtl.decoding.config import DecodeConfig

QUIET_SEARCH_SECONDS = 5.0  # a long recording is cut at the quietest point of this last stretch
VAD_AUTO_SECONDS = 30.0  # decode.vad "auto": voice activity detection for recordings longer than this


def quiet_cut(wave: torch.Tensor, sample_rate: int, search_seconds: float) -> int:
    """Sample index of the quietest 10 ms in the last ``search_seconds`` of ``wave``."""
    hop = sample_rate // 100
    start = max(0, wave.numel() - int(search_seconds * sample_rate))
    tail = wave[start:]
    if tail.numel() < 2 * hop:
        return wave.numel()
    energy = tail[: tail.numel() // hop * hop].reshape(-1, hop).pow(2).mean(1)
    return start + int(energy.argmin()) * hop + hop // 2


def iter_chunks(read: Reader, total_seconds: float, chunk_seconds: float, sample_rate: int
                ) -> Iterator[tuple[float, torch.Tensor]]:
    """Consecutive pieces of a recording, each at most ``chunk_seconds`` long.

    Args:
        read: ``read(start_seconds, duration_seconds) -> (samples,)`` at ``sample_rate``.
        total_seconds: the recording's length.

    Yields:
        ``(start_seconds, samples)``; together they cover the recording once.
    """
    start = 0.0
    while start < total_seconds - 1e-6:
        wave = read(start, chunk_seconds)
        if wave.numel() == 0:
            return
        if start + chunk_seconds >= total_seconds - 1e-6:
            yield start, wave
            return
        cut = quiet_cut(wave, sample_rate, min(QUIET_SEARCH_SECONDS, chunk_seconds / 4))
        yield start, wave[:cut]
        start += cut / sample_rate


def uses_vad(config: DecodeConfig, total_seconds: float) -> bool:
    """Whether a recording of this length is cut at speech boundaries (``decode.vad``)."""
    return config.vad == "on" or (config.vad == "auto" and total_seconds > VAD_AUTO_SECONDS)


def iter_pieces(read: Reader, total_seconds: float, sample_rate: int, config: DecodeConfig
                ) -> Iterator[tuple[float, torch.Tensor]]:
    """The pieces :meth:`~speechtl.decoding.recognizer.Recognizer.transcribe` decodes.

    With VAD (see :func:`uses_vad`): one piece per speech segment (at most ``chunk_seconds``,
    padded by 0.1 s each side); stretches without speech give no piece. Without: :func:`iter_chunks`.

    Yields:
        ``(start_seconds, samples)`` in order; a word's time in a piece plus its start is its
        time in the recording.
    """
    if not uses_vad(config, total_seconds):
        yield from iter_chunks(read, total_seconds, config.chunk_seconds, sample_rate)
        return
    for span in detect_speech(read, total_seconds, sample_rate, VadSettings(max_segment=config.chunk_seconds)):
        yield span.start, read(span.start, span.duration)


def piece_span(start: float, samples: int, sample_rate: int) -> Span:
    """The span a decoded piece covers, in seconds of the recording."""
    return Span(round(start, 3), round(start + samples / sample_rate, 3))
