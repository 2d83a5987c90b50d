"""Streaming recognition: words while the audio arrives, and at the end the same words as offline.

The encoder runs on chunks. A TDNN's context is finite: each output frame
depends on a fixed window of filterbank frames (:func:`receptive_field`), so a
chunk is encoded with enough frames of left context that the frames it keeps
never see the chunk's left edge, and the output frames whose right context has
not arrived yet wait for the next chunk. The state carried across chunks is the
unprocessed samples, the last filterbank frames (the left context) and the
number of output frames emitted. Filterbanks are per frame (Kaldi's window at
a fixed hop) and global CMVN is per frame, so the log-probabilities equal the
offline ones (up to float rounding), and the lexicon search (flashlight,
incremental) sees the same frames: the final words equal offline decoding of
the same recording, as long as it is shorter than ``decode.chunk_seconds``
(offline cuts longer recordings at pauses; a stream is one utterance).

Latency: an output frame waits for its right context, ``right`` filterbank frames
(31 for the 4-layer TDNN of dilations 1, 2, 3, 1 at subsampling 4: 0.31 s plus
the 25 ms window).

Refused, with a message: encoders whose context is the whole utterance
(Conformer self-attention, BLSTM; chunked attention is not implemented) and
per-utterance CMVN (its statistics need the whole recording). wav2vec 2.0-family
models stream approximately, in chunks with left context
(:mod:`speechtl.decoding.chunked`, :data:`STREAM_ENCODERS`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np
import torch
from torch import nn

from speechtl.data.cmvn import Normaliser
from speechtl.data.features import fbank, num_frames
from speechtl.data.level import stream_refusal as level_refusal
from speechtl.decoding.align import align_words
from speechtl.decoding.chunked import ChunkedEncoder
from speechtl.decoding.isolated import word_decoder
from speechtl.decoding.recognizer import Recognizer, Transcript
from speechtl.errors import AudioError, CheckpointError
from speechtl.models.acoustic import AcousticModel
from speechtl.models.encoders import TDNNEncoder
from speechtl.text.lexicon import Lexicon


@dataclass(frozen=True)
class ReceptiveField:
    """Output frame ``k`` of an encoder reads input frames ``[stride * k - left, stride * k + right]``."""

    stride: int
    left: int
    right: int


def conv_receptive_field(layers: Iterable[tuple[int, int, int, int]]) -> ReceptiveField:
    """Receptive field of a stack of 1-D convolutions, bottom layer first.

    Args:
        layers: ``(kernel_size, stride, padding, dilation)`` of each convolution.
    """
    lo, hi, stride = 0, 0, 1
    for kernel, step, pad, dilation in reversed(list(layers)):  # from the top frame down to the input
        lo, hi = step * lo - pad, step * hi - pad + dilation * (kernel - 1)
        stride *= step
    return ReceptiveField(stride, -lo, hi)


def _convolutions(encoder: nn.Module) -> list[tuple[int, int, int, int]]:
    """``(kernel_size, stride, padding, dilation)`` of a TDNN encoder's convolutions, bottom first.

    Raises:
        CheckpointError: the encoder sees the whole utterance (Conformer, BLSTM).
    """
    if not isinstance(encoder, TDNNEncoder):
        raise CheckpointError(f"streaming needs an encoder with a finite context (tdnn); this model's "
                              f"{type(encoder).__name__} sees the whole utterance (chunked attention is not "
                              "implemented): decode it offline")
    convs = [c for c in encoder.frontend.modules() if isinstance(c, nn.Conv1d)] + [b.conv for b in encoder.blocks]
    return [(c.kernel_size[0], c.stride[0], c.padding[0], c.dilation[0]) for c in convs]


def receptive_field(encoder: nn.Module) -> ReceptiveField:
    """The finite context of a TDNN encoder (its subsampling convolutions, then its dilated blocks).

    Raises:
        CheckpointError: the encoder sees the whole utterance (Conformer, BLSTM).
    """
    return conv_receptive_field(_convolutions(encoder))


def conv_output_length(frames: int, layers: Iterable[tuple[int, int, int, int]]) -> int:
    """Output frames of a stack of 1-D convolutions (``(kernel, stride, padding, dilation)``) for ``frames``."""
    for kernel, stride, pad, dilation in layers:
        frames = (frames + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1
    return frames


class StreamingEncoder:
    """Audio in, in pieces of any size; CTC log-probabilities out, equal to offline.

    Args:
        model: a phoneme model with a TDNN encoder and global (or no) CMVN, in eval mode.
        language: the head whose log-probabilities to compute.
        device: where the network runs.
    """

    def __init__(self, model: AcousticModel, language: str, device: torch.device | str = "cpu") -> None:
        normaliser = Normaliser(model.features)
        if why := level_refusal(model.features):
            raise CheckpointError(f"streaming: {why}")
        if not normaliser.streamable:
            raise CheckpointError(f"streaming needs global or no CMVN; this model normalises with statistics of a whole "
                                  f"utterance or speaker (features.cmvn: {normaliser.mode}): decode it offline")
        self.convolutions = _convolutions(model.encoder)
        self.field = conv_receptive_field(self.convolutions)
        self.model, self.language, self.device = model, language, torch.device(device)
        self.features = model.features
        self.rate = self.features.sample_rate
        self.hop = int(self.rate * self.features.frame_shift_ms / 1000)
        self.samples = torch.zeros(0)  # not yet turned into filterbank frames
        self.feats = torch.zeros(0, self.features.num_mel_bins)  # frames from feat_start on
        self.feat_start = 0  # global index of self.feats[0]
        self.total_samples = 0
        self.emitted = 0  # output frames given out so far

    @property
    def total_frames(self) -> int:
        return self.feat_start + self.feats.shape[0]

    def accept(self, samples: torch.Tensor) -> torch.Tensor:
        """Add mono samples at the model's rate; ``(frames, classes)`` log-probs of the frames now complete."""
        self._add_features(samples)
        s, f = self.field.stride, self.field
        ready = (self.total_frames - 1 - f.right) // s + 1  # output frames whose right context has arrived
        return self._encode(ready, final=False)

    def finish(self) -> torch.Tensor:
        """The remaining frames (the end of the audio is the end of the context)."""
        return self._encode(conv_output_length(self.total_frames, self.convolutions), final=True)

    def _add_features(self, samples: torch.Tensor) -> None:
        self.samples = torch.cat([self.samples, samples.to(torch.float32).flatten()])
        self.total_samples += samples.numel()
        n = num_frames(self.samples.numel(), self.rate, self.features)
        if n == 0:
            return
        new = fbank(self.samples, self.rate, self.features)  # frames start at multiples of the hop: as offline
        self.feats = torch.cat([self.feats, new])
        self.samples = self.samples[n * self.hop:]

    @torch.no_grad()
    def _encode(self, ready: int, final: bool) -> torch.Tensor:
        model, f = self.model, self.field
        if ready <= self.emitted:
            return torch.zeros(0, len(model.inventories[self.language]))
        # start at a multiple of the stride, early enough that frame `emitted` never sees the edge
        start = max(0, (f.stride * self.emitted - f.left) // f.stride * f.stride)
        chunk = self.feats[start - self.feat_start:]
        if not final:  # frames past the last ready one's context are not needed yet
            chunk = chunk[: f.stride * (ready - 1) + f.right + 1 - start]
        lengths = torch.tensor([chunk.shape[0]], device=self.device)
        hidden, _ = model(chunk[None].to(self.device), lengths)
        log_probs = model.log_probs(hidden, self.language)[0].float().cpu()
        first = start // f.stride
        out = log_probs[self.emitted - first: ready - first]
        self.emitted = ready
        keep = max(0, (f.stride * ready - f.left) // f.stride * f.stride)  # the next chunk's start
        self.feats = self.feats[max(0, keep - self.feat_start):]
        self.feat_start = max(self.feat_start, keep)
        return out


# encoders whose stream is not the exact TDNN one, by model.encoder: wav2vec 2.0 models read chunks with
# left context (approximate, see speechtl.decoding.chunked); others are refused by StreamingEncoder
STREAM_ENCODERS = {"wav2vec2": ChunkedEncoder}


def stream_refusal(model: AcousticModel) -> str:
    """``""`` when ``model`` can stream (a chunked encoder, or a TDNN with frame-wise CMVN), else why not."""
    if why := level_refusal(model.features):
        return why
    if model.config.model.encoder in STREAM_ENCODERS:
        return ""
    try:
        receptive_field(model.encoder)
    except CheckpointError as err:
        return str(err)
    normaliser = Normaliser(model.features)
    return "" if normaliser.streamable else \
        f"CMVN over the utterance's own frames cannot stream (features.cmvn: {normaliser.mode})"


@dataclass
class Partial:
    """What a stream knows so far."""

    words: list[str]
    phonemes: str  # greedy phonemes so far
    seconds: float  # audio received
    decoded_seconds: float  # audio whose frames went through the search

    @property
    def text(self) -> str:
        return " ".join(self.words)

    def as_dict(self) -> dict:
        return {"type": "partial", "text": self.text, "words": self.words, "phonemes": self.phonemes,
                "seconds": round(self.seconds, 3), "decoded_seconds": round(self.decoded_seconds, 3)}


@dataclass
class StreamingRecognizer:
    """One utterance, recognised while it arrives: :meth:`accept` pieces, then :meth:`finish`.

    Args:
        recognizer: the offline recogniser whose model, lexicons and settings the stream uses.
        language, lexicon, words, shipped: as :meth:`Recognizer.transcribe`.
        source: the name the final :class:`Transcript` gives the audio.

    The stream has its own search (a flashlight decoder runs one search at a time), so
    several streams over one recogniser may run in parallel threads.

    Example:
        >>> stream = StreamingRecognizer(rec, "en", words=["yes", "no"])  # doctest: +SKIP
        >>> for block in blocks:                                          # doctest: +SKIP
        ...     print(stream.accept(block).text)                          # partial words
        >>> stream.finish().words                                         # doctest: +SKIP
    """

    recognizer: Recognizer
    language: str | None = None
    lexicon: str | Lexicon | None = None
    words: Iterable[str] | None = None
    shipped: bool = False
    source: str = "<stream>"
    log_probs: list[torch.Tensor] = field(default_factory=list, init=False)  # (frames, classes) pieces
    best_ids: list[torch.Tensor] = field(default_factory=list, init=False)  # their best class per frame

    def __post_init__(self) -> None:
        rec = self.recognizer
        if why := level_refusal(rec.features):  # a decode-time level_dbfs, or the model's
            raise CheckpointError(f"streaming: {why}")
        self.language = rec.language(self.language)
        self.inventory = rec.model.inventories[self.language]
        self.notes, self.prepared_lexicon, self.decoder = self._search()
        make = STREAM_ENCODERS.get(rec.model.config.model.encoder, StreamingEncoder)
        self.encoder = make(rec.model, self.language, rec.device)
        self.decoder.begin()
        self.finished = False

    def _search(self):
        """The stream's word search: its notes, the prepared lexicon and the incremental decoder."""
        rec = self.recognizer
        prepared = rec.prepare(self.language, self.lexicon, self.words, self.shipped)
        return list(prepared.notes), prepared.lexicon, word_decoder(self.inventory.tokens, prepared.lexicon, rec.config)

    def accept(self, samples: torch.Tensor | np.ndarray) -> Partial:
        """Add mono float samples in [-1, 1] at the model's rate (``recognizer.sample_rate``)."""
        if self.finished:
            raise AudioError("the stream has finished; start a new one")
        wave = torch.as_tensor(np.asarray(samples, dtype=np.float32))
        if wave.ndim != 1:
            raise AudioError(f"expected mono samples (samples,), got shape {tuple(wave.shape)}")
        if not torch.isfinite(wave).all():
            raise AudioError("the audio contains NaN or infinite samples")
        self._step(self.encoder.accept(wave))
        return self.partial()

    def partial(self) -> Partial:
        frames = sum(x.shape[0] for x in self.log_probs)
        return Partial(self.decoder.partial(), self._greedy(), self.encoder.total_samples / self.encoder.rate,
                       frames * self.recognizer.frame_seconds)

    def finish(self) -> Transcript:
        """The final words with their times, phonemes and confidences (as :meth:`Recognizer.transcribe`)."""
        if self.finished:
            raise AudioError("the stream has already finished")
        self.finished = True
        rate = self.encoder.rate
        result = Transcript(self.source, self.language, self.encoder.total_samples / rate, notes=list(self.notes))
        if self.encoder.total_frames == 0:
            if self.encoder.total_samples:
                result.notes.append(f"{self.encoder.total_samples / rate * 1000:.1f} ms of audio is shorter than "
                                    "one analysis frame; no words there")
            self.decoder.end()
            return result
        self._step(self.encoder.finish())
        hyp = self.decoder.end()
        log_probs = torch.cat(self.log_probs)
        result.phonemes = self._greedy()
        result.words = align_words(log_probs, hyp.words, hyp.tokens, self.inventory.tokens, self.prepared_lexicon,
                                   self.recognizer.frame_seconds)
        return result

    def _step(self, log_probs: torch.Tensor) -> None:
        if log_probs.shape[0]:
            self.log_probs.append(log_probs)
            self.best_ids.append(log_probs.argmax(-1))
            self.decoder.step(log_probs)

    def _greedy(self) -> str:
        if not self.best_ids:
            return ""
        ids = torch.cat(self.best_ids)  # best class per frame: merged and blanks dropped as ctc_greedy does
        ids = [int(i) for i in torch.unique_consecutive(ids) if i != self.inventory.blank]
        return " ".join(self.inventory.decode(ids)).strip("| ")


def stream_file(recognizer: Recognizer, audio, chunk_seconds: float = 0.2, **kwargs
                ) -> Iterable[Partial | Transcript]:
    """Feed a file (or samples with ``sample_rate``) to a stream in pieces: each partial, then the final.

    Args:
        audio: a path, or samples with ``sample_rate`` in ``kwargs``.
        chunk_seconds: the size of each piece.
        kwargs: ``language``, ``lexicon``, ``words``, ``shipped``, ``sample_rate``.
    """
    source, wave = recognizer.read_samples(audio, kwargs.pop("sample_rate", None))
    stream = StreamingRecognizer(recognizer, source=source, **kwargs)
    step = max(1, int(chunk_seconds * recognizer.sample_rate))
    for a in range(0, wave.numel(), step):
        yield stream.accept(wave[a: a + step])
    yield stream.finish()
