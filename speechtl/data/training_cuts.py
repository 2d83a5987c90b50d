"""The training set as one Lhotse cut manifest, read lazily, with features stored once or made on the fly.

A recipe's training data comes from several *parts*: the training split (through
the recipe's channel), one augmented copy per ``data.augment`` channel, and the
target domain (tagged ``domain=target``, unlabelled unless said otherwise,
repeated ``data.target.repeat`` times). :func:`write_training_cuts` turns them
into one cut manifest (``cuts.jsonl.gz``), written as it goes and interleaved at
random (Lhotse's ``mux``), so nothing of the corpus is held in memory. Each cut
has one supervision (language, speaker, text, ``custom["phonemes"]``) and says
in ``cut.custom`` its domain, whether it is labelled, and its channel.

``stored`` (the default): each cut's filterbanks, after its channel, are computed
once into Lhotse feature storage (``LilcomChunkyWriter``; waveform frames as ``.npy`` files) under the data root,
reused by every run with the same corpus, channel and feature settings.
``on_the_fly``: the manifest points at the audio, and DataLoader workers read,
transform and featurise each batch. Either way the running CMVN statistics
(:class:`~speechtl.data.cmvn.FeatureStats`) are gathered in the same pass, over
every cut and over each part's speakers (``cut.custom["speaker_group"]``: an augmented
copy of a speaker is a speaker of its own, as its channel differs).
A bad utterance (unreadable audio, too short, too long) is skipped, counted
and named in the log, never stopping a long run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch

from speechtl.data.channel import parse_channel
from speechtl.data.config import FeatureConfig
from speechtl.data.dataset import CutAudioPool, LoadReport, cut_audio_source, load_cut_audio, supervised_pieces
from speechtl.data.cmvn import FeatureStats
from speechtl.data.features import compute_features
from speechtl.errors import SpeechtlError

log = logging.getLogger(__name__)

STORAGE_MODES = ("stored", "on_the_fly")


@dataclass
class CutPart:
    """One source of training cuts: a split of a corpus through a channel, tagged.

    Attributes:
        name: for the log and the cache key (``train``, ``train+aug0``, ``target``).
        cuts: the split (a Lhotse CutSet, eager or lazy).
        channel: channel spec applied to the audio (``""``: none); seeded by ``seed`` and the cut id.
        suffix: appended to every utterance id (augmented copies are new utterances).
        domain: ``source`` or ``target``.
        labelled: the transcripts may train the task; ``pseudo`` labels some utterances anyway.
        pseudo: utterance id -> phoneme string (self-training's kept pseudo-labels).
        repeat: each utterance appears this many times (``#r`` ids), to balance domains.
        max_utterances: keep at most this many (0: all).
        minutes: keep each language's first minutes of audio (0: all).
    """

    name: str
    cuts: object
    channel: str = ""
    suffix: str = ""
    domain: str = "source"
    labelled: bool = True
    pseudo: dict[str, str] = field(default_factory=dict)
    repeat: int = 1
    max_utterances: int = 0
    minutes: float = 0.0
    languages: tuple[str, ...] = ()  # this part's languages (empty: the run's), e.g. a source model's replayed data


@dataclass
class TrainingCuts:
    """What :func:`write_training_cuts` made: the manifest and what was counted on the way."""

    path: Path  # the cut manifest (read it with CutSet.from_jsonl_lazy)
    stats: FeatureStats  # over every cut, repeats included (for global CMVN)
    symbols: dict[str, list[str]]  # the symbols of the labelled transcripts per language (the inventories)
    labels: dict[str, list[str]]  # values of each item label (language, speaker, domain)
    count: int
    hours: float
    skipped: list[tuple[str, str]] = field(default_factory=list)
    speaker_stats: dict[str, FeatureStats] = field(default_factory=dict)  # per speaker group (speaker CMVN)

    def cuts(self):
        from lhotse import CutSet

        return CutSet.from_jsonl_lazy(self.path)

    def summary(self) -> dict:
        return {"path": str(self.path), "stats": self.stats.state(), "symbols": self.symbols, "labels": self.labels,
                "count": self.count, "hours": self.hours, "skipped": self.skipped,
                "speakers": {k: v.state() for k, v in self.speaker_stats.items()}}

    def write(self, folder: Path) -> None:
        tmp = folder / "summary.json.tmp"
        tmp.write_text(json.dumps(self.summary(), ensure_ascii=False))
        os.replace(tmp, folder / "summary.json")

    @classmethod
    def read(cls, folder: Path) -> "TrainingCuts":
        s = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        return cls(Path(s["path"]), FeatureStats.from_state(s["stats"]), s["symbols"], s["labels"], s["count"],
                   s["hours"], [tuple(x) for x in s["skipped"]],
                   {k: FeatureStats.from_state(v) for k, v in s.get("speakers", {}).items()})


def part_key(part: CutPart, features: FeatureConfig, seed: int, storage: str) -> str:
    """What determines a part's stored cuts: its cuts' ids and durations, channel, features, seed."""
    h = hashlib.sha256()
    h.update(json.dumps([part.name, part.channel, part.suffix, part.domain, part.labelled, part.max_utterances,
                         part.minutes, sorted(part.pseudo.items()), storage, seed,
                         {k: v for k, v in vars(features).items()}]
                        + ([sorted(part.languages)] if part.languages else []), sort_keys=True).encode())
    for cut in part.cuts:
        h.update(f"{cut.id}\0{cut.duration:.4f}\n".encode())
    return h.hexdigest()[:16]


def _pieces(part: CutPart, languages: list[str], max_seconds: float, report: LoadReport) -> Iterator:
    """``(uid, cut, supervision)`` of a part: its languages, not too long, within its limits."""
    used: dict[str, float] = {}
    kept = 0
    for cut in part.cuts:
        for uid, piece, sup in supervised_pieces(cut):
            if sup.language not in languages:
                continue
            if sup.duration > max_seconds:
                report.skipped.append((uid, f"{cut_audio_source(piece)}: {sup.duration:.1f} s is longer than "
                                            f"the {max_seconds:g} s an utterance may last (data.max_duration, "
                                            "train.max_duration)"))
                continue
            if part.minutes and used.get(sup.language, 0.0) + sup.duration > part.minutes * 60:
                continue
            used[sup.language] = used.get(sup.language, 0.0) + sup.duration
            yield uid, piece, sup
            kept += 1
            if part.max_utterances and kept >= part.max_utterances:
                return


def _tagged(piece, sup, uid: str, part: CutPart, features=None):
    """The training cut: id ``uid + suffix``, one supervision over all of it, the part's tags in ``custom``."""
    from lhotse.utils import fastcopy

    new_id = uid + part.suffix
    phonemes = part.pseudo.get(uid, (sup.custom or {}).get("phonemes", ""))
    supervision = fastcopy(sup, id=new_id, recording_id=piece.recording_id, start=0.0, duration=piece.duration,
                           custom={**(sup.custom or {}), "phonemes": phonemes})
    custom = {"domain": part.domain, "labelled": bool(part.labelled or uid in part.pseudo), "channel": part.channel,
              "channel_key": new_id, "source": cut_audio_source(piece),
              "speaker_group": f"{part.name}/{sup.speaker}" if sup.speaker else ""}
    return fastcopy(piece, id=new_id, supervisions=[supervision], custom=custom,
                    features=features if features is not None else piece.features)


def _store_part(part: CutPart, out_dir: Path, features: FeatureConfig, seed: int, storage: str,
                languages: list[str], max_seconds: float) -> dict:
    """Write one part's cuts (and, stored, their filterbanks) to ``out_dir``; returns its summary."""
    from lhotse import CutSet
    from lhotse.features.base import Features
    from lhotse.features.io import LilcomChunkyWriter, NumpyFilesWriter

    out_dir.mkdir(parents=True, exist_ok=True)
    channel = parse_channel(part.channel, seed, pool=CutAudioPool(part.cuts))  # babble: the part's other cuts
    report, stats = LoadReport(), FeatureStats(features.dim)
    speakers: dict[str, FeatureStats] = {}
    symbols: dict[str, set[str]] = {}
    labels = {"language": set(), "speaker": set(), "domain": set()}
    count, seconds = 0, 0.0
    # lilcom's lossy compression suits log filterbanks, not samples: waveforms are stored as they are
    writer_type = {"fbank": LilcomChunkyWriter, "waveform": NumpyFilesWriter}[features.kind]
    writer = writer_type(out_dir / "feats") if storage == "stored" else None
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # per-utterance work is too small to share between threads
    try:
        with CutSet.open_writer(out_dir / "cuts.tmp.jsonl.gz") as cuts_out:
            for uid, piece, sup in _pieces(part, languages, max_seconds, report):
                source = cut_audio_source(piece)
                try:
                    wave = load_cut_audio(piece, features.sample_rate, features)
                    if channel is not None:
                        wave = channel(wave, features.sample_rate, uid + part.suffix)
                    feats = compute_features(wave, features.sample_rate, features, source=source)
                except SpeechtlError as err:
                    report.skipped.append((uid, str(err)))
                    continue
                stored = None
                if writer is not None:
                    key = writer.write(uid + part.suffix, feats.numpy())
                    stored = Features(type=f"speechtl-{features.kind}", num_frames=feats.shape[0], num_features=feats.shape[1],
                                      frame_shift=features.frame_shift_ms / 1000, sampling_rate=features.sample_rate,
                                      start=piece.start, duration=piece.duration, storage_type=writer.name,
                                      storage_path=str(Path(writer.storage_path).resolve()), storage_key=key)
                cut = _tagged(piece, sup, uid, part, stored)
                cuts_out.write(cut)
                stats.add(feats)
                if cut.custom["speaker_group"]:
                    speakers.setdefault(cut.custom["speaker_group"], FeatureStats(features.dim)).add(feats)
                count += 1
                seconds += piece.duration
                report.kept += 1
                lang = sup.language or ""
                labels["language"].add(lang)
                labels["speaker"].add(sup.speaker or "")
                labels["domain"].add(part.domain)
                if cut.custom["labelled"]:
                    symbols.setdefault(lang, set()).update(cut.supervisions[0].custom["phonemes"].split())
    finally:
        torch.set_num_threads(threads)
        if writer is not None:
            writer.__exit__(None, None, None)  # closes a chunky file (NumpyFilesWriter has no close)
    os.replace(out_dir / "cuts.tmp.jsonl.gz", out_dir / "cuts.jsonl.gz")
    summary = {"count": count, "seconds": seconds, "stats": stats.state(),
               "symbols": {k: sorted(v) for k, v in symbols.items()}, "labels": {k: sorted(v) for k, v in labels.items()},
               "skipped": report.skipped, "speakers": {k: v.state() for k, v in speakers.items()}}
    tmp = out_dir / "done.json.tmp"
    tmp.write_text(json.dumps(summary, ensure_ascii=False))
    os.replace(tmp, out_dir / "done.json")  # written last: the part is complete
    return summary


def _stored_part(part: CutPart, folder: Path, *args) -> dict:
    """The part's summary, made by :func:`_store_part` unless a run made it before.

    Runs side by side (``speechtl study --jobs``, several users of one data root) may need the same
    part at once: the first takes an exclusive lock on the folder and makes it, the others wait and
    then read what it made, instead of writing the same files together.
    """
    import fcntl

    done = folder / "done.json"
    if done.is_file():
        return json.loads(done.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if this process dies
        if done.is_file():  # made by the run that held the lock
            return json.loads(done.read_text())
        return _store_part(part, folder, *args)


def write_training_cuts(parts: list[CutPart], cache: Path, out: Path, features: FeatureConfig, seed: int,
                        storage: str, languages: list[str], max_seconds: float) -> TrainingCuts:
    """Store each part once (under ``cache``), then write their cuts, repeats included, interleaved to ``out``.

    Args:
        cache: the data root's cache folder (parts made with the same settings are reused).
        out: the run's training manifest (``cuts.jsonl.gz``).
        max_seconds: utterances longer than this are skipped (named in the log).
    """
    from lhotse import CutSet

    if storage not in STORAGE_MODES:
        raise ValueError(f"unknown feature storage {storage!r}")
    stats = FeatureStats(features.dim)
    symbols: dict[str, set[str]] = {}
    labels: dict[str, set] = {}
    skipped: list[tuple[str, str]] = []
    speakers: dict[str, FeatureStats] = {}
    sources, weights, count, seconds = [], [], 0, 0.0
    for part in parts:
        folder = cache / part_key(part, features, seed, storage)
        summary = _stored_part(part, folder, features, seed, storage, list(part.languages) or languages, max_seconds)
        log.info("training data %s: %d utterances (%.2f h)%s", part.name, summary["count"],
                 summary["seconds"] / 3600, f", {len(summary['skipped'])} skipped" if summary["skipped"] else "")
        skipped += [tuple(s) for s in summary["skipped"]]
        part_stats = FeatureStats.from_state(summary["stats"])
        for _ in range(part.repeat):
            stats.merge(part_stats)
        speakers.update((k, FeatureStats.from_state(v)) for k, v in summary.get("speakers", {}).items())
        for lang, syms in summary["symbols"].items():
            symbols.setdefault(lang, set()).update(syms)
        for key, values in summary["labels"].items():
            labels.setdefault(key, set()).update(values)
        for r in range(part.repeat):
            cuts = CutSet.from_jsonl_lazy(folder / "cuts.jsonl.gz")
            sources.append(cuts.modify_ids(lambda i, r=r: f"{i}#{r}") if r else cuts)
            weights.append(max(summary["count"], 1))
        count += summary["count"] * part.repeat
        seconds += summary["seconds"] * part.repeat
    out.parent.mkdir(parents=True, exist_ok=True)
    mixed = sources[0] if len(sources) == 1 else CutSet.mux(*sources, weights=weights, seed=seed)
    tmp = out.with_name(out.name.replace(".jsonl.gz", ".tmp.jsonl.gz"))
    with CutSet.open_writer(tmp) as writer:
        for cut in mixed:
            writer.write(cut)
    os.replace(tmp, out)
    for uid, reason in skipped:
        log.warning("skipped %s: %s", uid, reason)
    cuts = TrainingCuts(out, stats, {k: sorted(v) for k, v in symbols.items()},
                        {k: sorted(v) for k, v in labels.items()}, count, seconds / 3600, skipped, speakers)
    cuts.write(out.parent)
    return cuts
