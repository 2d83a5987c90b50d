"""Kaldi data directories as Lhotse manifests.

A Kaldi data directory holds ``wav.scp`` (``recording-id path``), ``text``
(``utterance-id words...``) and usually ``utt2spk`` (``utterance-id
speaker``); ``segments`` (``utterance-id recording-id start end``) cuts
recordings into utterances and ``utt2lang`` gives each utterance's language.

Lhotse's ``load_kaldi_data_dir`` (1.33) is not used: it stops on the first
unreadable audio file, fails on a malformed or empty-transcript line without
naming it, and gives every recording one declared sampling rate. Here every
malformed line is an error naming ``file:line``, and an unreadable audio file
drops only its utterances (counted, the file named); the rate, length and
channels of each recording come from its own header (``Recording.from_file``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from speechtl.errors import ManifestError

log = logging.getLogger(__name__)

Skipped = list[tuple[str, str]]  # (utterance id, reason)


def kaldi_lines(path: Path, min_fields: int = 2):
    """``(line number, key, rest of line)`` for each non-blank line of a Kaldi text table.

    Args:
        path: e.g. ``utt2spk``.
        min_fields: fields a line needs, key included (``text`` allows an empty
            transcript: 1).

    Raises:
        ManifestError: naming ``file:line`` for a missing file, bytes that are
            not UTF-8, a line with too few fields, or a key seen before.
    """
    if not path.is_file():
        raise ManifestError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        line = path.read_bytes()[: err.start].count(b"\n") + 1
        raise ManifestError(f"{path}:{line}: not UTF-8 text") from None
    seen: dict[str, int] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        fields = line.split(maxsplit=1)
        if not fields:
            continue
        if len(fields) < min_fields:
            raise ManifestError(f"{path}:{lineno}: expected 'key value', got {line.strip()!r}")
        key = fields[0]
        if key in seen:
            raise ManifestError(f"{path}:{lineno}: {key!r} already on line {seen[key]}")
        seen[key] = lineno
        yield lineno, key, (fields[1].strip() if len(fields) > 1 else "")


def read_kaldi_table(path: Path, min_fields: int = 2) -> dict[str, str]:
    """``{key: rest of line}`` of a Kaldi text table (see :func:`kaldi_lines`)."""
    return {key: value for _, key, value in kaldi_lines(path, min_fields)}


def _segments(path: Path) -> dict[str, tuple[str, float, float | None]]:
    """``{utterance: (recording, start, end or None for "to the end")}`` of a segments file."""
    out = {}
    for lineno, utt, rest in kaldi_lines(path):
        fields = rest.split()
        try:
            if len(fields) != 3:
                raise ValueError
            start, end = float(fields[1]), float(fields[2])
            if not 0 <= start < float("inf") or (end != -1 and not start < end < float("inf")):
                raise ValueError
        except ValueError:
            raise ManifestError(f"{path}:{lineno}: expected 'utterance recording start end' with "
                                f"0 <= start < end (or end -1), got {utt} {rest!r}") from None
        out[utt] = (fields[0], start, None if end == -1 else end)
    return out


def _audio_path(value: str, data_dir: Path, wav_scp: Path) -> Path:
    if value.endswith("|"):
        raise ManifestError(f"{wav_scp}: {value!r}: pipe commands are not supported; "
                            "write the audio to files (e.g. with sox) and list their paths")
    path = Path(value)
    # Kaldi paths are relative to the recipe directory (the cwd); fall back to the data dir
    if not path.is_absolute() and not path.exists() and (data_dir / path).exists():
        path = data_dir / path
    return path


def probe_recording(recording_id: str, path: Path):
    """A Lhotse ``Recording`` read from the file's header, or the reason it cannot be read."""
    from lhotse import Recording

    if not path.is_file():
        return f"{path}: no such audio file"
    try:
        recording = Recording.from_file(path, recording_id=recording_id)
    except Exception as err:  # lhotse wraps every backend's error in its own kinds
        return f"{path}: cannot read audio: {str(err).splitlines()[0]}"
    if recording.num_samples == 0:
        return f"{path}: the audio is empty"
    return recording


def probe_recordings(paths: dict[str, Path], jobs: int = 1, progress: bool = False,
                     desc: str = "audio headers") -> dict:
    """:func:`probe_recording` for many files, in ``jobs`` threads (libsndfile releases the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    from tqdm import tqdm

    with ThreadPoolExecutor(max(1, jobs)) as pool:
        results = pool.map(lambda item: probe_recording(*item), paths.items())
        return dict(zip(paths, tqdm(results, total=len(paths), desc=desc, unit="file",
                                    disable=not progress, leave=False)))


def load_kaldi_dir(path: str | Path, language: str = "",
                   resolve: Callable[[str], str | None] = lambda x: x,
                   jobs: int = 1, progress: bool = False) -> tuple:
    """Read a Kaldi data directory.

    Args:
        path: the directory.
        language: language code of every utterance; ``""`` reads ``utt2lang``.
        resolve: maps a ``utt2lang`` value to a language code (``None``: unsupported).
        jobs: threads reading audio headers.
        progress: show a progress bar.

    Returns:
        ``(RecordingSet, SupervisionSet, skipped)`` where ``skipped`` lists
        ``(utterance id, reason)`` for unreadable audio, missing entries and
        segments outside their recording.

    Raises:
        ManifestError: the directory or a required file is missing, or a line is malformed.
    """
    from lhotse import RecordingSet, SupervisionSegment, SupervisionSet

    data_dir = Path(path)
    if not data_dir.is_dir():
        raise ManifestError(f"{data_dir}: no such Kaldi data directory")
    wav_scp = data_dir / "wav.scp"
    audio = {rec: _audio_path(v, data_dir, wav_scp) for rec, v in read_kaldi_table(wav_scp).items()}
    texts = read_kaldi_table(data_dir / "text", min_fields=1)
    speakers = read_kaldi_table(data_dir / "utt2spk") if (data_dir / "utt2spk").is_file() else {}
    if language:
        languages = {}
    elif (data_dir / "utt2lang").is_file():
        languages = read_kaldi_table(data_dir / "utt2lang")
    else:
        raise ManifestError(f"{data_dir}: give the part a language, or add an utt2lang file")
    if (data_dir / "segments").is_file():
        segments = _segments(data_dir / "segments")
    else:
        segments = {utt: (utt, 0.0, None) for utt in texts}

    needed = {segments[u][0] for u in texts if u in segments and segments[u][0] in audio}
    recordings = probe_recordings({r: audio[r] for r in audio if r in needed}, jobs, progress,
                                  desc=f"{data_dir.name} audio")
    skipped: Skipped = []
    supervisions = []
    for utt, text in texts.items():
        if utt not in segments:
            skipped.append((utt, f"{data_dir / 'segments'}: no segment for this utterance"))
            continue
        rec_id, start, end = segments[utt]
        if rec_id not in audio:
            skipped.append((utt, f"{wav_scp}: no entry for recording {rec_id!r}"))
            continue
        recording = recordings[rec_id]
        if isinstance(recording, str):
            skipped.append((utt, recording))
            continue
        end = recording.duration if end is None else end
        if end > recording.duration + 0.01:
            skipped.append((utt, f"segment {start:g}-{end:g} s ends after {audio[rec_id]} "
                                 f"({recording.duration:g} s)"))
            continue
        lang = language or resolve(languages.get(utt, ""))
        if not lang:
            skipped.append((utt, f"{data_dir / 'utt2lang'}: no supported language "
                                 f"({languages.get(utt, 'no entry')!r})"))
            continue
        supervisions.append(SupervisionSegment(
            id=utt, recording_id=rec_id, start=start, duration=min(end, recording.duration) - start,
            channel=recording.channel_ids[0], text=text, language=lang, speaker=speakers.get(utt, utt),
        ))
    used = {s.recording_id for s in supervisions}
    return (RecordingSet.from_recordings(r for k, r in recordings.items() if k in used),
            SupervisionSet.from_segments(supervisions), skipped)
