"""Resampling at bounded memory for any pair of rates, whole or as the signal arrives.

torchaudio's sinc resampler builds one kernel of ``new/g * (orig/g + 2 * width)`` values
(``g = gcd(orig, new)``): 76,000 for 44.1 -> 16 kHz, but 256 million (4 GB while it is
built) for 16,001 -> 16,000 Hz. Pairs whose kernel stays under :data:`MAX_KERNEL` are
resampled in one step as before. Others go in three steps, each with a small kernel:

1. sinc upsampling by a whole factor ``k`` to ``k * orig``, at least four times the target
   rate (kernel ``k * (1 + 2 * width)``);
2. linear interpolation to ``mid``, the multiple of the target rate nearest ``k * orig``
   (at four times oversampling the interpolation's own low-pass takes at most 0.5 dB off
   the top of the target band, and its images fall 34 dB down or more);
3. sinc downsampling by the whole factor ``mid / new``.

:class:`StreamResampler` runs the same steps on a signal that arrives in pieces, with the
same output as resampling it whole.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch

MAX_KERNEL = 1 << 20  # values in one sinc kernel (4 MB in float32); rarer rate pairs go in steps
OVERSAMPLE = 4  # the linear step runs at least this many times above the target rate
_LOWPASS_WIDTH, _ROLLOFF = 6, 0.99  # torchaudio's defaults, which every step uses


def kernel_size(orig: int, new: int) -> int:
    """Values in torchaudio's sinc kernel from ``orig`` to ``new`` Hz (its memory, in floats).

    >>> kernel_size(44100, 16000), kernel_size(48000, 16000)
    (76000, 41)
    """
    g = math.gcd(orig, new)
    o, n = orig // g, new // g
    width = math.ceil(_LOWPASS_WIDTH * o / (min(o, n) * _ROLLOFF))
    return n * (o + 2 * width)


@dataclass(frozen=True)
class Plan:
    """How ``orig`` becomes ``new``: one sinc step, or sinc up, linear, sinc down (``up``, ``mid`` set)."""

    orig: int
    new: int
    up: int = 0  # rate after the whole-factor upsampling (0: one step)
    mid: int = 0  # rate after the linear step

    @property
    def steps(self) -> list[tuple[str, int, int]]:
        """``(kind, from, to)`` of each step (``"sinc"`` or ``"linear"``)."""
        if not self.up:
            return [("sinc", self.orig, self.new)]
        return [("sinc", self.orig, self.up), ("linear", self.up, self.mid), ("sinc", self.mid, self.new)]


@functools.lru_cache(maxsize=256)
def plan(orig: int, new: int) -> Plan:
    """The steps from ``orig`` to ``new`` Hz, each sinc kernel at most :data:`MAX_KERNEL` values.

    >>> plan(44100, 16000).steps
    [('sinc', 44100, 16000)]
    >>> plan(16001, 16000).steps
    [('sinc', 16001, 64004), ('linear', 64004, 64000), ('sinc', 64000, 16000)]
    """
    if orig <= 0 or new <= 0:
        raise ValueError(f"sample rates must be positive, got {orig} -> {new}")
    if orig == new or kernel_size(orig, new) <= MAX_KERNEL:
        return Plan(orig, new)
    factor = math.ceil(OVERSAMPLE * new / orig)
    up = factor * orig
    mid = max(OVERSAMPLE, round(up / new)) * new
    return Plan(orig, new, up, mid)


@functools.lru_cache(maxsize=8)
def sinc_resampler(orig: int, new: int):
    """torchaudio's resampler from ``orig`` to ``new`` Hz; its kernel is computed once per pair.

    At most 8 are kept, each under :data:`MAX_KERNEL` values (refused otherwise: use :func:`plan`).
    """
    import torchaudio

    if kernel_size(orig, new) > MAX_KERNEL:
        raise ValueError(f"a sinc kernel from {orig} to {new} Hz is too large; resample through plan()")
    return torchaudio.transforms.Resample(orig, new)


def resample(wave: torch.Tensor, orig: int, new: int) -> torch.Tensor:
    """``(samples,)`` at ``orig`` Hz to ``new`` Hz (as torchaudio where its kernel is small).

    >>> resample(torch.ones(16001), 16001, 16000).shape
    torch.Size([16000])
    """
    for kind, a, b in plan(orig, new).steps:
        if a == b:
            continue
        if kind == "sinc":
            wave = sinc_resampler(a, b)(wave)
        else:
            step = LinearStream(a, b)
            wave = torch.cat([step.accept(wave), step.finish()])
    return wave


class StreamResampler:
    """Resampling of a signal that arrives in pieces, equal to resampling it whole (by :func:`plan`)."""

    def __init__(self, orig: int, new: int) -> None:
        self.orig, self.new = orig, new
        self.steps = [(SincStream if kind == "sinc" else LinearStream)(a, b) for kind, a, b in plan(orig, new).steps]

    @property
    def buffer(self) -> torch.Tensor:
        """The input the first step holds back (its filter's margin), ``(samples,)``."""
        return self.steps[0].buffer

    def accept(self, samples: torch.Tensor) -> torch.Tensor:
        """Resampled samples that are final now."""
        for step in self.steps:
            samples = step.accept(samples)
        return samples

    def finish(self) -> torch.Tensor:
        """The rest, the end of the input being its end."""
        out = torch.zeros(0)
        for step in self.steps:
            out = torch.cat([step.accept(out), step.finish()])
        return out


class LinearStream:
    """Linear interpolation from ``orig`` to ``new`` Hz, in pieces; output ``j`` lies at input ``j * orig / new``.

    Positions are exact integer fractions, so pieces give the same values as the whole; past
    the last input sample the last value holds.
    """

    def __init__(self, orig: int, new: int) -> None:
        self.orig, self.new = orig, new
        self.tail = torch.zeros(0)  # input from index `start` on
        self.start = 0
        self.total = 0  # input samples received
        self.emitted = 0  # output samples given out

    def accept(self, samples: torch.Tensor) -> torch.Tensor:
        self.tail = torch.cat([self.tail, samples.to(torch.float32)])
        self.total += samples.numel()
        # output j needs inputs floor(j * orig / new) and the one after
        stop = max(0, ((self.total - 1) * self.new - 1) // self.orig + 1) if self.total > 1 else 0
        return self._emit(stop)

    def finish(self) -> torch.Tensor:
        return self._emit(math.ceil(self.total * self.new / self.orig))

    def _emit(self, stop: int) -> torch.Tensor:
        if stop <= self.emitted:
            return torch.zeros(0)
        pieces = []
        for a in range(self.emitted, stop, 1 << 20):  # bounded index tensors
            j = torch.arange(a, min(stop, a + (1 << 20)), dtype=torch.int64)
            index = j * self.orig // self.new
            frac = ((j * self.orig) % self.new).to(torch.float64) / self.new
            left = self.tail[(index - self.start).clamp(max=self.tail.numel() - 1)]
            right = self.tail[(index + 1 - self.start).clamp(max=self.tail.numel() - 1)]
            pieces.append((left + frac.to(torch.float32) * (right - left)))
        self.emitted = stop
        keep = min(self.emitted * self.orig // self.new, self.total - 1)  # first input still needed
        self.tail, self.start = self.tail[keep - self.start:], keep
        return torch.cat(pieces)


class SincStream:
    """torchaudio's sinc resampling of a signal that arrives in pieces, equal to resampling it whole.

    Input is processed in whole periods of the resampler (``orig / gcd`` samples), each with
    enough input on both sides that the filter never reaches the zeros torchaudio pads a
    piece with; the last ``margin`` samples wait for the next piece (or :meth:`finish`).
    """

    def __init__(self, orig: int, new: int) -> None:
        self.orig, self.new = orig, new
        if orig != new:
            resampler = sinc_resampler(orig, new)
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
        if self.orig == self.new or self.total == 0:
            return torch.zeros(0)
        return self._emit(self.total, None)

    def _emit(self, upto: int, ready: int | None) -> torch.Tensor:
        out = sinc_resampler(self.orig, self.new)(self.buffer[: upto - self.start])
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
