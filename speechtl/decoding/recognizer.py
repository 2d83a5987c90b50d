"""The Python API for recognising words: ``Recognizer.load(path).transcribe(audio, ...)``.

A recogniser holds one acoustic model. Each call names a language (optional
when the model has one head) and the words to look for: a lexicon file or
:class:`Lexicon`, a list of words (pronounced by G2P on the fly), both, or
neither (the lexicon shipped in ``lexicons/`` for that language).

Audio: a file of any format soundfile reads, or samples with their rate; any
rate (resampled to the model's feature rate, 16 kHz by default), several channels (averaged). Recordings longer
than 30 s (``decode.vad``) are cut at speech boundaries by voice activity detection and
consecutive speech segments are joined, without the pauses between them, into pieces of at most
``decode.chunk_seconds`` decoded one at a time; with ``decode.vad: off``, pieces of
``decode.chunk_seconds`` cut at the quietest 10 ms of their last seconds
(:mod:`speechtl.decoding.segments`). Either way memory stays bounded however long the file.
:attr:`Transcript.segments` lists the speech segments (with VAD) or the pieces decoded (without).
A model trained with per-speaker normalisation (``features.cmvn: speaker``) normalises
each piece by its own statistics (one recording is one speaker), or, after
:meth:`Recognizer.adapt` on recordings of one speaker and microphone, by their joint statistics.

Documented behaviour for odd audio: silence gives no words (and a note); audio (or
a final piece) shorter than one analysis frame (25 ms) gives no words and a note;
float samples far outside [-1, 1] are scaled to peak 1, with a note; samples are
``(samples,)`` or ``(samples, channels)``, and a channels-first array is refused;
an empty, unreadable or directory path raises :class:`~speechtl.errors.AudioError`;
a language without a head raises :class:`~speechtl.errors.LanguageError`.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np
import torch

from speechtl.data.audio import audio_info, limit_peak, load_audio, resample, samples_to_mono
from speechtl.data.cmvn import FeatureStats, Normaliser
from speechtl.data.features import check_bandwidth, compute_features, num_frames
from speechtl.data.level import with_level
from speechtl.models.precision import autocast
from speechtl.decoding.align import WordSegment, align_words
from speechtl.decoding.greedy import ctc_greedy
from speechtl.decoding.decoders import DECODERS, Decoder, decoding_mode
from speechtl.decoding.isolated import word_decoder
from speechtl.decoding.segments import iter_chunks, iter_pieces, piece_span, quiet_cut  # noqa: F401 (their old home)
from speechtl.decoding.segments import stretch_at
from speechtl.data.vad import Span
from speechtl.errors import AudioError, CheckpointError, LanguageError
from speechtl.models.acoustic import AcousticModel
from speechtl.models.ctc_checkpoint import UNIVERSAL
from speechtl.decoding.universal import add_language_head
from speechtl.decoding.config import DecodeConfig, stored_decode_config
from speechtl.text.g2p_lexicon import g2p_lexicon, shipped_lexicon
from speechtl.text.lexicon import Lexicon
from speechtl.text.normalize import nfc

log = logging.getLogger(__name__)

NO_WORDS_NOTE = ("no words recognised: no lexicon word scored within the beam (silence, noise, or words the "
                 "lexicon lacks)")
NO_SPEECH_NOTE = "voice activity detection found no speech"
ADAPTED = "adapted"  # the one speaker of Recognizer.adapt


@dataclass
class Transcript:
    """What :meth:`Recognizer.transcribe` returns for one recording."""

    source: str
    language: str
    duration: float  # seconds
    words: list[WordSegment] = field(default_factory=list)
    phonemes: str = ""  # greedy phoneme string, "|" between words
    notes: list[str] = field(default_factory=list)  # documented oddities (audio too short...)
    segments: list[Span] = field(default_factory=list)  # speech segments (VAD) or pieces decoded; [] = whole

    @property
    def text(self) -> str:
        return " ".join(w.word for w in self.words)

    def segment_words(self) -> list[tuple[Span, list[WordSegment]]]:
        """Each segment with the words decoded in it (a recording decoded whole is one segment)."""
        spans = self.segments or [Span(0.0, round(self.duration, 3))]
        groups: list[list[WordSegment]] = [[] for _ in spans]
        starts = [s.start for s in spans]
        for w in self.words:  # Piece.recording_span chose the segment and put the word's start inside it
            groups[stretch_at(starts, w.start)].append(w)
        return list(zip(spans, groups))

    def as_dict(self) -> dict:
        segments = [{"start": s.start, "end": s.end, "text": " ".join(w.word for w in ws)}
                    for s, ws in self.segment_words()]
        return {"audio": self.source, "language": self.language, "duration": round(self.duration, 3),
                "text": self.text, "words": [w.as_dict() for w in self.words], "segments": segments,
                "phonemes": self.phonemes, "notes": self.notes}


@dataclass
class PreparedLexicon:
    """A lexicon checked against one head, with its decoder (an empty lexicon for greedy decoding)."""

    lexicon: Lexicon
    decoder: Decoder  # the decoding mode's (speechtl.decoding.decoders)
    notes: list[str]  # words left out and why


class Recognizer:
    """Words (with times) from audio, through a phoneme model and a lexicon.

    Args:
        model: a trained phoneme :class:`AcousticModel`.
        config: beam search settings (default: :class:`DecodeConfig`'s; :meth:`load` takes the
            model file's own ``decode`` section).
        device: where the network runs (the search always runs on the CPU).
        level_dbfs: scale each recording (each piece of a long one) to this speech level in dBFS
            before its features, overriding the model's ``features.level_dbfs`` (``None``: the model's).

    Example:
        >>> rec = Recognizer.load("exp/multilingual-synth/model")  # doctest: +SKIP
        >>> out = rec.transcribe("hello.flac", language="en", words=["hello", "world"])  # doctest: +SKIP
        >>> [(w.word, w.start, w.end) for w in out.words]  # doctest: +SKIP
        [('hello', 0.12, 0.52), ('world', 0.6, 1.04)]
    """

    def __init__(self, model: AcousticModel, config: DecodeConfig | None = None,
                 device: str | torch.device = "cpu", level_dbfs: float | None = None) -> None:
        if model.units != "phoneme":
            raise CheckpointError(f"the model outputs {model.units} units; lexicon decoding needs a phoneme model")
        self.model = model.to(device).eval()
        self.device = torch.device(device)
        self.config = config or DecodeConfig()
        self.features = with_level(model.features, level_dbfs)
        self.sample_rate = self.features.sample_rate
        self.frame_seconds = model.frame_seconds
        self.normaliser = Normaliser(self.features)  # adapt() gives it one speaker's statistics
        self._cache: OrderedDict = OrderedDict()

    @classmethod
    def load(cls, path: str | Path, config: DecodeConfig | None = None,
             device: str | torch.device = "cpu", level_dbfs: float | None = None) -> "Recognizer":
        """Load a model file (``.safetensors`` / ``.json`` stem, checkpoint or experiment directory, or
        ``builtin:NAME``, a model shipped with the package).

        Without ``config`` the beam search uses the ``decode`` section stored with the model.
        """
        from speechtl.models.io import load_model_and_meta

        model, meta = load_model_and_meta(path, device)
        return cls(model, config or stored_decode_config(meta, str(path)), device, level_dbfs)

    @classmethod
    def from_pretrained(cls, id_or_dir: str | Path, config: DecodeConfig | None = None,
                        device: str | torch.device = "cpu", cache_dir: str | Path | None = None) -> "Recognizer":
        """Load a local model folder, ``builtin:NAME`` or a Hugging Face Hub id (``owner/name``, fetched into
        the Hub cache with ``huggingface_hub``; see :func:`speechtl.decoding.pretrained.pretrained_path`)."""
        from speechtl.decoding.pretrained import pretrained_path

        return cls.load(pretrained_path(id_or_dir, cache_dir), config, device)

    @property
    def languages(self) -> list[str]:
        return self.model.languages

    def language(self, language: str | None) -> str:
        """The head to use; ``None`` is allowed for a one-language model.

        A universal phoneme model (a CTC checkpoint, :mod:`speechtl.decoding.universal`) gains a
        head restricted to ``language``'s phonemes.

        Raises:
            LanguageError: the model has no head for ``language`` (or has several and none was named).
        """
        if language is None:
            if len(self.languages) == 1:
                return self.languages[0]
            raise LanguageError(f"the model has heads for {', '.join(self.languages)}: name a language")
        if language not in self.languages and UNIVERSAL in self.languages:
            add_language_head(self.model, language)  # a universal phoneme model restricted to the language
        self.model.heads.head(language)  # raises LanguageError naming the heads it has
        return language

    # ------------------------------------------------------------ lexicons
    def prepare(self, language: str | None = None, lexicon: str | Path | Lexicon | None = None,
                words: Iterable[str] | None = None, shipped: bool = False, strict: bool = False,
                greedy: bool = False) -> PreparedLexicon:
        """Build (or reuse) the decoder for a language and word set, in the decoding mode ``self.config`` asks for.

        Args:
            lexicon: a lexicon file or object (IPA); a phoneme the head lacks is mapped to the
                head's nearest by articulatory features, each mapping named in ``notes``
                (see :meth:`~speechtl.text.lexicon.Lexicon.map_to`).
            words: words to recognise; those without a pronunciation in ``lexicon`` get one from
                G2P (words G2P cannot pronounce natively, or whose phonemes the head lacks, are
                left out and named in ``notes``).
            shipped: also include the language's shipped lexicon (``lexicon``/``words`` win).
                With neither ``lexicon`` nor ``words`` the shipped lexicon is used alone.
            strict: refuse a user lexicon phoneme the head lacks instead of mapping it
                (:class:`~speechtl.errors.LexiconError` names the line and symbol).
            greedy: the greedy mode: best-path phonemes, no lexicon read and no word search.
        """
        language = self.language(language)
        mode = decoding_mode(self.config, greedy)
        if not DECODERS.get(mode).spells_words:  # no words: no lexicon to read
            return PreparedLexicon(Lexicon(), word_decoder(self.model.inventories[language].tokens, None,
                                                           self.config, mode=mode), [])
        if language == UNIVERSAL and (words is not None or shipped or lexicon is None):
            raise LanguageError(f"the {UNIVERSAL} head is a CTC checkpoint's universal phoneme head, of no one language: "
                                "name the words' language (--lang) to pronounce them and restrict the head to its "
                                "phonemes, give an IPA lexicon, or ask for greedy phonemes")
        words = None if words is None else list(dict.fromkeys(nfc(w) for w in words))
        key = (language, _lexicon_key(lexicon), None if words is None else tuple(words), shipped, strict)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key][0]
        inventory = self.model.inventories[language]
        notes: list[str] = []
        user = Lexicon()
        if lexicon is not None:
            user = lexicon if isinstance(lexicon, Lexicon) else Lexicon.read(lexicon)
            if strict:
                user.validate(inventory, language)
            user, mappings = user.map_to(inventory, language)
            notes += [f"{language} lexicon: phoneme {m.describe()}" for m in mappings]
        if words is not None:
            missing = [w for w in words if w not in user]
            if lexicon is not None:
                user = user.subset(words)  # a word list restricts the lexicon to those words
            guessed, unpronounceable = g2p_lexicon(missing, language)
            guessed, mappings = guessed.map_to(inventory, language)
            notes += [f"g2p({language}): phoneme {m.describe()}" for m in mappings]
            notes += [f"g2p({language}) cannot pronounce {w!r} with {language} rules; left out"
                      for w in unpronounceable]
            user = user.merge(guessed)
        if shipped or (lexicon is None and words is None):
            base, mappings = shipped_lexicon(language).map_to(inventory, language)
            if mappings:
                notes.append(f"shipped {language} lexicon: {len(mappings)} phonemes the model's head lacks mapped to "
                             "the nearest by articulatory features: " + ", ".join(
                                 f"{m.symbol}->{m.target or '(dropped)'}" for m in mappings))
            user = base.merge(user)
        for note in notes:
            log.warning(note)
        prepared = PreparedLexicon(user, word_decoder(inventory.tokens, user, self.config, mode=mode), notes)
        self._cache[key] = (prepared, lexicon)  # holding the lexicon object keeps its id unique
        while len(self._cache) > 4:
            self._cache.popitem(last=False)
        return prepared

    # -------------------------------------------------------------- audio
    def transcribe(self, audio: str | Path | torch.Tensor | np.ndarray, language: str | None = None,
                   lexicon: str | Path | Lexicon | None = None, words: Iterable[str] | None = None,
                   sample_rate: int | None = None, greedy: bool = False, shipped: bool = False,
                   strict: bool = False) -> Transcript:
        """Recognise the words of one recording.

        Args:
            audio: a file path, or samples ``(samples,)`` / ``(samples, channels)`` with ``sample_rate``
                (numpy or torch; a channels-first ``(channels, samples)`` array is refused, see
                :func:`~speechtl.data.audio.samples_to_mono`). Float samples belong in [-1, 1]; far
                louder ones are scaled down with a note.
            language: which head (optional for a one-language model).
            lexicon, words, shipped: the words to look for (see :meth:`prepare`).
            greedy: skip the word search; only the greedy phoneme string.

        Returns:
            A :class:`Transcript` with words, their times and phonemes.
        """
        language = self.language(language)
        prepared = self.prepare(language, lexicon, words, shipped, strict, greedy)
        source, total, read = self._reader(audio, sample_rate)
        result = Transcript(source=source, language=language, duration=total)
        phonemes = []
        for piece in iter_pieces(read, total, self.sample_rate, self.config):
            result.segments += [Span(round(s.start, 3), round(s.end, 3)) for s in piece.spans]
            wave, offset = piece.wave, piece.spans[0].start
            if num_frames(wave.numel(), self.sample_rate, self.features) == 0:
                result.notes.append(f"{wave.numel() / self.sample_rate * 1000:.1f} ms at {offset:.2f} s is shorter "
                                    "than one analysis frame; no words there")
                continue
            wave, note = limit_peak(wave)
            if note:
                result.notes.append(f"at {offset:.2f} s: {note}")
            log_probs = self._log_probs(wave, language)
            inventory = self.model.inventories[language]
            ids = ctc_greedy(log_probs[None], torch.tensor([log_probs.shape[0]]), inventory.blank)[0]
            phonemes.append(" ".join(inventory.decode(ids)).strip("| "))
            hyp = prepared.decoder(log_probs[None])[0]
            words = align_words(log_probs, hyp.words, hyp.tokens, inventory.tokens, prepared.lexicon,
                                self.frame_seconds)
            for w in words:  # times in the piece -> times in the recording (pauses were cut out)
                w.start, w.end = piece.recording_span(w.start, w.end)
            result.words += words
        result.phonemes = " | ".join(p for p in phonemes if p)
        if not result.segments:
            result.notes.append(NO_SPEECH_NOTE)
        if prepared.decoder.spells_words and not result.words:
            result.notes.append(NO_WORDS_NOTE)
        return result

    def adapt(self, audio: Iterable) -> list[AudioError]:
        """Gather the statistics of recordings of one speaker and microphone for later calls.

        A model with per-speaker normalisation (``features.cmvn: speaker``) then normalises
        everything it decodes by them instead of each recording's own; no transcript is read.
        Other models are not affected. Unreadable recordings are left out and returned.

        Args:
            audio: file paths.
        """
        stats, errors = FeatureStats(self.features.dim), []
        for path in audio:
            try:
                _, total, read = self._reader(path, None)
                for _, wave in iter_chunks(read, total, self.config.chunk_seconds, self.sample_rate):
                    if num_frames(wave.numel(), self.sample_rate, self.features):  # pieces as transcribe() reads them
                        stats.add(compute_features(wave, self.sample_rate, self.features, source=str(path)))
            except AudioError as err:
                errors.append(err)
        self.speaker_stats = stats if stats.count else None
        return errors

    @property
    def speaker_stats(self) -> FeatureStats | None:
        """The statistics :meth:`adapt` gathered (``None``: each recording is normalised by its own)."""
        return self.normaliser.stats.get(ADAPTED)

    @speaker_stats.setter
    def speaker_stats(self, stats: FeatureStats | None) -> None:
        self.normaliser.stats = {} if stats is None else {ADAPTED: stats}

    def normalised(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        """Filterbanks of recordings as the model reads them (:class:`~speechtl.data.cmvn.Normaliser`)."""
        speaker = ADAPTED if self.speaker_stats is not None else ""
        return self.normaliser.batch(feats, [speaker] * len(feats))

    @torch.no_grad()
    def _log_probs(self, wave: torch.Tensor, language: str) -> torch.Tensor:
        """``(frames', classes)`` log-probabilities of one piece of audio."""
        feats = self.normalised([compute_features(wave, self.sample_rate, self.features)])[0]
        with autocast(self.device, self.config.amp):
            hidden, lengths = self.model(feats[None].to(self.device), torch.tensor([feats.shape[0]],
                                                                                   device=self.device))
        hidden = hidden.float()  # the heads and the search in float32
        return self.model.log_probs(hidden, language)[0, : int(lengths[0])].float().cpu()

    def read_samples(self, audio, sample_rate: int | None = None) -> tuple[str, torch.Tensor]:
        """``(source name, mono samples at the model's rate)`` of a whole file or array (as :meth:`transcribe`)."""
        source, total, read = self._reader(audio, sample_rate)
        return source, read(0.0, total + 1.0)

    def _reader(self, audio, sample_rate: int | None):
        """``(source name, seconds, read(start, duration) -> mono samples at the feature rate)``."""
        if isinstance(audio, (str, Path)):
            path = Path(audio)
            rate, frames = audio_info(path)
            if frames == 0:
                raise AudioError(f"{path}: the audio file is empty")
            check_bandwidth(str(path), rate, self.features)
            return str(path), frames / rate, lambda s, d: load_audio(path, self.sample_rate, start=s, duration=d)
        if sample_rate is None:
            raise AudioError("samples given without their sample_rate")
        wave = torch.as_tensor(samples_to_mono(audio))
        if not torch.isfinite(wave).all():
            raise AudioError("the audio contains NaN or infinite samples")
        check_bandwidth("<samples>", sample_rate, self.features)
        rate = self.sample_rate
        wave = resample(wave, sample_rate, rate)
        total = wave.numel() / rate

        def read(start: float, duration: float) -> torch.Tensor:
            a = int(round(start * rate))
            return wave[a : a + int(round(duration * rate))]

        return "<samples>", total, read


def _lexicon_key(lexicon) -> object:
    if lexicon is None:
        return None
    if isinstance(lexicon, Lexicon):
        return ("object", id(lexicon))
    path = Path(lexicon)
    try:
        return ("file", str(path.resolve()), path.stat().st_mtime_ns)
    except OSError:
        return ("file", str(path), None)  # Lexicon.read will report it
