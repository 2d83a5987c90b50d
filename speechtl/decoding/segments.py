"""Where a long recording is cut into the pieces the recogniser decodes one at a time.

Two plans: at speech boundaries found by voice activity detection
(:mod:`speechtl.data.vad`), or consecutive pieces of at most ``decode.chunk_seconds``, each cut
at the quietest 10 ms of its last seconds (the plan before VAD, kept for ``--no-vad`` and short
recordings). With VAD, consecutive speech segments are joined end to end into pieces of at most
``decode.chunk_seconds`` of speech (:func:`pack_spans`): the pauses between them are not
decoded, and a recording costs about as many forward passes and searches as with the fixed cut,
not one per segment. Either way memory stays bounded however long the file: audio is read
piece by piece.

Examples:
    >>> import torch
    >>> wave = torch.cat([torch.ones(1360), torch.zeros(160), torch.ones(480)])  # a 10 ms pause at 85 ms
    >>> read = lambda s, d: wave[int(round(s * 16000)): int(round((s + d) * 16000))]
    >>> [(start, len(piece)) for start, piece in iter_chunks(read, 2000 / 16000, 0.1, 16000)]
    [(0.0, 1440), (0.09, 560)]
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
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


def stretch_at(starts: list[float], t: float) -> int:
    """Index of the stretch holding time ``t``: the last of ``starts`` (in order) at or before it, else 0."""
    return max(0, bisect_right(starts, t) - 1)


@dataclass
class Piece:
    """Audio decoded in one pass: one or more stretches of the recording joined end to end.

    Attributes:
        wave: ``(samples,)`` the stretches' samples, one after the other.
        spans: where each stretch lies in the recording, in order.
        starts: where each stretch begins in ``wave``, in seconds (``starts[0] == 0``).
        bounded: word times are kept inside their stretch's span at both ends (speech segments);
            ``False`` for a fixed cut, whose last word may end up to one output frame past the
            audio, as in batch and streaming decoding.
    """

    wave: torch.Tensor
    spans: list[Span]
    starts: list[float]
    bounded: bool = True

    def recording_span(self, start: float, end: float) -> tuple[float, float]:
        """A word's ``(start, end)`` in ``wave`` (seconds) as times in the recording.

        The one place that decides a word's segment: the stretch holding its middle, i.e. the one
        it mostly lies in when the alignment stretches it over a joint. The word is then kept
        inside that stretch's span (never across the pause cut out at a joint), so its start also
        names its segment (:meth:`~speechtl.decoding.recognizer.Transcript.segment_words`).
        """
        i = stretch_at(self.starts, (start + end) / 2)
        span, begin = self.spans[i], self.starts[i]
        # the offset first: (span.start + start) - begin can land one ulp before span.start
        start, end = span.start + (start - begin), span.start + (end - begin)
        if self.bounded or i + 1 < len(self.spans):
            end = min(end, span.end)
        if self.bounded or i > 0:
            start = min(max(start, span.start), end)
        return start, end


def pack_spans(spans: list[Span], max_seconds: float) -> list[list[Span]]:
    """Consecutive spans grouped so that each group's total length is at most ``max_seconds``.

    A span longer than ``max_seconds`` is a group of its own (VAD already splits speech at
    ``decode.chunk_seconds``).

    Example:
        >>> groups = pack_spans([Span(0, 4), Span(9, 14), Span(20, 23)], 10)
        >>> len(groups), len(groups[0])  # 4 + 5 s fit in 10 s; with 3 more they would not
        (2, 2)
    """
    groups: list[list[Span]] = []
    total = 0.0
    for span in spans:
        if groups and total + span.duration <= max_seconds + 1e-6:
            groups[-1].append(span)
            total += span.duration
        else:
            groups.append([span])
            total = span.duration
    return groups


def read_piece(read: Reader, spans: list[Span], sample_rate: int) -> Piece:
    """The samples of ``spans`` joined end to end, with where each begins."""
    waves = [read(s.start, s.duration).reshape(-1) for s in spans]
    starts, t = [], 0
    for wave in waves:
        starts.append(t / sample_rate)
        t += wave.numel()
    return Piece(torch.cat(waves) if len(waves) > 1 else waves[0], list(spans), starts)


def uses_vad(config: DecodeConfig, total_seconds: float) -> bool:
    """Whether a recording of this length is cut at speech boundaries (``decode.vad``)."""
    return config.vad == "on" or (config.vad == "auto" and total_seconds > VAD_AUTO_SECONDS)


def iter_pieces(read: Reader, total_seconds: float, sample_rate: int, config: DecodeConfig) -> Iterator[Piece]:
    """The pieces :meth:`~speechtl.decoding.recognizer.Recognizer.transcribe` decodes.

    With VAD (see :func:`uses_vad`): consecutive speech segments (each padded by 0.1 s each
    side) joined into pieces of at most ``chunk_seconds`` (:func:`pack_spans`); the pauses
    between segments are left out, so every joint lies in a pause. Without: :func:`iter_chunks`,
    one stretch per piece.

    Yields:
        :class:`Piece` in order; :meth:`Piece.recording_span` maps a word's times in it to the recording.
    """
    if not uses_vad(config, total_seconds):
        for start, wave in iter_chunks(read, total_seconds, config.chunk_seconds, sample_rate):
            # the span as the transcript reports it (ms): a word's start then lies in the segment it names
            yield Piece(wave, [piece_span(start, wave.numel(), sample_rate)], [0.0], bounded=False)
        return
    spans = detect_speech(read, total_seconds, sample_rate, VadSettings(max_segment=config.chunk_seconds))
    for group in pack_spans(spans, config.chunk_seconds):
        yield read_piece(read, group, sample_rate)


def piece_span(start: float, samples: int, sample_rate: int) -> Span:
    """The span a decoded piece covers, in seconds of the recording."""
    return Span(round(start, 3), round(start + samples / sample_rate, 3))
