"""Lhotse manifests: one recordings and one supervisions file per split.

Language, speaker, words (``text``) and phonemes (``custom["phonemes"]``,
space-separated, words split by ``|``) live on the supervision. A corpus on
disk is ``ROOT/manifests/{corpus}_{recordings,supervisions}_{split}.jsonl.gz``,
optionally with pronunciation lexicons ``ROOT/lexicon/{lang}.txt`` and the words
of each split ``ROOT/lexicon/{lang}.{split}-words.txt``.
"""

from __future__ import annotations

from pathlib import Path

from speechtl.errors import ManifestError

SPLITS = ("train", "dev", "test")


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
    from lhotse import CutSet, RecordingSet, SupervisionSet

    rec_path, sup_path = manifest_paths(root, split, prefix)
    for path in (rec_path, sup_path):
        if not path.is_file():
            raise ManifestError(f"{path}: manifest not found (run `speechtl synth` or prepare the corpus)")
    try:
        recordings = RecordingSet.from_file(rec_path)
        supervisions = SupervisionSet.from_file(sup_path)
    except Exception as err:  # lhotse raises many kinds for bad JSON
        raise ManifestError(f"{rec_path.parent}: cannot read {split} manifests: {err}") from None
    return CutSet.from_manifests(recordings=recordings, supervisions=supervisions)
