"""Recipes: the typed configuration of an experiment.

A recipe is plain YAML (see ``recipes/``) loaded into the dataclasses below.
Each field carries a one-line comment; ``speechtl train RECIPE --set
train.max_steps=100`` overrides any of them with a type check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from speechtl.config import from_dict, load_yaml, set_override, to_dict
from speechtl.errors import RecipeError
from speechtl.transfer.config import TransferConfig

DEFAULT_LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "pt", "pl"]


def check_channel(spec: str, key: str) -> None:
    """Raise a RecipeError naming ``key`` when ``spec`` is not a valid channel."""
    from speechtl.data.channel import parse_channel

    try:
        parse_channel(spec)
    except RecipeError as err:
        raise RecipeError(f"{key}: {err}") from None


@dataclass
class SynthConfig:
    """The synthetic multilingual corpus made with eSpeak NG."""

    vocabulary: int = 2000  # words per language kept from wordfreq's most frequent
    dev_word_fraction: float = 0.1  # share of the vocabulary spoken only in dev
    test_word_fraction: float = 0.2  # share of the vocabulary spoken only in test
    train_utterances: int = 600  # utterances per language in train
    train_utterances_per_language: dict[str, int] = field(default_factory=dict)  # overrides (low-resource)
    dev_utterances: int = 40  # per language
    test_utterances: int = 100  # per language
    words_per_utterance: tuple[int, int] = (2, 5)  # inclusive range
    train_speakers: int = 40  # per language, from the train voice pool
    dev_speakers: int = 4  # per language, from the dev voice pool
    test_speakers: int = 8  # per language, from the test voice pool
    rate: tuple[int, int] = (130, 210)  # speaking rate range, words per minute
    pitch: tuple[int, int] = (25, 75)  # eSpeak pitch range (0-100)
    warp: tuple[float, float] = (1.0, 1.0)  # per-speaker frequency scale range (vocal tract length; 1 = none)
    sample_rate: int = 16000  # audio is resampled to this rate
    seed: int = 0  # everything is a deterministic function of this seed
    words: list[str] = field(default_factory=list)  # fixed vocabulary for every split (then only voices differ); [] = wordfreq's
    voices: list[str] = field(default_factory=list)  # eSpeak base voices crossed with the variants (e.g. en-us, en-gb-scotland); [] = the language's own

    def validate(self) -> None:
        if self.words:
            if len(set(self.words)) != len(self.words) or not all(w.strip() == w and w for w in self.words):
                raise RecipeError("data.synth.words: expected distinct non-empty words without spaces around them")
        elif not 0 < self.dev_word_fraction + self.test_word_fraction < 1:
            raise RecipeError("data.synth: dev_word_fraction + test_word_fraction must lie in (0, 1)")
        lo, hi = self.words_per_utterance
        if not 1 <= lo <= hi:
            raise RecipeError("data.synth.words_per_utterance: expected 1 <= min <= max")
        if not 0.5 <= self.warp[0] <= self.warp[1] <= 2.0:
            raise RecipeError("data.synth.warp: expected 0.5 <= min <= max <= 2")


@dataclass
class CorpusPart:
    """One piece of a real corpus; its format is the recipe's ``data.corpus``."""

    path: str  # lhotse: CutSet or recordings manifest; kaldi: data dir; commonvoice: cv-corpus-* dir
    split: Literal["train", "dev", "test", ""] = ""  # the split it feeds; "" (commonvoice only): all three
    language: str = ""  # ISO 639-1 code of its transcripts; "": from the manifest (lhotse) / data.languages (commonvoice)
    speakers: list[str] = field(default_factory=list)  # keep only these speakers' utterances; [] = all


@dataclass
class TargetDataConfig:
    """Target-domain audio for domain adaptation (DANN): used without its labels by default."""

    corpus: str = ""  # corpus adapter of the target domain; "" = no target-domain data
    root: str = ""  # its root directory; "" = data.root (another split of the same corpus)
    split: str = "dev"  # the split whose audio is the target-domain training data
    labelled: bool = False  # also train the task loss on its labels (multi-condition upper bound)
    max_utterances: int = 0  # keep at most this many (0 = all)
    repeat: int = 1  # each target utterance is used this many times per epoch (balances a larger source)
    parts: list[CorpusPart] = field(default_factory=list)  # a real target corpus's parts; [] = data.parts
    channel: str = ""  # channel applied to all target-domain audio, e.g. telephone+noise:10 (speechtl.data.channel)
    test_split: str = "test"  # the split `speechtl eval --domain target` scores (with the channel)

    def validate(self) -> None:
        check_channel(self.channel, "data.target.channel")
        if self.repeat < 1:
            raise RecipeError("data.target.repeat: expected at least 1")


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
    max_duration: float = 30.0  # seconds; longer utterances are skipped before their audio is read
    train_minutes: float = 0.0  # keep each language's first N minutes of training audio (0 = all)
    channel: str = ""  # channel applied to every split (defines the domain); "" = the audio as is
    augment: list[str] = field(default_factory=list)  # each channel adds a transformed copy of every train utterance

    def validate(self) -> None:
        check_channel(self.channel, "data.channel")
        for i, spec in enumerate(self.augment):
            if not spec.strip():
                raise RecipeError(f"data.augment[{i}]: empty channel (an unchanged copy); name a channel")
            check_channel(spec, f"data.augment[{i}]")
        if self.corpus != "synthetic" and not self.parts:
            raise RecipeError(f"data.parts: corpus {self.corpus!r} needs at least one part "
                              "(path, split, language); see recipes/commonvoice-multilingual.yaml")
        if self.max_duration <= 0:
            raise RecipeError("data.max_duration: expected a positive number of seconds")
        if self.train_minutes < 0:
            raise RecipeError("data.train_minutes: expected 0 (all) or a positive number of minutes")


@dataclass
class FeatureConfig:
    """Kaldi-compatible log-mel filterbanks (torchaudio.compliance.kaldi.fbank)."""

    num_mel_bins: int = 80  # mel filters
    frame_length_ms: float = 25.0  # analysis window
    frame_shift_ms: float = 10.0  # hop
    cmvn: Literal["global", "utterance", "none"] = "global"  # mean/variance normalisation


@dataclass
class SpecAugmentConfig:
    """SpecAugment (Park et al. 2019) and VTLP, applied to training batches only."""

    enabled: bool = True
    freq_masks: int = 2  # number of frequency masks
    freq_mask_width: int = 15  # maximum width in mel bins
    time_masks: int = 2  # number of time masks
    time_mask_width: int = 10  # maximum width in frames
    vtlp: tuple[float, float] = (1.0, 1.0)  # per-utterance frequency scale range (Jaitly & Hinton 2013); 1 = off

    def validate(self) -> None:
        if not 0.5 <= self.vtlp[0] <= self.vtlp[1] <= 2.0:
            raise RecipeError("specaugment.vtlp: expected 0.5 <= min <= max <= 2")


@dataclass
class ModelConfig:
    """Shared encoder; per-language CTC heads are sized from the inventories."""

    encoder: str = "conformer"  # encoder name (see speechtl.models.encoders)
    dim: int = 144  # model width
    layers: int = 4  # encoder blocks
    heads: int = 4  # attention heads (conformer)
    ff_dim: int = 576  # feed-forward width (conformer)
    kernel_size: int = 15  # depthwise conv kernel (conformer) / tdnn kernel
    subsampling: int = 4  # time reduction of the conv front end: 1, 2 or 4
    dropout: float = 0.1


@dataclass
class UnitConfig:
    """What the CTC heads output."""

    kind: Literal["phoneme", "subword"] = "phoneme"  # phonemes (lexicon decoding) or SentencePiece pieces
    subword_vocab: int = 256  # SentencePiece pieces per language (kind: subword)
    subword_model: Literal["unigram", "bpe"] = "unigram"  # SentencePiece algorithm (kind: subword)


@dataclass
class DecodeConfig:
    """Lexicon-constrained CTC beam search (torchaudio's flashlight-text decoder)."""

    beam_size: int = 50  # hypotheses kept after each frame
    beam_size_token: int = 0  # tokens tried per frame, most probable first (0: all)
    beam_threshold: float = 25.0  # drop hypotheses this far (log-prob) below the best
    lm: str = ""  # optional KenLM word language model (ARPA or binary); "" for none
    lm_weight: float = 2.0  # weight of the language-model log-probability (with lm)
    word_score: float = -4.0  # added per word: < 0 penalises splitting into short words (chosen on dev)
    sil_score: float = -2.0  # added per word-boundary ("|") frame (chosen on dev)
    word_boundary: Literal["optional", "required"] = "optional"  # must "|" separate words? (lexicon_decoder.py)
    chunk_seconds: float = 30.0  # longer audio is decoded in pieces cut at quiet points
    words: list[str] = field(default_factory=list)  # closed vocabulary: evaluation decodes with just these words (G2P); [] = the corpus lexicon

    def validate(self) -> None:
        if self.beam_size < 1 or self.beam_size_token < 0 or self.beam_threshold <= 0:
            raise RecipeError("decode: beam_size must be >= 1, beam_size_token >= 0, beam_threshold > 0")
        if self.chunk_seconds < 1:
            raise RecipeError("decode.chunk_seconds: expected at least 1 second")


@dataclass
class TrainConfig:
    """The one training loop's settings."""

    exp_dir: str = "exp/multilingual-synth"  # checkpoints, logs and results go here
    max_steps: int = 3000  # optimizer steps
    max_frames: int = 20000  # frames (10 ms) per batch, padding included
    lr: float = 2e-3  # peak learning rate (AdamW)
    warmup_steps: int = 300  # linear warm-up, then cosine decay to min_lr_ratio * lr
    min_lr_ratio: float = 0.05
    weight_decay: float = 0.01
    grad_clip: float = 5.0  # max gradient norm
    checkpoint_every: int = 500  # steps between checkpoints
    keep_checkpoints: int = 2  # older checkpoints are deleted
    log_every: int = 25  # steps between log lines / TensorBoard scalars
    seed: int = 0
    num_threads: int = 0  # torch intra-op threads; 0 keeps torch's default
    device: str = "auto"  # auto | cpu | cuda


@dataclass
class Recipe:
    """A whole experiment: data, features, model, output units, training, decoding and transfer."""

    name: str = "experiment"
    task: Literal["speech"] = "speech"  # image recipes say `task: image` (speechtl.vision.recipe)
    data: DataConfig = field(default_factory=DataConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    specaugment: SpecAugmentConfig = field(default_factory=SpecAugmentConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    units: UnitConfig = field(default_factory=UnitConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    decode: DecodeConfig = field(default_factory=DecodeConfig)
    transfer: TransferConfig = field(default_factory=TransferConfig)

    @classmethod
    def from_dict(cls, data: dict) -> "Recipe":
        return from_dict(cls, data)

    def to_dict(self) -> dict:
        return to_dict(self)


def load_recipe(path: str | Path, overrides: list[str] | tuple[str, ...] = ()):
    """Load a YAML recipe and apply ``key=value`` overrides, all type-checked.

    A recipe with ``task: image`` loads into :class:`speechtl.vision.recipe.ImageRecipe`;
    every other recipe into :class:`Recipe`.

    Raises:
        RecipeError: the file is missing or not YAML, a key is unknown or a
            value has the wrong type (the message names the dotted key).
    """
    data = load_yaml(path)
    for assignment in overrides:
        set_override(data, assignment)
    cls = Recipe
    if data.get("task") == "image":
        from speechtl.vision.recipe import ImageRecipe

        cls = ImageRecipe
    try:
        return cls.from_dict(data)
    except RecipeError as err:
        raise RecipeError(f"{path}: {err}") from None
