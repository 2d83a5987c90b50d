"""The ``data``, ``features`` and ``specaugment`` sections of a speech recipe.

Where the corpus comes from (synthetic, or real parts through a corpus adapter),
which languages, the target domain for adaptation, and how audio becomes
features. Each field carries a one-line comment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from speechtl.config import ranged
from speechtl.errors import RecipeError, shorten

DEFAULT_LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "pt", "pl"]
DEFAULT_ENGINES = {"espeak": []}
ENGINE_NAMES = ("espeak", "flite", "festival", "piper")  # speechtl.data.engines (checked for installation before synthesis)


def check_channel(spec: str, key: str) -> None:
    """Raise a RecipeError naming ``key`` when ``spec`` is not a valid channel."""
    from speechtl.data.channel import parse_channel

    try:
        parse_channel(spec)
    except RecipeError as err:
        raise RecipeError(f"{key}: {shorten(err, 300)}") from None


@dataclass
class SynthConfig:
    """The synthetic multilingual corpus made with eSpeak NG."""

    vocabulary: int = ranged(2000, "[1, inf)")  # words per language kept from wordfreq's most frequent
    dev_word_fraction: float = ranged(0.1, "[0, 1)")  # share of the vocabulary spoken only in dev
    test_word_fraction: float = ranged(0.2, "[0, 1)")  # share of the vocabulary spoken only in test
    train_utterances: int = ranged(600, "[0, inf)")  # utterances per language in train
    train_utterances_per_language: dict[str, int] = ranged(default_factory=dict, interval="[0, inf)")  # overrides (low-resource)
    dev_utterances: int = ranged(40, "[0, inf)")  # per language
    test_utterances: int = ranged(100, "[0, inf)")  # per language
    words_per_utterance: tuple[int, int] = ranged((2, 5), "[1, 100]")  # inclusive range
    train_speakers: int = ranged(40, "[1, inf)")  # per language, from the train voice pool
    dev_speakers: int = ranged(4, "[1, inf)")  # per language, from the dev voice pool
    test_speakers: int = ranged(8, "[1, inf)")  # per language, from the test voice pool
    rate: tuple[int, int] = ranged((130, 210), "[80, 450]")  # speaking rate range, words per minute
    pitch: tuple[int, int] = ranged((25, 75), "[0, 100]")  # eSpeak pitch range (0-100)
    warp: tuple[float, float] = ranged((1.0, 1.0), "[0.5, 2]")  # per-speaker frequency scale range (vocal tract length; 1 = none)
    sample_rate: int = ranged(16000, "[4000, 96000]")  # audio is resampled to this rate
    seed: int = 0  # everything is a deterministic function of this seed
    words: list[str] = field(default_factory=list)  # fixed vocabulary for every split (then only voices differ); [] = wordfreq's
    text_files: dict[str, str] = field(default_factory=dict)  # language -> word list or text file (UTF-8, words split by spaces); needed where wordfreq has no list, wins where it has one
    voices: list[str] = field(default_factory=list)  # eSpeak base voices crossed with the variants (e.g. en-us, en-gb-scotland); [] = the language's own
    engines: dict[str, list[str]] = field(default_factory=lambda: {"espeak": []})  # engine -> voices each speaker draws from (espeak: [] = its variants; flite/festival/piper: [] = every installed voice), e.g. {espeak: [], flite: [kal, awb, rms, slt]}

    def validate(self) -> None:
        if self.words:
            if len(set(self.words)) != len(self.words) or not all(w.strip() == w and w for w in self.words):
                raise RecipeError("data.synth.words: expected distinct non-empty words without spaces around them")
        elif not 0 < self.dev_word_fraction + self.test_word_fraction < 1:
            raise RecipeError("data.synth: dev_word_fraction + test_word_fraction must lie in (0, 1)")
        unknown = [name for name in self.engines if name not in ENGINE_NAMES]
        if unknown or not self.engines:
            raise RecipeError(f"data.synth.engines: {'unknown engine ' + repr(shorten(unknown[0])) if unknown else 'no engine'}; "
                              f"known: {', '.join(ENGINE_NAMES)} (packages: apt flite, festival + festvox-*; pip piper-tts)")
        if self.engines.get("espeak"):
            raise RecipeError("data.synth.engines.espeak: name eSpeak base voices in data.synth.voices; "
                              "expected espeak: []")
        for name in ("words_per_utterance", "rate", "pitch", "warp"):
            lo, hi = getattr(self, name)
            if lo > hi:
                raise RecipeError(f"data.synth.{name}: [{lo}, {hi}] is not a range; expected min <= max")


@dataclass
class CorpusPart:
    """One piece of a real corpus; its format is the recipe's ``data.corpus``."""

    path: str  # lhotse: CutSet or recordings manifest; kaldi: data dir; commonvoice: cv-corpus-* dir
    split: Literal["train", "dev", "test", ""] = ""  # the split it feeds; "" (commonvoice only): all three
    language: str = ""  # ISO 639-1 code of its transcripts; "": from the manifest (lhotse) / data.languages (commonvoice)
    speakers: list[str] = field(default_factory=list)  # keep only these speakers' utterances; [] = all
    index: tuple[int, int] = ranged((0, 1000000), "[0, inf)")  # fsdd: keep recordings numbered lo <= i < hi (FSDD's own test set is 0-4)


@dataclass
class TargetDataConfig:
    """Target-domain audio for domain adaptation (DANN): used without its labels by default."""

    corpus: str = ""  # corpus adapter of the target domain; "" = no target-domain data
    root: str = ""  # its root directory; "" = data.root (another split of the same corpus)
    split: str = "dev"  # the split whose audio is the target-domain training data
    labelled: bool = False  # also train the task loss on its labels (multi-condition upper bound)
    max_utterances: int = ranged(0, "[0, inf)")  # keep at most this many (0 = all)
    repeat: int = ranged(1, "[1, inf)")  # each target utterance is used this many times per epoch (balances a larger source)
    parts: list[CorpusPart] = field(default_factory=list)  # a real target corpus's parts; [] = data.parts
    channel: str = ""  # channel applied to all target-domain audio, e.g. telephone+noise:10 (speechtl.data.channel)
    test_split: str = "test"  # the split `speechtl eval --domain target` scores (with the channel)
    pseudo_labels: str = ""  # JSONL of {"id", "phonemes"} labelling some target utterances (self-training writes it)

    def validate(self) -> None:
        check_channel(self.channel, "data.target.channel")


@dataclass
class TextConfig:
    """How real transcripts are normalised before G2P (speechtl.text.normalize)."""

    lowercase: bool = True  # "Hello" and "hello" are one word
    remove_punctuation: bool = True  # drop punctuation and symbols; keep ' and - inside words


@dataclass
class DataConfig:
    """Where the corpus comes from and which languages to use."""

    corpus: str = "synthetic"  # corpus adapter: synthetic | lhotse | kaldi | commonvoice | fsdd (speechtl.data.corpora)
    root: str = "data/multilingual-synth"  # manifests (and audio, for synthetic) live here
    languages: list[str] = field(default_factory=lambda: list(DEFAULT_LANGUAGES))
    synth: SynthConfig = field(default_factory=SynthConfig)
    target: TargetDataConfig = field(default_factory=TargetDataConfig)  # unlabelled target domain
    parts: list[CorpusPart] = field(default_factory=list)  # real corpora: where each split comes from
    text: TextConfig = field(default_factory=TextConfig)  # transcript normalisation (real corpora)
    max_duration: float = ranged(30.0, "(0, inf)")  # seconds; longer utterances are skipped before their audio is read
    feature_storage: Literal["stored", "on_the_fly"] = "stored"  # filterbanks stored once (ROOT/features), or made per batch
    train_minutes: float = ranged(0.0, "[0, inf)")  # keep each language's first N minutes of training audio (0 = all)
    channel: str = ""  # channel applied to every split (defines the domain); "" = the audio as is
    augment: list[str] = field(default_factory=list)  # each channel adds a transformed copy of every train utterance

    def validate(self) -> None:
        check_channel(self.channel, "data.channel")
        for i, spec in enumerate(self.augment):
            if not spec.strip():
                raise RecipeError(f"data.augment[{i}]: empty channel (an unchanged copy); name a channel")
            check_channel(spec, f"data.augment[{i}]")
        babble = [key for key, spec in [("data.channel", self.channel), *((f"data.augment[{i}]", s) for i, s in
                                        enumerate(self.augment))] if "babble" in spec]
        if babble and self.feature_storage == "on_the_fly":
            raise RecipeError(f"{babble[0]}: babble mixes in the corpus's other utterances, which only stored "
                              "features can reach; set data.feature_storage: stored")
        if self.corpus != "synthetic" and not self.parts:
            raise RecipeError(f"data.parts: corpus {self.corpus!r} needs at least one part "
                              "(path, split, language); see recipes/commonvoice-multilingual.yaml")
        if not self.languages and self.corpus == "synthetic":
            raise RecipeError("data.languages: [] names no language; the synthetic corpus needs at least one "
                              "(e.g. [en, de])")
        from speechtl.text.languages import normalise_code

        self.languages = [normalise_code(lang) for lang in self.languages]  # EN, " en" -> en: one head per language
        for part in self.parts:
            part.language = normalise_code(part.language) if part.language else part.language
        repeated = sorted({lang for lang in self.languages if self.languages.count(lang) > 1})
        if repeated:
            raise RecipeError(f"data.languages: {shorten(', '.join(repeated))} listed more than once")


@dataclass
class FeatureConfig:
    """What the model reads: Kaldi-compatible log-mel filterbanks (torchaudio.compliance.kaldi.fbank), or the waveform.

    ``kind: waveform`` (wav2vec 2.0-family encoders) cuts the samples into frames of one hop
    (``frame_shift_ms``), so batches, padding and lengths work as for filterbanks.
    """

    kind: Literal["fbank", "waveform"] = "fbank"  # filterbanks, or the waveform itself (model.encoder: wav2vec2)
    num_mel_bins: int = ranged(80, "[1, 512]")  # mel filters
    frame_length_ms: float = ranged(25.0, "[1, 1000]")  # analysis window
    frame_shift_ms: float = ranged(10.0, "[1, 1000]")  # hop
    cmvn: Literal["global", "utterance", "sliding", "speaker", "none"] = "global"  # mean/variance normalisation (speaker: each speaker's recordings together)
    cmvn_window: int = ranged(300, "[1, 100000]")  # cmvn sliding: frames of history whose mean is removed (Kaldi's window)
    cmvn_min_window: int = ranged(100, "[1, 100000]")  # cmvn sliding: frames the first windows read ahead (Kaldi's min window)
    sample_rate: int = ranged(16000, "[4000, 96000]")  # audio is resampled to this rate before its filterbanks
    bandwidth: float = ranged(0.0, "[0, inf)")  # Hz the mel filters reach up to; 0 = Nyquist of sample_rate (3800 serves 8 kHz and wideband audio alike)
    level_dbfs: float | None = ranged(None, "[-80, 0]")  # each recording scaled so its speech RMS is this many dBFS before features (speechtl.data.level); null = off

    def validate(self) -> None:
        if self.kind == "waveform":
            hop = self.sample_rate * self.frame_shift_ms / 1000
            if hop != int(hop):
                raise RecipeError(f"features.frame_shift_ms: {self.frame_shift_ms:g} ms is not a whole number of "
                                  f"samples at {self.sample_rate} Hz (waveform frames are one hop long)")
            if self.cmvn in ("global", "sliding", "speaker"):
                raise RecipeError(f"features.cmvn: {self.cmvn} is for filterbanks; waveform features take utterance "
                                  "(zero mean, unit variance per recording, as wav2vec 2.0 large, XLS-R and MMS "
                                  "were trained) or none (wav2vec 2.0 base, HuBERT base)")
        if self.frame_shift_ms > self.frame_length_ms:
            raise RecipeError(f"features.frame_shift_ms: {self.frame_shift_ms} exceeds features.frame_length_ms "
                              f"({self.frame_length_ms}); frames would skip audio")
        if self.bandwidth and not 100 <= self.bandwidth <= self.sample_rate / 2:
            raise RecipeError(f"features.bandwidth: {self.bandwidth:g} Hz; expected 0 (Nyquist) or 100 Hz up to "
                              f"half of features.sample_rate ({self.sample_rate / 2:g} Hz)")

    @property
    def streamable(self) -> bool:
        """Whether frames can be normalised as they arrive (corpus statistics or none, not a whole utterance's)."""
        return self.cmvn in ("global", "none") and self.level_dbfs is None

    @property
    def top_frequency(self) -> float:
        """The mel filters' upper edge in Hz: ``bandwidth``, or Nyquist of ``sample_rate`` when it is 0."""
        return self.bandwidth or self.sample_rate / 2

    @property
    def frames_per_second(self) -> float:
        return 1000.0 / self.frame_shift_ms

    @property
    def dim(self) -> int:
        """Values per frame: mel bins, or samples per hop (waveform)."""
        if self.kind == "waveform":
            return int(self.sample_rate * self.frame_shift_ms / 1000)
        return self.num_mel_bins


@dataclass
class SpecAugmentConfig:
    """SpecAugment (Park et al. 2019) and VTLP, applied to training batches only."""

    enabled: bool = True
    freq_masks: int = ranged(2, "[0, inf)")  # number of frequency masks
    freq_mask_width: int = ranged(15, "[0, inf)")  # maximum width in mel bins
    time_masks: int = ranged(2, "[0, inf)")  # number of time masks
    time_mask_width: int = ranged(10, "[0, inf)")  # maximum width in frames
    vtlp: tuple[float, float] = ranged((1.0, 1.0), "[0.5, 2]")  # per-utterance frequency scale range (Jaitly & Hinton 2013); 1 = off

    def validate(self) -> None:
        if self.vtlp[0] > self.vtlp[1]:
            raise RecipeError(f"specaugment.vtlp: [{self.vtlp[0]}, {self.vtlp[1]}] is not a range; "
                              "expected min <= max")
