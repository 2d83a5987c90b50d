"""Utterances and batches.

Training reads batches of cuts (:class:`CutBatches`, over the manifest of
:mod:`speechtl.data.training_cuts`), one batch at a time. Evaluation splits are
small: :func:`load_utterances` computes their features into memory. A bad
utterance (unreadable audio, too short, unknown phoneme) is skipped, counted and
named in the log instead of stopping a long run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch
from torch import nn

from speechtl.data.audio import audio_info
from speechtl.data.cmvn import FeatureStats, Normaliser
from speechtl.data.features import check_bandwidth, compute_features
from speechtl.errors import AudioError, ManifestError, SpeechtlError
from speechtl.data.config import FeatureConfig
from speechtl.text.inventory import Inventory

log = logging.getLogger(__name__)

Transform = Callable[[torch.Tensor, int, str], torch.Tensor]  # (wave, sample_rate, utterance id) -> wave


@dataclass
class Utterance:
    """One supervised utterance with its features."""

    id: str
    language: str
    speaker: str
    feats: torch.Tensor  # (frames, features.dim): filterbanks or waveform frames
    phonemes: str  # space-separated, words split by "|"
    text: str
    source: str  # the audio file, for messages
    domain: str = "source"  # which domain it comes from (domain adaptation)
    labelled: bool = True  # False: its transcript must not train the task (unlabelled target data)


@dataclass
class LoadReport:
    """What loading a split kept and skipped."""

    kept: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (utterance id, reason)

    def log(self, split: str) -> None:
        for uid, reason in self.skipped:
            log.warning("skipped %s: %s", uid, reason)
        if self.skipped:
            log.warning("%s: kept %d utterances, skipped %d", split, self.kept, len(self.skipped))


def cut_audio_source(cut) -> str:
    """The file (or other source) a cut's audio comes from, for error messages."""
    try:
        return str(cut.recording.sources[0].source)
    except (AttributeError, IndexError):
        return cut.id


def _check_file_duration(cut, source: str) -> None:
    """Refuse a file whose header disagrees with its manifest.

    Lhotse pads or stretches audio that is shorter than the manifest says (a
    file truncated or replaced after the manifest was made) without an error.
    """
    recording = getattr(cut, "recording", None)
    if recording is None or len(recording.sources) != 1 or recording.sources[0].type != "file":
        return
    rate, frames = audio_info(recording.sources[0].source)
    actual = frames / rate
    if abs(actual - recording.duration) > max(0.05, 0.01 * recording.duration):
        raise AudioError(f"{source}: the file holds {actual:.2f} s of audio, its manifest says "
                         f"{recording.duration:.2f} s (truncated or replaced since the manifest was made)")


class CutAudioPool:
    """The audio of a split's cuts, read on demand: the other utterances a babble stage mixes in.

    The cut list is read on first use, so a channel without babble never lists the corpus.
    """

    def __init__(self, cuts) -> None:
        self._source = cuts
        self._cuts: list | None = None

    def _list(self) -> list:
        if self._cuts is None:
            self._cuts = list(self._source)
        return self._cuts

    def __len__(self) -> int:
        return len(self._list())

    def audio(self, index: int, sample_rate: int) -> torch.Tensor:
        return load_cut_audio(self._list()[index], sample_rate)


def load_cut_audio(cut, sample_rate: int, features: FeatureConfig | None = None) -> torch.Tensor:
    """A cut's mono audio at ``sample_rate``.

    With ``features``, audio recorded at a rate too low for their band gets a warning
    naming the file and the rates (:func:`speechtl.data.features.check_bandwidth`).

    Raises:
        AudioError: naming the file when it is missing, corrupt, empty, not finite or
            not the length its manifest says.
    """
    source = cut_audio_source(cut)
    _check_file_duration(cut, source)
    if features is not None:
        check_bandwidth(source, cut.sampling_rate, features)
    try:
        if cut.sampling_rate != sample_rate:
            cut = cut.resample(sample_rate)
        audio = cut.load_audio()
    except SpeechtlError:
        raise
    except Exception as err:  # lhotse/soundfile raise many kinds for bad files
        raise AudioError(f"{source}: cannot read audio: {err}") from None
    wave = torch.from_numpy(audio).float()
    wave = wave.mean(0) if wave.ndim == 2 else wave
    if wave.numel() == 0:
        raise AudioError(f"{source}: the audio is empty")
    if not torch.isfinite(wave).all():
        raise AudioError(f"{source}: the audio contains NaN or infinite samples")
    return wave


def supervised_pieces(cut) -> Iterator[tuple[str, object, object]]:
    """``(utterance id, cut, supervision)`` for each supervision of a cut.

    The utterance id is the supervision's (Lhotse's cut ids carry a position
    index). A supervision covering its whole cut keeps the cut; one of several
    segments of a long recording gets a cut of just its span, so only that
    span's audio is ever read.
    """
    for sup in cut.supervisions:
        if len(cut.supervisions) == 1 and abs(sup.start) < 1e-3 and abs(sup.duration - cut.duration) < 1e-2:
            yield sup.id, cut, sup
        else:
            piece = cut.truncate(offset=max(0.0, sup.start), duration=sup.duration,
                                 keep_excessive_supervisions=False)
            yield sup.id, piece, sup


def load_utterances(
    cuts, cfg: FeatureConfig, languages: list[str] | None = None,
    progress: bool = False, desc: str = "features", max_duration: float | None = None,
    transform: Transform | None = None,
) -> tuple[list[Utterance], LoadReport]:
    """Compute features for every supervision (optionally only some languages).

    Args:
        max_duration: seconds; longer utterances are skipped from their manifest
            duration, before any audio is read (an hour-long file costs nothing).
        transform: ``(wave (samples,), sample_rate, utterance id) -> wave``, applied
            before the features (a :class:`speechtl.data.channel.Channel`).

    With ``cfg.cmvn: speaker`` each speaker's utterances are normalised by the statistics of
    all of them (no transcript is read: a test speaker's own audio, as Kaldi's per-speaker CMVN).

    Returns:
        The utterances, and a report naming the skipped ones and why.
    """
    from tqdm import tqdm

    report = LoadReport()
    out: list[Utterance] = []
    # Per-utterance ops are too small to share between threads: one thread is
    # faster, and 40x faster when other processes load the cores (measured).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for cut in tqdm(cuts, desc=desc, unit="utt", disable=not progress, leave=False):
            for uid, piece, sup in supervised_pieces(cut):
                _load_one(uid, piece, sup, cfg, cfg.sample_rate, languages, max_duration, out, report, transform)
    finally:
        torch.set_num_threads(threads)
    for utt, feats in zip(out, Normaliser(cfg).batch([u.feats for u in out], [u.speaker for u in out])):
        utt.feats = feats
    return out, report


def _load_one(uid: str, cut, sup, cfg: FeatureConfig, sample_rate: int, languages: list[str] | None,
              max_duration: float | None, out: list[Utterance], report: LoadReport,
              transform: Transform | None = None) -> None:
    if languages is not None and sup.language not in languages:
        return
    source = cut_audio_source(cut)
    if max_duration is not None and sup.duration > max_duration:
        report.skipped.append((uid, f"{source}: {sup.duration:.1f} s is longer than "
                                    f"data.max_duration ({max_duration:g} s)"))
        return
    try:
        wave = load_cut_audio(cut, sample_rate, cfg)
        if transform is not None:
            wave = transform(wave, sample_rate, uid)
        feats = compute_features(wave, sample_rate, cfg, source=source)
    except SpeechtlError as err:
        report.skipped.append((uid, str(err)))
        return
    phonemes = (sup.custom or {}).get("phonemes", "")
    out.append(Utterance(uid, sup.language or "", sup.speaker or "", feats, phonemes, sup.text or "", source))
    report.kept += 1


@dataclass
class Batch:
    """A padded batch; utterances may be of different languages (masked multi-head loss).

    Unlabelled items (target-domain audio for DANN) have ``labelled`` False and
    empty targets: they reach the backbone and the transfer methods, not the task loss.
    """

    feats: torch.Tensor  # (batch, frames, dim)
    lengths: torch.Tensor  # (batch,)
    languages: list[str]
    targets: list[torch.Tensor]  # token ids per utterance, in its language's inventory
    ids: list[str]
    speakers: list[str]
    domains: list[str] | None = None  # per utterance; None = all "source"
    labelled: torch.Tensor | None = None  # (batch,) bool; None = all labelled
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (utterance id, why) left out of this batch

    @classmethod
    def empty(cls, dim: int) -> "Batch":
        return cls(torch.zeros(0, 0, dim), torch.zeros(0, dtype=torch.long), [], [], [], [])

    def to(self, device: torch.device | str) -> "Batch":
        self.feats = self.feats.to(device)
        self.lengths = self.lengths.to(device)
        return self

    def is_labelled(self, i: int) -> bool:
        return self.labelled is None or bool(self.labelled[i])

    def tags(self, key: str) -> list[str | None]:
        """One label per utterance by name: ``language``, ``speaker`` or ``domain``."""
        if key == "language":
            return list(self.languages)
        if key == "speaker":
            return list(self.speakers)
        if key == "domain":
            return list(self.domains) if self.domains is not None else ["source"] * len(self)
        raise ValueError(f"speech batches have no label {key!r}; they have: language, speaker, domain")

    def __len__(self) -> int:
        return len(self.ids)


class CutBatches(torch.utils.data.Dataset):
    """A Lhotse-style dataset: ``dataset[cuts] -> Batch`` for the cuts a sampler chose.

    Each cut's filterbanks are read from feature storage when the cut has them, or
    computed here (in a DataLoader worker) from its audio through its channel
    (``cut.custom["channel"]``, seeded by ``cut.custom["channel_key"]``). Targets
    are the supervision's phonemes in its language's inventory; unlabelled cuts
    (``cut.custom["labelled"]`` false) get empty targets. A cut that fails (unreadable
    audio, a phoneme the inventory lacks) is left out of its batch and named in
    ``batch.skipped``.

    Args:
        inventories: per language.
        features: the feature settings (for cuts without stored features).
        seed: the channels' seed (``data.synth.seed``).
        speaker_stats: ``features.cmvn: speaker``: each cut's group (``cut.custom["speaker_group"]``:
            a part's speaker) -> its statistics, gathered when the manifest was written.
    """

    def __init__(self, inventories: dict[str, Inventory], features: FeatureConfig, seed: int = 0,
                 speaker_stats: dict[str, FeatureStats] | None = None) -> None:
        self.inventories = inventories
        self.features = features
        self.seed = seed
        self.normaliser = Normaliser(features, speaker_stats)
        self._channels: dict[str, object] = {}

    def _feats(self, cut) -> torch.Tensor:
        if cut.features is not None:
            return torch.from_numpy(cut.features.load())
        from speechtl.data.channel import parse_channel

        wave = load_cut_audio(cut, self.features.sample_rate, self.features)
        spec = (cut.custom or {}).get("channel", "")
        if spec:
            if spec not in self._channels:
                self._channels[spec] = parse_channel(spec, self.seed)
            wave = self._channels[spec](wave, self.features.sample_rate, cut.custom["channel_key"])
        return compute_features(wave, self.features.sample_rate, self.features, source=cut_audio_source(cut))

    def item(self, cut) -> tuple[Utterance, torch.Tensor]:
        """One cut as ``(utterance, targets)``.

        Raises:
            SpeechtlError: unreadable audio, or a transcript the inventory cannot encode.
        """
        custom = cut.custom or {}
        sup = cut.supervisions[0]
        labelled = bool(custom.get("labelled", True))
        phonemes = (sup.custom or {}).get("phonemes", "")
        targets = torch.zeros(0, dtype=torch.long)
        if labelled:
            inv = self.inventories.get(sup.language)
            if inv is None:
                raise ManifestError(f"{cut.id}: no inventory for language {sup.language!r}")
            ids = inv.encode(phonemes, source=f"utterance {cut.id}")
            if not ids:
                raise ManifestError(f"{cut.id}: empty phoneme transcript")
            targets = torch.tensor(ids, dtype=torch.long)
        group = custom.get("speaker_group", "")
        feats = self.normaliser(self._feats(cut), group)  # a group without statistics: its own
        utt = Utterance(cut.id, sup.language or "", sup.speaker or "", feats, phonemes, sup.text or "",
                        custom.get("source", cut.id), custom.get("domain", "source"), labelled)
        return utt, targets

    def __getitem__(self, cuts) -> "Batch":
        items, skipped = [], []
        for cut in cuts:
            try:
                items.append(self.item(cut))
            except SpeechtlError as err:
                skipped.append((cut.id, str(err)))
        batch = collate(items) if items else Batch.empty(self.features.dim)
        batch.skipped = skipped
        return batch


def collate(items: list[tuple[Utterance, torch.Tensor]]) -> Batch:
    """Pad features into a :class:`Batch`."""
    feats = [u.feats for u, _ in items]
    return Batch(
        feats=nn.utils.rnn.pad_sequence(feats, batch_first=True),
        lengths=torch.tensor([f.shape[0] for f in feats], dtype=torch.long),
        languages=[u.language for u, _ in items],
        targets=[t for _, t in items],
        ids=[u.id for u, _ in items],
        speakers=[u.speaker for u, _ in items],
        domains=[u.domain for u, _ in items],
        labelled=torch.tensor([u.labelled for u, _ in items], dtype=torch.bool),
    )
