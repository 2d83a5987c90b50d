"""Lhotse manifests: one recordings and one supervisions file per split.

Language, speaker, words (``text``) and phonemes (``custom["phonemes"]``,
space-separated, words split by ``|``) live on the supervision. A corpus on
disk is ``ROOT/manifests/{corpus}_{recordings,supervisions}_{split}.jsonl.gz``,
optionally with pronunciation lexicons ``ROOT/lexicon/{lang}.txt`` and the words
of each split ``ROOT/lexicon/{lang}.{split}-words.txt``.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from pathlib import Path

from speechtl.errors import ManifestError

SPLITS = ("train", "dev", "test")


def read_jsonl(path: str | Path) -> Iterator[tuple[int, dict]]:
    """``(line number, object)`` for each non-blank line of a JSONL(.gz) file.

    Raises:
        ManifestError: naming the file and line, for a missing or truncated
            file, bytes that are not UTF-8, or a line that is not a JSON object.
    """
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: manifest not found")
    opener = gzip.open if path.suffix == ".gz" else open
    lineno = 0
    try:
        with opener(path, "rb") as f:
            for lineno, raw in enumerate(f, 1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise ManifestError(f"{path}:{lineno}: not UTF-8 text") from None
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                except json.JSONDecodeError as err:
                    raise ManifestError(f"{path}:{lineno}: not valid JSON ({err.msg}, column {err.colno})") from None
                if not isinstance(item, dict):
                    raise ManifestError(f"{path}:{lineno}: expected a JSON object, got {type(item).__name__}")
                yield lineno, item
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as err:
        raise ManifestError(f"{path}: unreadable or truncated after line {lineno} ({err})") from None


def read_manifest(path: str | Path, kind: str | None = None):
    """Read a Lhotse JSONL manifest strictly: a bad line is named, never skipped silently.

    Args:
        path: a ``*.jsonl`` or ``*.jsonl.gz`` RecordingSet, SupervisionSet or CutSet.
        kind: ``"recordings"``, ``"supervisions"`` or ``"cuts"`` to insist on one
            (an empty file is then an empty set); ``None`` takes the kind of the
            first item.

    Returns:
        A Lhotse ``RecordingSet``, ``SupervisionSet`` or ``CutSet``.

    Raises:
        ManifestError: naming file and line for malformed JSON, an item Lhotse
            cannot build, a duplicate id, or items of another kind.
    """
    from lhotse import CutSet, Recording, RecordingSet, SupervisionSegment, SupervisionSet
    from lhotse.cut import Cut
    from lhotse.serialization import deserialize_item

    kinds = {"recordings": (Recording, RecordingSet.from_recordings),
             "supervisions": (SupervisionSegment, SupervisionSet.from_segments),
             "cuts": (Cut, CutSet.from_cuts)}
    if kind is not None and kind not in kinds:
        raise ValueError(f"unknown manifest kind {kind!r}")
    items, seen = [], {}
    for lineno, data in read_jsonl(path):
        try:
            item = deserialize_item(data)
        except Exception as err:  # lhotse raises KeyError/TypeError/ValueError for bad fields
            raise ManifestError(f"{path}:{lineno}: not a Lhotse manifest item ({type(err).__name__}: {err})") from None
        if kind is None:
            kind = next((k for k, (cls, _) in kinds.items() if isinstance(item, cls)), None)
            if kind is None:
                raise ManifestError(f"{path}:{lineno}: a {type(item).__name__}, not a recording, supervision or cut")
        if not isinstance(item, kinds[kind][0]):
            raise ManifestError(f"{path}:{lineno}: a {type(item).__name__} in a manifest of {kind}")
        if item.id in seen:
            raise ManifestError(f"{path}:{lineno}: id {item.id!r} already on line {seen[item.id]}")
        seen[item.id] = lineno
        items.append(item)
    if kind is None:
        raise ManifestError(f"{path}: the manifest is empty")
    return kinds[kind][1](items)  # an empty manifest of a named kind is an empty set


def manifest_paths(root: str | Path, split: str, prefix: str = "synth") -> tuple[Path, Path]:
    """Paths of the recordings and supervisions manifests of one split."""
    mdir = Path(root) / "manifests"
    return (
        mdir / f"{prefix}_recordings_{split}.jsonl.gz",
        mdir / f"{prefix}_supervisions_{split}.jsonl.gz",
    )


def corpus_lexicon_path(root: str | Path, language: str, split: str | None = None) -> Path:
    """``ROOT/lexicon/{lang}.txt`` (every word), or ``{lang}.{split}-words.txt`` (one split's words)."""
    name = f"{language}.txt" if split is None else f"{language}.{split}-words.txt"
    return Path(root) / "lexicon" / name


def corpus_lexicons(root: str | Path, languages: list[str]) -> dict:
    """``{language: Lexicon}`` for the languages whose corpus lexicon exists."""
    from speechtl.text.lexicon import Lexicon

    paths = {lang: corpus_lexicon_path(root, lang) for lang in languages}
    return {lang: Lexicon.read(p) for lang, p in paths.items() if p.is_file()}


def save_split(recordings, supervisions, root: str | Path, split: str, prefix: str = "synth") -> None:
    """Write one split's RecordingSet and SupervisionSet (atomically, via a temp file)."""
    rec_path, sup_path = manifest_paths(root, split, prefix)
    rec_path.parent.mkdir(parents=True, exist_ok=True)
    for manifest, path in ((recordings, rec_path), (supervisions, sup_path)):
        tmp = path.with_name(path.name.replace(".jsonl.gz", ".tmp.jsonl.gz"))
        manifest.to_file(tmp)
        tmp.replace(path)


def load_cuts(root: str | Path, split: str, prefix: str = "synth"):
    """Load one split as a Lhotse CutSet (one cut per recording).

    Raises:
        ManifestError: a manifest file is missing or unreadable.
    """
    from lhotse import CutSet

    rec_path, sup_path = manifest_paths(root, split, prefix)
    for path in (rec_path, sup_path):
        if not path.is_file():
            raise ManifestError(f"{path}: manifest not found (run `speechtl synth` or prepare the corpus)")
    recordings = read_manifest(rec_path, "recordings")
    supervisions = read_manifest(sup_path, "supervisions")
    return CutSet.from_manifests(recordings=recordings, supervisions=supervisions)
