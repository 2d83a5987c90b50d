"""Streaming a wav2vec 2.0-family model: chunks of audio with left context and a short look-ahead.

Self-attention sees the whole input, so a stream cannot equal offline decoding; it
approximates it the usual way (chunked inference with overlapping context): every
``chunk`` of new output frames is computed from a window that also holds ``left``
seconds of audio before it and ``right`` seconds after it, and only the chunk's frames
are kept. Per-utterance normalisation (``features.cmvn: utterance``) becomes per window.
A window that reaches both ends of the recording is offline decoding exactly.

Latency: an output frame waits for the end of its chunk plus the look-ahead, at most
``chunk + right`` seconds of audio (0.6 + 0.3 = 0.9 s by default) plus the time to
encode one window (``left + chunk + right`` = 3.9 s of audio), every ``chunk`` seconds.
"""

from __future__ import annotations

import math

import torch

from speechtl.models.acoustic import AcousticModel

CHUNK_SECONDS = 0.6  # new audio per window: the frames kept
LEFT_SECONDS = 3.0  # audio before the chunk the window also reads (context, not emitted again)
RIGHT_SECONDS = 0.3  # audio after the chunk the window reads (look-ahead: latency)


def conv_receptive_samples(conv_layers: list[tuple[int, int, int]]) -> int:
    """Samples one output frame of a convolutional feature extractor reads (400 for wav2vec 2.0's)."""
    field = 1
    for _, kernel, stride in reversed(conv_layers):
        field = (field - 1) * stride + kernel
    return field


class ChunkedEncoder:
    """Audio in pieces of any size; ``(frames, classes)`` log-probabilities out, chunk by chunk.

    Args:
        model: a phoneme model with a wav2vec 2.0-family encoder (eval mode).
        language: the head whose log-probabilities to compute.
        chunk_seconds, left_seconds, right_seconds: see the module docstring.
    """

    def __init__(self, model: AcousticModel, language: str, device: torch.device | str = "cpu",
                 chunk_seconds: float = CHUNK_SECONDS, left_seconds: float = LEFT_SECONDS,
                 right_seconds: float = RIGHT_SECONDS) -> None:
        self.model, self.language, self.device = model, language, torch.device(device)
        self.features = model.features
        self.rate = self.features.sample_rate
        self.hop = self.features.dim  # samples per input frame
        self.stride = self.hop * model.encoder.subsampling  # samples per output frame
        conv = conv_receptive_samples(model.config.model.ssl.conv_layers)
        self.overhang = math.ceil((conv - self.stride) / self.hop) * self.hop  # a frame's samples past its stride
        to_frames = lambda s: max(1, round(s * self.rate / self.stride))  # noqa: E731
        self.chunk, self.left, self.right = to_frames(chunk_seconds), to_frames(left_seconds), \
            round(right_seconds * self.rate / self.stride)
        self.samples = torch.zeros(0)  # from sample `start` on
        self.start = 0
        self.total_samples = 0
        self.emitted = 0  # output frames given out so far

    @property
    def total_frames(self) -> int:
        """Input frames received (whole hops)."""
        return self.total_samples // self.hop

    def accept(self, samples: torch.Tensor) -> torch.Tensor:
        """Add mono samples at the model's rate; the log-probs of every chunk now complete."""
        self.samples = torch.cat([self.samples, samples.to(torch.float32).flatten()])
        self.total_samples += samples.numel()
        out = [self._empty()]
        while self.total_samples >= (self.emitted + self.chunk + self.right) * self.stride + self.overhang:
            out.append(self._window(self.emitted + self.chunk))
        return torch.cat(out)

    def finish(self) -> torch.Tensor:
        """The remaining frames (the end of the audio is the end of the context)."""
        return self._window(None)

    def _empty(self) -> torch.Tensor:
        return torch.zeros(0, len(self.model.inventories[self.language]))

    @torch.no_grad()
    def _window(self, upto: int | None) -> torch.Tensor:
        """Frames ``emitted .. upto`` (None: to the end) from a window with their context."""
        first = max(0, self.emitted - self.left)
        end = self.total_samples if upto is None else (upto + self.right) * self.stride + self.overhang
        end = end // self.hop * self.hop
        wave = self.samples[first * self.stride - self.start: end - self.start]
        frames = wave.reshape(1, -1, self.hop)
        if frames.shape[1] * self.hop < self.stride + self.overhang:  # shorter than one output frame
            return self._empty()
        hidden, lengths = self.model(frames.to(self.device), torch.tensor([frames.shape[1]], device=self.device))
        log_probs = self.model.log_probs(hidden.float(), self.language)[0, : int(lengths[0])].float().cpu()
        stop = log_probs.shape[0] if upto is None else upto - first
        out = log_probs[self.emitted - first: stop]
        self.emitted = first + stop
        keep = max(0, self.emitted - self.left) * self.stride  # the next window's first sample
        self.samples = self.samples[keep - self.start:]
        self.start = keep
        return out
