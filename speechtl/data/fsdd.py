"""The Free Spoken Digit Dataset (FSDD): English digits "zero" to "nine" spoken by a few people.

The dataset is a folder with ``recordings/{digit}_{speaker}_{index}.wav``
(mono, 8 kHz, trimmed) and a ``metadata.py`` describing the speakers
(https://github.com/Jakobovski/free-spoken-digit-dataset). Each recording
becomes one utterance whose text is the digit's English word, spoken by
``speaker``; the recipe's ``data.parts`` say which split each part feeds and,
with ``speakers``, whose recordings it holds (rotating held-out speakers).
"""

from __future__ import annotations

from pathlib import Path

from speechtl.errors import ManifestError

DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def fsdd_recordings(root: str | Path) -> list[tuple[Path, int, str, str]]:
    """``(file, digit, speaker, index)`` of every well-named recording under ``root/recordings``.

    Raises:
        ManifestError: ``root`` or its ``recordings`` folder does not exist, or holds no recording.
    """
    folder = Path(root) / "recordings"
    if not Path(root).is_dir():
        raise ManifestError(f"{root}: no such FSDD directory (expected the Free Spoken Digit Dataset "
                            "with recordings/{digit}_{speaker}_{index}.wav)")
    if not folder.is_dir():
        raise ManifestError(f"{folder}: no such folder; an FSDD directory holds its audio in recordings/")
    out = []
    for path in sorted(folder.glob("*.wav")):
        fields = path.stem.split("_")
        if len(fields) == 3 and fields[0].isdigit() and len(fields[0]) == 1 and fields[2].isdigit():
            out.append((path, int(fields[0]), fields[1], fields[2]))
    if not out:
        raise ManifestError(f"{folder}: no recordings named {{digit}}_{{speaker}}_{{index}}.wav")
    return out


def load_fsdd(root: str | Path, speakers: list[str] | None = None,
              index: tuple[int, int] = (0, 1000000)) -> tuple[object, object, list[tuple[str, str]]]:
    """FSDD recordings as Lhotse manifests (English digit words, speaker ids).

    Args:
        root: the dataset directory.
        speakers: keep only these speakers (``None`` or ``[]``: all).
        index: keep recordings numbered ``lo <= index < hi`` (each speaker says each digit
            about 50 times, numbered from 0; FSDD's own test set is 0-4), so held-out
            recordings of the training speakers can be a dev split.

    Returns:
        ``(RecordingSet, SupervisionSet, skipped [(file, reason)])``.

    Raises:
        ManifestError: no such directory, or a named speaker has no recordings.
    """
    from lhotse import Recording, RecordingSet, SupervisionSegment, SupervisionSet

    files = fsdd_recordings(root)
    if speakers:
        present = {spk for _, _, spk, _ in files}
        unknown = [s for s in speakers if s not in present]
        if unknown:
            raise ManifestError(f"{root}: no recordings of speaker(s) {', '.join(unknown)}; "
                                f"it has {', '.join(sorted(present))}")
        files = [f for f in files if f[2] in speakers]
    lo, hi = index
    if lo >= hi:
        raise ManifestError(f"{root}: index range [{lo}, {hi}) is empty; expected lo < hi")
    files = [f for f in files if lo <= int(f[3]) < hi]
    recordings, supervisions, skipped = [], [], []
    for path, digit, speaker, index in files:
        uid = f"fsdd-{speaker}-{digit}-{index}"
        try:
            rec = Recording.from_file(path.resolve(), recording_id=uid)
        except Exception as err:  # a broken file is skipped and named, not fatal
            skipped.append((str(path), f"unreadable audio: {err}"))
            continue
        recordings.append(rec)
        supervisions.append(SupervisionSegment(
            id=uid, recording_id=uid, start=0.0, duration=rec.duration, channel=0,
            text=DIGIT_WORDS[digit], language="en", speaker=speaker,
        ))
    return RecordingSet.from_recordings(recordings), SupervisionSet.from_segments(supervisions), skipped
