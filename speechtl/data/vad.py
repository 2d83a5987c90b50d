"""Voice activity detection: the spans of a long recording that hold speech.

The detector is Silero VAD (Silero Team, 2024, https://github.com/snakers4/silero-vad):
its ONNX model ships inside the ``silero-vad`` wheel and runs with onnxruntime, so
nothing is downloaded. Where those two are not installed an energy detector stands in
(frames louder than the recording's noise floor); ``VadSettings.backend`` picks one.

Audio is read in blocks of ``BLOCK_FRAMES`` frames, so memory stays bounded however long
the recording; only one speech score per 32 ms frame is kept for the whole of it.
Silero runs at 8 kHz, which it supports and which costs about half its 16 kHz compute, on one
onnxruntime session (one thread) for the whole process. Its recurrent model scores one frame per
call, so a block is scored as ``BLOCK_FRAMES / STREAM_FRAMES`` streams side by side in one
batch: each stream restarts the recurrent state and first reads the ``WARMUP_FRAMES`` frames
before it (their scores are dropped), so a block costs ``STREAM_FRAMES + WARMUP_FRAMES`` calls
instead of ``BLOCK_FRAMES``. The first stream of a block starts from silence. Frames no
louder than the block's noise floor (its 10th percentile of frame energy) plus ``GATE_DB``,
more than ``GATE_PAD_FRAMES`` from a louder one, in runs of at least ``GATE_MIN_FRAMES``, are
not scored (probability 0): in a recording with pauses that is a third of the cost; in
steady noise or continuous speech every frame is scored.

Examples:
    >>> import torch
    >>> tone = torch.sin(torch.arange(16000) * 0.3) * 0.5  # 1 s of "speech" (the energy detector)
    >>> wave = torch.cat([torch.zeros(32000), tone, torch.zeros(32000)])
    >>> speech_spans(wave, 16000, VadSettings(backend="energy", pad=0.0))
    [Span(start=1.984, end=3.008)]
"""

from __future__ import annotations

import functools
import importlib.resources
import logging
from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np
import torch

from speechtl.data.audio import resample
from speechtl.errors import AudioError, SpeechtlError, shorten

log = logging.getLogger(__name__)

FRAME_SECONDS = 0.032  # one score per frame: Silero's 512 samples at 16 kHz or 256 at 8 kHz
SILERO_RATE = 8000  # Silero's streaming model reads 8 or 16 kHz; 8 costs about half and finds the same speech
SILERO_CONTEXT = 32  # samples of the previous frame the streaming model reads with each frame at 8 kHz
ENERGY_RATE = 16000  # the energy detector's rate (the whole speech band)
BLOCK_FRAMES = 2048  # frames read at a time (65.5 s): memory stays bounded on hours-long recordings
STREAM_FRAMES = 64  # Silero: frames per stream of a block's batch (2 s): 32 streams, at most 70 calls a block
WARMUP_FRAMES = 6  # Silero: frames before a stream read first to settle its state (0.19 s, dropped)
GATE_DB = 6.0  # Silero skips frames this close to the block's noise floor (white noise varies < 1 dB a frame)...
GATE_PAD_FRAMES = 4  # ... further than this (0.13 s) from a louder frame...
GATE_MIN_FRAMES = 12  # ... in runs at least this long (0.38 s): a shorter skip saves less than a stream restart costs
MIN_RATE = 8000  # below this the speech band is cut too much for either detector
ENERGY_MARGIN_DB = 12.0  # energy detector: speech is this far above the noise floor (10th percentile)
ENERGY_FLOOR_DB = -60.0  # ... and above this (dBFS), so dither over digital silence is not speech

Reader = Callable[[float, float], torch.Tensor]  # read(start_seconds, duration_seconds) -> (samples,)


@dataclass(frozen=True)
class Span:
    """A stretch of a recording, in seconds from its start."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass
class VadSettings:
    """How speech is found and cut into segments."""

    threshold: float = 0.5  # Silero: speech probability from which a frame is speech (its default)
    min_silence: float = 0.3  # a pause shorter than this (seconds) does not end a segment: gaps between words
    min_speech: float = 0.25  # shorter bursts (clicks, breaths) are dropped
    pad: float = 0.1  # seconds of audio kept each side of speech so word edges are not clipped
    max_segment: float = 30.0  # longer speech is split at its longest pause (decode.chunk_seconds)
    backend: Literal["auto", "silero", "energy"] = "auto"  # auto: Silero when installed, else energy

    def validate(self) -> None:
        if not 0 < self.threshold < 1 or self.min_silence < 0 or self.min_speech < 0 or self.pad < 0:
            raise SpeechtlError("VAD settings: threshold must be in (0, 1); min_silence, min_speech and pad >= 0")
        if self.max_segment < 1:
            raise SpeechtlError(f"VAD settings: max_segment must be >= 1 s, got {shorten(self.max_segment)}")
        if self.backend not in ("auto", "silero", "energy"):
            raise SpeechtlError(f"VAD backend must be auto, silero or energy, got {shorten(self.backend)!r}")


def check_input(total_seconds: float, sample_rate: int) -> None:
    """Refuse what no detector can read: a rate under 8 kHz (or not a whole number), empty audio."""
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate < MIN_RATE:
        raise AudioError(f"voice activity detection needs audio sampled at {MIN_RATE} Hz or more (a whole number); "
                         f"got sample rate {shorten(sample_rate)}")
    if not total_seconds > 0:
        raise AudioError("voice activity detection got empty audio (0 samples): nothing to segment")


def detect_speech(read: Reader, total_seconds: float, sample_rate: int,
                  settings: VadSettings | None = None) -> list[Span]:
    """Speech spans of a recording read piece by piece.

    Args:
        read: ``read(start_seconds, duration_seconds) -> (samples,)`` mono at ``sample_rate``.
        total_seconds: the recording's length.
        sample_rate: of what ``read`` returns (8 kHz or more).
        settings: thresholds and backend (default :class:`VadSettings`).

    Returns:
        Ordered, non-overlapping spans, each at most ``settings.max_segment`` long; empty when
        there is no speech.

    Raises:
        AudioError: empty audio or a rate below 8 kHz.
    """
    settings = settings or VadSettings()
    settings.validate()
    check_input(total_seconds, sample_rate)
    backend = _backend(settings.backend)
    scores = [backend.scores(block) for block in _blocks(read, total_seconds, sample_rate, backend.rate)]
    scores = np.concatenate(scores) if scores else np.zeros(0, np.float32)
    return backend.spans(scores, total_seconds, settings)


def speech_spans(wave: torch.Tensor | np.ndarray, sample_rate: int, settings: VadSettings | None = None) -> list[Span]:
    """:func:`detect_speech` over samples held in memory, ``(samples,)``."""
    wave = torch.as_tensor(np.asarray(wave, dtype=np.float32)).reshape(-1)

    def read(start: float, duration: float) -> torch.Tensor:
        a = int(round(start * sample_rate))
        return wave[a : a + int(round(duration * sample_rate))]

    return detect_speech(read, wave.numel() / sample_rate if sample_rate else 0.0, sample_rate, settings)


def _blocks(read: Reader, total_seconds: float, sample_rate: int, rate: int):
    """Consecutive blocks of ``BLOCK_FRAMES`` frames at ``rate`` (the last one shorter), ``(samples,)``."""
    seconds = BLOCK_FRAMES * FRAME_SECONDS
    start = 0.0
    while start < total_seconds - 1e-6:
        wave = read(start, seconds).float().reshape(-1)
        if wave.numel() == 0:
            return
        wave = resample(wave, sample_rate, rate)
        last = start + seconds >= total_seconds - 1e-6
        # a block's length at the detector's rate can round a sample either way: keep frame times exact
        yield wave if last else _fit(wave, int(round(seconds * rate)))
        start += seconds


def _fit(wave: torch.Tensor, n: int) -> torch.Tensor:
    return wave[:n] if wave.numel() >= n else torch.nn.functional.pad(wave, (0, n - wave.numel()))


class SileroBackend:
    """Speech probabilities from Silero VAD's streaming ONNX model at 8 kHz, streams batched."""

    rate = SILERO_RATE

    def __init__(self) -> None:
        threads = torch.get_num_threads()
        try:
            import onnxruntime
            from silero_vad import get_speech_timestamps_from_probs
            from silero_vad.sequence_vad import frame_blocks
        finally:
            torch.set_num_threads(threads)  # importing silero_vad sets torch to one thread for the whole process
        self._to_spans, self._frames = get_speech_timestamps_from_probs, frame_blocks
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1  # small calls: threads cost more than they give
        model = importlib.resources.files("silero_vad.data") / "silero_vad.onnx"  # 8 and 16 kHz, any batch
        self.session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        self._rate = np.array(SILERO_RATE, dtype=np.int64)

    def scores(self, block: torch.Tensor) -> np.ndarray:
        """``(frames,)`` speech probabilities of ``(samples,)`` at ``SILERO_RATE`` (0 where not scored)."""
        frame = int(SILERO_RATE * FRAME_SECONDS)
        # (frames, context + frame): each frame with the end of the one before, as the model reads it
        frames = next(self._frames(block.numpy(), frame, SILERO_CONTEXT, BLOCK_FRAMES))
        db = 10 * np.log10(np.square(frames[:, SILERO_CONTEXT:]).mean(1) + 1e-12)
        streams = [(max(0, a - WARMUP_FRAMES), a, b) for a, b in _gated_streams(db)]  # (warm-up from, first, end)
        streams.sort(key=lambda s: s[2] - s[0], reverse=True)  # longest first: finished streams leave the batch
        lengths = np.array([end - start for start, _, end in streams], dtype=np.int64)
        probs = np.zeros(len(frames), np.float32)
        if not streams:
            return probs
        rows = np.zeros((int(lengths[0]), len(streams)), np.int64)  # frame read at each step by each stream
        for k, (start, _, end) in enumerate(streams):
            rows[: end - start, k] = np.arange(start, end)
        batch = frames[rows]  # (steps, streams, context + frame)
        state = np.zeros((2, len(streams), 128), np.float32)
        out = np.zeros(rows.shape, np.float32)
        for t in range(len(rows)):
            k = int(np.count_nonzero(lengths > t))  # streams still running
            scored, state_k = self.session.run(None, {"input": batch[t, :k], "sr": self._rate,
                                                      "state": np.ascontiguousarray(state[:, :k])})
            state[:, :k], out[t, :k] = state_k, scored[:, 0]
        for k, (start, first, end) in enumerate(streams):
            probs[first:end] = out[first - start : end - start, k]  # warm-up scores dropped
        return probs

    def spans(self, probs: np.ndarray, total_seconds: float, settings: VadSettings) -> list[Span]:
        found = self._to_spans(probs.tolist(), SILERO_RATE, threshold=settings.threshold,
                               min_speech_duration_ms=int(settings.min_speech * 1000),
                               max_speech_duration_s=settings.max_segment,
                               min_silence_duration_ms=int(settings.min_silence * 1000),
                               speech_pad_ms=int(settings.pad * 1000),
                               audio_length_samples=int(round(total_seconds * SILERO_RATE)))
        return [Span(round(s["start"] / SILERO_RATE, 3), round(min(s["end"] / SILERO_RATE, total_seconds), 3))
                for s in found]


class EnergyBackend:
    """Frames louder than the recording's noise floor: the stand-in when Silero is not installed."""

    rate = ENERGY_RATE

    def scores(self, block: torch.Tensor) -> np.ndarray:
        """``(frames,)`` frame energies in dBFS of ``(samples,)`` at ``ENERGY_RATE``."""
        size = int(ENERGY_RATE * FRAME_SECONDS)
        n = -(-block.numel() // size) * size
        frames = torch.nn.functional.pad(block, (0, n - block.numel())).reshape(-1, size)
        return (10 * torch.log10(frames.double().pow(2).mean(1) + 1e-12)).numpy()

    def spans(self, db: np.ndarray, total_seconds: float, settings: VadSettings) -> list[Span]:
        if db.size == 0:
            return []
        speech = db > max(float(np.percentile(db, 10)) + ENERGY_MARGIN_DB, ENERGY_FLOOR_DB)
        runs = [[a, b] for a, b in _runs(speech)]  # [first frame, end frame)
        merged: list[list[int]] = []
        for run in runs:  # pauses shorter than min_silence are gaps between words
            if merged and (run[0] - merged[-1][1]) * FRAME_SECONDS < settings.min_silence:
                merged[-1][1] = run[1]
            else:
                merged.append(run)
        merged = [r for r in merged if (r[1] - r[0]) * FRAME_SECONDS >= settings.min_speech]
        pieces = [p for a, b in merged for p in _split_long(db, a, b, settings.max_segment - 2 * settings.pad)]
        return _padded(pieces, total_seconds, settings.pad)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[first, end)`` of each run of True in ``(frames,)``."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def _gated_streams(db: np.ndarray) -> list[tuple[int, int]]:
    """``[first, end)`` frame ranges Silero scores (each at most ``STREAM_FRAMES``), from frame energies in dB."""
    loud = db > np.percentile(db, 10) + GATE_DB
    loud = np.convolve(loud, np.ones(2 * GATE_PAD_FRAMES + 1), "same") > 0.5
    kept: list[list[int]] = []
    for a, b in _runs(loud):
        if kept and a - kept[-1][1] < GATE_MIN_FRAMES:
            kept[-1][1] = b
        else:
            kept.append([a, b])
    return [(a, min(a + STREAM_FRAMES, b)) for first, b in kept for a in range(first, b, STREAM_FRAMES)]


def _split_long(db: np.ndarray, a: int, b: int, max_seconds: float) -> list[tuple[int, int]]:
    """``[a, b)`` cut at its quietest frame in the second half of each ``max_seconds`` window."""
    limit = max(2, int(max_seconds / FRAME_SECONDS))
    out = []
    while b - a > limit:
        cut = a + limit // 2 + int(np.argmin(db[a + limit // 2 : a + limit]))
        out.append((a, cut))
        a = cut
    return out + [(a, b)]


def _padded(frames: list[tuple[int, int]], total_seconds: float, pad: float) -> list[Span]:
    """Frame runs as spans widened by ``pad``; neighbours closer than two pads share the gap at its middle."""
    spans = [[a * FRAME_SECONDS - pad, min(b * FRAME_SECONDS, total_seconds) + pad] for a, b in frames]
    for left, right in zip(spans, spans[1:]):
        if left[1] > right[0]:
            left[1] = right[0] = (left[1] - pad + right[0] + pad) / 2
    return [Span(round(max(0.0, a), 3), round(min(total_seconds, b), 3)) for a, b in spans]


@functools.lru_cache(maxsize=None)
def _backend(name: str) -> SileroBackend | EnergyBackend:
    """The detector (loaded once per process); ``auto`` falls back to energy with a note."""
    if name == "energy":
        return EnergyBackend()
    try:
        return SileroBackend()
    except ImportError as err:
        if name == "silero":
            raise SpeechtlError(f"Silero VAD is not installed ({err}): pip install silero-vad onnxruntime") from None
        log.warning("Silero VAD not installed (pip install silero-vad onnxruntime): "
                    "finding speech by frame energy instead")
        return EnergyBackend()
