"""Common Voice releases as Lhotse manifests.

The layout is the one Mozilla ships and ``lhotse.recipes.commonvoice``
expects::

    cv-corpus-17.0-2024-03-15/        # the release directory (CorpusPart.path)
        de/                           # one directory per locale (sv-SE, pt, ...)
            train.tsv dev.tsv test.tsv
            clips/common_voice_de_17298952.mp3 ...

Each ``.tsv`` has a header row; the columns read are ``client_id`` (speaker),
``path`` (file name under ``clips/``) and ``sentence``; ``gender``, ``age``
and ``accents`` are kept when present.

Lhotse's ``prepare_commonvoice`` (1.33) is not used: one unreadable clip
aborts the whole preparation, it requires the ``variant`` column that only
recent releases have, and its cache never hits (it looks for
``cv_recordings_*`` but writes ``cv-{lang}_recordings_*``). Here an
unreadable clip or a malformed row drops that utterance, counted and named.
"""

from __future__ import annotations

import csv
from pathlib import Path

from speechtl.data.kaldi import Skipped, probe_recordings
from speechtl.errors import ManifestError

REQUIRED_COLUMNS = ("client_id", "path", "sentence")


def locale_dir(corpus: Path, language: str) -> Path:
    """The release's directory for ``language`` (``sv`` finds ``sv-SE``).

    Raises:
        ManifestError: the release directory or the locale is missing (lists those present).
    """
    if not corpus.is_dir():
        raise ManifestError(f"{corpus}: no such Common Voice directory (download a release from "
                            "https://commonvoice.mozilla.org and set data.parts[].path to it)")
    exact = corpus / language
    if exact.is_dir():
        return exact
    regional = sorted(p for p in corpus.glob(f"{language}-*") if p.is_dir())
    if len(regional) == 1:
        return regional[0]
    present = sorted(p.name for p in corpus.iterdir() if (p / "clips").is_dir())
    raise ManifestError(f"{corpus}: no locale directory for {language!r}"
                        + (f" (ambiguous: {', '.join(p.name for p in regional)})" if regional else "")
                        + f"; present: {', '.join(present) or 'none'}")


def load_commonvoice(corpus: str | Path, language: str, split: str, jobs: int = 1,
                     progress: bool = False) -> tuple:
    """Read one split of one locale of a Common Voice release.

    Args:
        corpus: the release directory.
        language: our language code; the supervisions carry it.
        split: ``train``, ``dev`` or ``test`` (the ``.tsv`` file name).
        jobs: threads reading audio headers.

    Returns:
        ``(RecordingSet, SupervisionSet, skipped)`` with ``skipped`` listing
        ``(clip, reason)`` for malformed rows and unreadable or missing clips.

    Raises:
        ManifestError: the directory, the ``.tsv`` or one of its required columns is missing.
    """
    from lhotse import RecordingSet, SupervisionSegment, SupervisionSet

    locale = locale_dir(Path(corpus), language)
    tsv = locale / f"{split}.tsv"
    if not tsv.is_file():
        raise ManifestError(f"{tsv}: no such file (a Common Voice locale has train.tsv, dev.tsv, test.tsv)")
    skipped: Skipped = []
    rows: dict[str, dict] = {}
    with open(tsv, encoding="utf-8", errors="replace", newline="") as f:
        # Common Voice sentences contain unbalanced quotes: read the fields verbatim
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ManifestError(f"{tsv}: header lacks column(s) {', '.join(missing)}; "
                                f"it has: {', '.join(reader.fieldnames or []) or 'nothing'}")
        for row in reader:
            where = f"{tsv}:{reader.line_num}"
            if any(not row.get(c) for c in REQUIRED_COLUMNS) or None in row:
                skipped.append((where, f"{where}: malformed row (missing or extra fields)"))
                continue
            clip = Path(row["path"]).stem
            if clip in rows:
                skipped.append((clip, f"{where}: clip {row['path']!r} listed twice"))
                continue
            rows[clip] = row
    probed = probe_recordings({c: locale / "clips" / r["path"] for c, r in rows.items()}, jobs, progress,
                              desc=f"{locale.name} {split} clips")
    recordings, supervisions = [], []
    for clip, row in rows.items():
        recording = probed[clip]
        if isinstance(recording, str):
            skipped.append((clip, recording))
            continue
        recordings.append(recording)
        extra = {k: row[k] for k in ("age", "accents") if row.get(k)}
        supervisions.append(SupervisionSegment(
            id=clip, recording_id=clip, start=0.0, duration=recording.duration,
            channel=recording.channel_ids[0], text=row["sentence"], language=language,
            speaker=row["client_id"], gender=row.get("gender") or None, custom=extra or None,
        ))
    return RecordingSet.from_recordings(recordings), SupervisionSet.from_segments(supervisions), skipped
