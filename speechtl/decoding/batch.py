"""Decoding many recordings: short ones batched into one forward pass, in parallel processes if asked.

Per-file work dominates when files are short (FSDD's digits last 0.4 s): reading,
resampling, filterbanks, a forward pass, decoder set-up and alignment. Here the
decoder is built once per language and word set (by :meth:`Recognizer.prepare`),
recordings are read with a cached resampler, sorted by length inside a window of
files so that a batch pads little, and each batch is one forward pass (the
encoders give a padded batch the output each utterance gets alone). Results
come back in input order. Recordings longer than ``decode.chunk_seconds`` (or segmented by VAD) go
through :meth:`Recognizer.transcribe` (cut at pauses) one by one.

Workers: :func:`decode_parallel` splits the list into contiguous shards decoded by
``workers`` processes, each with its own model and ``threads`` torch threads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

import torch
from torch import nn

from speechtl.data.audio import audio_info, limit_peak, load_audio
from speechtl.data.cmvn import FeatureStats
from speechtl.data.features import check_bandwidth, num_frames
from speechtl.data.packing import fbank_packed, resample_packed
from speechtl.models.precision import autocast
from speechtl.decoding.align import align_words
from speechtl.decoding.greedy import ctc_greedy
from speechtl.decoding.recognizer import NO_WORDS_NOTE, PreparedLexicon, Recognizer, Transcript
from speechtl.decoding.segments import uses_vad
from speechtl.errors import AudioError, SpeechtlError


@dataclass
class BatchSettings:
    """How recordings are grouped (each field validated by :meth:`validate`)."""

    batch_seconds: float = 60.0  # padded seconds of audio per forward pass (0: one recording at a time)
    window: int = 256  # recordings sorted by length together (more: less padding, results later)

    def validate(self) -> None:
        if self.batch_seconds < 0 or self.window < 1:
            raise SpeechtlError("batch_seconds must be >= 0 and window >= 1")


def read_mono(path: str) -> tuple[torch.Tensor, int]:
    """A whole audio file as mono float32 samples and their rate (errors name the file, as load_audio's)."""
    wave = load_audio(path, sample_rate=None)  # first: it names a missing file as such
    return wave, audio_info(path)[0]


@torch.no_grad()
def transcribe_batch(recognizer: Recognizer, waves: list[tuple[str, torch.Tensor]], language: str,
                     prepared: PreparedLexicon) -> list[Transcript]:
    """Recognise several short recordings with one forward pass (each shorter than ``chunk_seconds``).

    Args:
        waves: ``(source, mono samples at recognizer.sample_rate)``.
        prepared: the lexicon and decoder (:meth:`Recognizer.prepare`; greedy: phonemes only).

    Returns:
        One :class:`Transcript` per recording, equal to :meth:`Recognizer.transcribe` on it alone.
    """
    rate, cfg = recognizer.sample_rate, recognizer.features
    out = [Transcript(source, language, wave.numel() / rate) for source, wave in waves]
    limited = []
    for transcript, (source, wave) in zip(out, waves):  # as Recognizer.transcribe: far too loud audio is scaled
        wave, note = limit_peak(wave)
        if note:
            transcript.notes.append(f"at 0.00 s: {note}")
        limited.append((source, wave))
    waves = limited
    live = [i for i, (_, w) in enumerate(waves) if num_frames(w.numel(), rate, cfg)]
    for i in set(range(len(waves))) - set(live):
        out[i].notes.append(f"{waves[i][1].numel() / rate * 1000:.1f} ms at 0.00 s is shorter than one analysis "
                            "frame; no words there")
    if not live:
        return out
    feats = recognizer.normalised(fbank_packed([waves[i][1] for i in live], rate, cfg))
    lengths = torch.tensor([f.shape[0] for f in feats])
    model, device = recognizer.model, recognizer.device
    with autocast(device, recognizer.config.amp):
        hidden, hlens = model(nn.utils.rnn.pad_sequence(feats, batch_first=True).to(device), lengths.to(device))
    hidden = hidden.float()  # the heads in float32
    log_probs = model.log_probs(hidden, language).float().cpu()
    hlens = hlens.cpu()
    inventory = model.inventories[language]
    for i, ids in zip(live, ctc_greedy(log_probs, hlens, inventory.blank)):
        out[i].phonemes = " ".join(inventory.decode(ids)).strip("| ")
    for b, (i, hyp) in enumerate(zip(live, prepared.decoder(log_probs, hlens))):
        out[i].words = align_words(log_probs[b, : int(hlens[b])], hyp.words, hyp.tokens, inventory.tokens,
                                   prepared.lexicon, recognizer.frame_seconds)
        if prepared.decoder.spells_words and not out[i].words:
            out[i].notes.append(NO_WORDS_NOTE)
    return out


def decode_files(recognizer: Recognizer, inputs: Iterable[tuple[str, str]], language: str | None = None,
                 lexicon=None, words: list[str] | None = None, shipped: bool = False, greedy: bool = False,
                 settings: BatchSettings | None = None) -> Iterator[tuple[str, Transcript | AudioError]]:
    """``(id, transcript)`` per ``(id, path)``, in input order; an unreadable file gives its :class:`AudioError`."""
    settings = settings or BatchSettings()
    settings.validate()
    language = recognizer.language(language)
    prepared = recognizer.prepare(language, lexicon, words, shipped, greedy=greedy)
    inputs = list(inputs)
    for a in range(0, len(inputs), settings.window):
        yield from _decode_window(recognizer, inputs[a: a + settings.window], language, prepared, settings,
                                  lexicon, words, shipped, greedy)


def _decode_window(recognizer, window, language, prepared, settings, lexicon, words, shipped, greedy):
    rate = recognizer.sample_rate
    results: list = [None] * len(window)
    by_rate: dict[int, list] = {}  # short recordings, resampled together
    for i, (uid, path) in enumerate(window):
        try:
            wave, file_rate = read_mono(path)
        except AudioError as err:
            results[i] = err
            continue
        check_bandwidth(path, file_rate, recognizer.features)  # names a file too narrowband for the model
        seconds = wave.numel() / file_rate
        alone = seconds > recognizer.config.chunk_seconds or uses_vad(recognizer.config, seconds)
        if alone or settings.batch_seconds == 0:
            results[i] = recognizer.transcribe(wave.numpy(), language, lexicon, words, file_rate, greedy, shipped)
            results[i].source = path
        else:
            by_rate.setdefault(file_rate, []).append((i, path, wave))
    short = []
    for file_rate, items in by_rate.items():
        waves = resample_packed([w for _, _, w in items], file_rate, rate)
        short += [(i, path, w) for (i, path, _), w in zip(items, waves)]
    short.sort(key=lambda x: x[2].numel())
    budget = settings.batch_seconds * rate
    while short:  # the longest recordings first; a batch is as many as fit the padded budget
        n = max(1, min(len(short), int(budget // max(1, short[-1][2].numel()))))
        batch, short = short[-n:], short[:-n]
        for (i, _, _), t in zip(batch, transcribe_batch(recognizer, [(p, w) for _, p, w in batch], language,
                                                        prepared)):
            results[i] = t
    for (uid, _), result in zip(window, results):
        yield uid, result


# ------------------------------------------------------------------ processes
_WORKER: dict = {}


def _init_worker(model: str, config, device: str, threads: int, kwargs: dict, speaker_stats: list | None,
                 level_dbfs: float | None = None) -> None:
    torch.set_num_threads(threads)
    _WORKER["recognizer"] = Recognizer.load(model, config, device, level_dbfs)
    _WORKER["recognizer"].speaker_stats = FeatureStats.from_state(speaker_stats) if speaker_stats else None
    _WORKER["kwargs"] = kwargs


def _decode_shard(shard: list[tuple[str, str]]) -> list[tuple[str, Transcript | AudioError]]:
    return list(decode_files(_WORKER["recognizer"], shard, **_WORKER["kwargs"]))


def decode_parallel(model: str, inputs: list[tuple[str, str]], workers: int, config=None, device: str = "cpu",
                    threads: int = 1, shard_size: int = 256, speaker_stats: FeatureStats | None = None,
                    level_dbfs: float | None = None, **kwargs) -> Iterator[tuple[str, Transcript | AudioError]]:
    """:func:`decode_files` in ``workers`` processes (each loads the model once); results in input order.

    Args:
        model: the model path each worker loads.
        config: the :class:`DecodeConfig` (``None``: the model's own).
        threads: torch threads per worker.
        speaker_stats: one speaker's statistics (:meth:`Recognizer.adapt`) for every worker.
        level_dbfs: the recognisers' decode-time level (``None``: the model's ``features.level_dbfs``).
        kwargs: ``language``, ``lexicon``, ``words``, ``shipped``, ``greedy``, ``settings``.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    shards = [inputs[a: a + shard_size] for a in range(0, len(inputs), shard_size)]
    context = multiprocessing.get_context("spawn")  # no forked OpenMP state
    state = speaker_stats.state() if speaker_stats is not None else None
    with ProcessPoolExecutor(workers, context, _init_worker, (model, config, device, threads, kwargs, state,
                                                                  level_dbfs)) as pool:
        for shard in pool.map(_decode_shard, shards):
            yield from shard
