"""Corpus adapters, looked up by the recipe's ``data.corpus``.

An adapter is one function ``prepare(cfg: DataConfig, jobs, progress) -> {split: CutSet}``
that makes or finds the corpus and returns Lhotse cuts whose supervisions carry
``language``, ``speaker``, ``text`` and ``custom["phonemes"]``.

* ``synthetic``: the eSpeak NG corpus (:mod:`speechtl.data.synth`).
* ``lhotse``: Lhotse manifests, so every corpus a Lhotse recipe prepares
  (LibriSpeech, MLS, FLEURS, Common Voice, ...).
* ``kaldi``: Kaldi data directories (:mod:`speechtl.data.kaldi`).
* ``commonvoice``: Common Voice releases as downloaded (:mod:`speechtl.data.commonvoice`).
* ``fsdd``: the Free Spoken Digit Dataset (:mod:`speechtl.data.fsdd`).
* ``audio``: untranscribed audio (folders, ``wav.scp`` files, Lhotse manifests, files;
  :mod:`speechtl.data.unlabelled`), a train split only: the target domain of
  domain adaptation and self-training when a user has recordings but no transcripts.

A part's ``speakers`` keeps only those speakers' utterances (any adapter).

The real-corpus adapters read ``cfg.parts``, normalise transcripts and label
them with G2P (:mod:`speechtl.data.labels`), and write the result once to
``ROOT/manifests/{corpus}_{recordings,supervisions}_{split}.jsonl.gz`` with a
report ``ROOT/manifests/{corpus}_prepared.json``; later runs with the same
parts, languages and text settings reuse them (delete the report to prepare
again after the source data changed).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from speechtl.config import to_dict
from speechtl.data.config import CorpusPart, DataConfig
from speechtl.data.labels import LabelReport, label_supervisions, resolve_language
from speechtl.data.manifests import SPLITS, load_cuts, read_manifest, save_split
from speechtl.errors import LanguageError, ManifestError
from speechtl.registry import Registry
from speechtl.text.languages import get_language

log = logging.getLogger(__name__)

CORPORA: Registry = Registry("corpus")

# (split, recordings, supervisions, skipped [(id, reason)]) read from one part
PartData = tuple[str, object, object, list[tuple[str, str]]]


@CORPORA.register("synthetic")
def prepare_synthetic(cfg: DataConfig, jobs: int = 2, progress: bool = True) -> dict:
    """The eSpeak NG multilingual corpus (synthesised on first use, then reused)."""
    from speechtl.data.synth import load_synthetic, synthesize_corpus

    synthesize_corpus(cfg, jobs=jobs, progress=progress)
    return {split: load_synthetic(cfg, split) for split in SPLITS}


def _where(i: int) -> str:
    return f"data.parts[{i}]"


def _one_split(part: CorpusPart, i: int) -> str:
    if not part.split:
        raise ManifestError(f"{_where(i)}.split: this part feeds one split; set train, dev or test")
    return part.split


def _lhotse_part(part: CorpusPart, i: int, jobs: int, progress: bool) -> Iterator[PartData]:
    """A CutSet manifest, or a recordings (supervisions) manifest with its Lhotse-named sibling."""
    split = _one_split(part, i)
    path = Path(part.path)
    manifest = read_manifest(path)
    kind = type(manifest).__name__
    if kind == "CutSet":
        recordings, supervisions, _ = manifest.decompose()
        if recordings is None or supervisions is None:
            raise ManifestError(f"{path}: the cuts need recordings and supervisions (audio and transcripts)")
    else:
        mine, other = ("recordings", "supervisions") if kind == "RecordingSet" else ("supervisions", "recordings")
        sibling = path.with_name(path.name.replace(mine, other))
        if sibling == path or not sibling.is_file():
            raise ManifestError(f"{path}: a {kind} needs its {other} manifest beside it "
                                f"(Lhotse names it {sibling.name if sibling != path else '*_' + other + '_*'})")
        pair = {mine: manifest, other: read_manifest(sibling, other)}
        recordings, supervisions = pair["recordings"], pair["supervisions"]
    yield split, recordings, supervisions, []


def _kaldi_part(part: CorpusPart, i: int, jobs: int, progress: bool) -> Iterator[PartData]:
    from speechtl.data.kaldi import load_kaldi_dir

    split = _one_split(part, i)
    yield (split, *load_kaldi_dir(part.path, part.language, resolve_language, jobs=jobs, progress=progress))


def _commonvoice_part(languages: list[str]) -> Callable:
    def read(part: CorpusPart, i: int, jobs: int, progress: bool) -> Iterator[PartData]:
        from speechtl.data.commonvoice import load_commonvoice

        for language in [part.language] if part.language else languages:
            for split in [part.split] if part.split else SPLITS:
                yield (split, *load_commonvoice(part.path, language, split, jobs=jobs, progress=progress))

    return read


def _fsdd_part(part: CorpusPart, i: int, jobs: int, progress: bool) -> Iterator[PartData]:
    from speechtl.data.fsdd import load_fsdd

    yield (_one_split(part, i), *load_fsdd(part.path, part.speakers, part.index))


def _named(items: Iterator, i: int) -> Iterator:
    """Prefix a part's errors with its recipe key."""
    try:
        yield from items
    except ManifestError as err:
        message = str(err)
        raise ManifestError(message if message.startswith("data.parts") else f"{_where(i)}: {message}") from None


def prepare_parts(cfg: DataConfig, read_part: Callable, jobs: int = 2, progress: bool = True) -> dict:
    """Read, label and cache every part of a real corpus; ``{split: CutSet}``.

    Args:
        read_part: ``(part, index, jobs, progress) -> iterator of (split, RecordingSet,
            SupervisionSet, skipped)``.
    """
    from lhotse import RecordingSet, SupervisionSet

    stamp_path = Path(cfg.root) / "manifests" / f"{cfg.corpus}_prepared.json"
    stamp = {"corpus": cfg.corpus, "parts": to_dict(cfg.parts), "languages": cfg.languages,
             "text": to_dict(cfg.text)}
    if stamp_path.is_file():
        try:
            if json.loads(stamp_path.read_text(encoding="utf-8")).get("config") == stamp:
                return {split: load_cuts(cfg.root, split, prefix=cfg.corpus) for split in SPLITS}
        except json.JSONDecodeError:
            pass  # an interrupted write: prepare again
        log.info("%s: the recipe's corpus settings changed; preparing again", stamp_path)
    for i, part in enumerate(cfg.parts):
        if part.language and resolve_language(part.language) is None:
            try:
                get_language(part.language)
            except LanguageError as err:  # lists the supported codes
                raise LanguageError(f"{_where(i)}.language: {err}") from None
    recordings: dict[str, dict] = {s: {} for s in SPLITS}
    by_language: dict[str, dict[str, list]] = {s: {} for s in SPLITS}
    sources: dict[str, int] = {}  # supervision id -> part index, for duplicate messages
    report = {s: {"skipped": 0, "skipped_examples": [], "labels": LabelReport()} for s in SPLITS}
    for i, part in enumerate(cfg.parts):
        for split, recs, sups, skipped in _named(read_part(part, i, jobs, progress), i):
            for uid, reason in skipped:
                log.warning("%s (%s): skipped %s: %s", _where(i), split, uid, reason)
            report[split]["skipped"] += len(skipped)
            report[split]["skipped_examples"] += [f"{u}: {r}" for u, r in skipped[: 20]]
            for sup in sups:
                if part.speakers and sup.speaker not in part.speakers:
                    continue
                language = resolve_language(part.language or sup.language)
                if language not in cfg.languages:
                    report[split]["labels"].drop(str(sup.language), "language not in data.languages", sup.id)
                    continue
                if sup.id in sources:
                    raise ManifestError(f"{_where(i)} ({part.path}): utterance id {sup.id!r} is also in "
                                        f"{_where(sources[sup.id])}; ids must be unique within a split")
                sources[sup.id] = i
                by_language[split].setdefault(language, []).append(sup)
            for rec in recs:
                if recordings[split].setdefault(rec.id, rec) != rec:
                    raise ManifestError(f"{_where(i)} ({part.path}): recording id {rec.id!r} names other "
                                        f"audio in an earlier part; ids must be unique within a split")
    for split in SPLITS:
        kept = []
        for language, sups in sorted(by_language[split].items()):
            labelled, labels = label_supervisions(sups, language, cfg.text)
            kept += labelled
            report[split]["labels"].merge(labels)
        used = {s.recording_id for s in kept}
        missing = sorted(used - set(recordings[split]))
        if missing:
            raise ManifestError(f"{split}: supervisions refer to recordings not in any manifest: "
                                f"{', '.join(missing[:5])}")
        save_split(RecordingSet.from_recordings(r for k, r in recordings[split].items() if k in used),
                   SupervisionSet.from_segments(kept), cfg.root, split, prefix=cfg.corpus)
        labels = report[split]["labels"]
        report[split]["labels"] = labels.as_dict()
        for language, reasons in sorted(labels.dropped.items()):
            for reason, n in reasons.items():
                log.warning("%s %s %s: dropped %d utterances: %s", cfg.corpus, split, language, n, reason)
        log.info("%s %s: %s utterances kept", cfg.corpus, split,
                 ", ".join(f"{lang} {n}" for lang, n in sorted(labels.kept.items())) or "no")
    # written last: its presence says the manifests above are complete
    tmp = stamp_path.with_name(stamp_path.name + ".tmp")
    tmp.write_text(json.dumps({"config": stamp, "report": report}, indent=1, ensure_ascii=False), encoding="utf-8")
    tmp.replace(stamp_path)
    return {split: load_cuts(cfg.root, split, prefix=cfg.corpus) for split in SPLITS}


def prepared_report(cfg: DataConfig) -> dict:
    """The report written when a real corpus was prepared (``{}`` for none)."""
    path = Path(cfg.root) / "manifests" / f"{cfg.corpus}_prepared.json"
    return json.loads(path.read_text(encoding="utf-8")).get("report", {}) if path.is_file() else {}


@CORPORA.register("lhotse")
def prepare_lhotse(cfg: DataConfig, jobs: int = 2, progress: bool = True) -> dict:
    """Lhotse manifests: each part a CutSet, or a recordings manifest beside its supervisions."""
    return prepare_parts(cfg, _lhotse_part, jobs, progress)


@CORPORA.register("kaldi")
def prepare_kaldi(cfg: DataConfig, jobs: int = 2, progress: bool = True) -> dict:
    """Kaldi data directories, each with a language (or an ``utt2lang`` file) and a split."""
    return prepare_parts(cfg, _kaldi_part, jobs, progress)


@CORPORA.register("commonvoice")
def prepare_commonvoice(cfg: DataConfig, jobs: int = 2, progress: bool = True) -> dict:
    """Common Voice releases; a part without language/split covers every recipe language / split."""
    return prepare_parts(cfg, _commonvoice_part(cfg.languages), jobs, progress)


@CORPORA.register("fsdd")
def prepare_fsdd(cfg: DataConfig, jobs: int = 2, progress: bool = True) -> dict:
    """The Free Spoken Digit Dataset: each part a dataset directory, a split and (optionally) speakers."""
    return prepare_parts(cfg, _fsdd_part, jobs, progress)


@CORPORA.register("audio")
def prepare_audio(cfg: DataConfig, jobs: int = 2, progress: bool = True) -> dict:
    """Untranscribed audio: ``{"train": CutSet}``, one unlabelled cut per readable recording.

    Each part is a folder (searched recursively), a ``wav.scp``, a Lhotse manifest or a
    file; its ``language`` (or the recipe's one language) names the head that
    self-training labels it with. Unreadable files, and recordings longer than
    ``data.max_duration``, are skipped, counted and named in the log.
    """
    from lhotse import CutSet
    from lhotse.utils import fastcopy

    from speechtl.data.unlabelled import unlabelled_cuts

    if not cfg.parts:
        raise ManifestError("data.parts: corpus audio needs parts: folders or manifests of untranscribed audio")
    cuts = []
    for i, part in enumerate(cfg.parts):
        if part.split not in ("", "train"):
            raise ManifestError(f"{_where(i)}.split: {part.split!r}; untranscribed audio is training audio only "
                                "(score on a transcribed corpus: lhotse, kaldi, commonvoice or fsdd)")
        language = part.language or (cfg.languages[0] if len(cfg.languages) == 1 else "")
        if not language:
            raise ManifestError(f"{_where(i)}.language: name the language of {part.path} (the recipe has "
                                f"{len(cfg.languages)} languages)")
        language = resolve_language(language) or get_language(language).code
        if language not in cfg.languages:
            raise ManifestError(f"{_where(i)}.language: {language!r} is not one of data.languages "
                                f"({', '.join(cfg.languages)})")
        found, _ = unlabelled_cuts([part.path], max_duration=cfg.max_duration)
        cuts += [fastcopy(c, id=f"{i}-{c.id}", supervisions=[fastcopy(s, id=f"{i}-{s.id}", language=language)
                                                               for s in c.supervisions]) for c in found]
    return {"train": CutSet.from_cuts(cuts)}


def default_jobs() -> int:
    """Parallel workers for corpus preparation: the CPUs this process may use, at most 8."""
    return max(1, min(len(os.sched_getaffinity(0)), 8))


def prepare_corpus(cfg: DataConfig, jobs: int = 2, progress: bool = True) -> dict:
    """``{split: CutSet}`` of the recipe's corpus."""
    return CORPORA.get(cfg.corpus)(cfg, jobs=jobs, progress=progress)


def corpus_splits(cfg: DataConfig) -> tuple[str, ...]:
    """The splits ``cfg``'s corpus can hold, from the recipe alone (nothing read): every split of the synthetic
    corpus, ``train`` of untranscribed audio, else those its parts feed (a part without a split feeds all three)."""
    if cfg.corpus == "synthetic":
        return SPLITS
    if cfg.corpus == "audio":
        return ("train",)
    fed = {part.split for part in cfg.parts}
    return tuple(split for split in SPLITS if split in fed or "" in fed)
