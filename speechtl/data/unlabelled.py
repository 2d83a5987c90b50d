"""Unlabelled audio as training cuts: what self-supervised pre-training reads.

The sources are what :func:`speechtl.data.inputs.audio_inputs` accepts: Lhotse
recordings or cuts manifests, Kaldi ``wav.scp`` files, folders of audio files
(recursively) or single files. Each recording becomes one cut with an unlabelled
supervision over all of it (``custom["labelled"]`` false), so the training data
path (:class:`~speechtl.data.dataset.CutBatches`) reads it as it reads target-domain
audio. A file whose header cannot be read, or that is too short or too long, is
skipped, counted and named in the log; one that fails later, when its samples are
read, is left out of its batch (the loop counts it). Only regular files are read:
a FIFO (which would block the reader forever), a dangling link or a device among
the sources is skipped, and every skip is counted by its cause (:func:`skip_causes`).
"""

from __future__ import annotations

import logging
import os
import stat
from collections import Counter
from pathlib import Path

from speechtl.data.inputs import AUDIO_SUFFIXES, audio_inputs
from speechtl.errors import AudioError, SpeechtlError, shorten

log = logging.getLogger(__name__)


def unlabelled_cuts(sources: list[str], max_duration: float, min_duration: float = 0.1):
    """``(CutSet, skipped)``: one unlabelled cut per readable recording, and ``(path, why)`` of the others.

    Args:
        sources: manifests, ``wav.scp`` files, folders or files.
        max_duration, min_duration: seconds; recordings outside are skipped.

    Raises:
        AudioError: no source given, or not one readable recording among them.
    """
    from lhotse import CutSet, Recording, SupervisionSegment
    from lhotse.utils import fastcopy

    if not sources:
        raise AudioError("pretrain.audio: no source; list Lhotse manifests, wav.scp files or folders of audio files")
    cuts, seen = [], set()
    skipped = _unlisted(sources)  # entries of folders that audio_inputs passes over (not regular files)
    for uid, path in audio_inputs(sources):
        uid = uid if uid not in seen else f"{uid}#{len(seen)}"
        seen.add(uid)
        why = not_regular(path)
        if why:
            skipped.append((path, why))
            continue
        try:
            recording = Recording.from_file(path, recording_id=uid)
        except Exception as err:  # noqa: BLE001 - soundfile/audioread raise many kinds for bad files
            skipped.append((path, f"cannot read audio: {shorten(err, 120)}"))
            continue
        if not min_duration <= recording.duration <= max_duration:
            skipped.append((path, f"{recording.duration:.2f} s is outside [{min_duration:g}, {max_duration:g}] s"))
            continue
        cut = recording.to_cut()
        supervision = SupervisionSegment(id=uid, recording_id=uid, start=0.0, duration=recording.duration,
                                         channel=cut.channel, language="", speaker="")
        cuts.append(fastcopy(cut, id=uid, supervisions=[supervision],
                             custom={"labelled": False, "domain": "source", "source": path}))
    for path, why in skipped[:20]:
        log.warning("skipped %s: %s", path, why)
    if skipped:
        causes = ", ".join(f"{n} {cause}" for cause, n in skip_causes(skipped).items())
        log.warning("unlabelled audio: kept %d recordings, skipped %d (%s)", len(cuts), len(skipped), causes)
    if not cuts:
        raise AudioError(f"pretrain.audio: not one readable recording in {shorten(', '.join(sources), 200)} "
                         f"({len(skipped)} skipped)")
    return CutSet.from_cuts(cuts), skipped


def not_regular(path: str) -> str | None:
    """Why ``path`` is not read as audio (a FIFO, a dangling link, a device...), or ``None`` for a regular file."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "dangling link" if os.path.islink(path) else "missing file"
    except OSError as err:
        return f"cannot open: {err.strerror}"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    return None if stat.S_ISREG(mode) else "not a regular file"


def _unlisted(sources: list[str]) -> list[tuple[str, str]]:
    """Audio-named entries of the source folders that are neither regular files nor folders, with why."""
    out = []
    for source in sources:
        if Path(source).is_dir():
            for path in sorted(Path(source).rglob("*")):
                if path.suffix.lower() in AUDIO_SUFFIXES and not path.is_dir():
                    why = not_regular(str(path))
                    if why:
                        out.append((str(path), why))
    return out


def skip_causes(skipped: list[tuple[str, str]]) -> dict[str, int]:
    """How many skips of each cause (``"FIFO"``, ``"dangling link"``, ``"cannot read audio"``, ``"too short"``...)."""
    def cause(why: str) -> str:
        if why.startswith("cannot read audio"):
            return "cannot read audio"
        if " is outside [" in why:
            return "duration out of range"
        return why.split(":")[0]

    return dict(Counter(cause(why) for _, why in skipped))


def first_features(cuts, features, count: int):
    """Features of up to ``count`` cuts (for CMVN statistics); unreadable ones are passed over."""
    from speechtl.data.dataset import cut_audio_source, load_cut_audio
    from speechtl.data.features import compute_features

    taken = 0
    for cut in cuts:
        if taken >= count:
            return
        try:
            wave = load_cut_audio(cut, features.sample_rate)
            yield compute_features(wave, features.sample_rate, features, source=cut_audio_source(cut))
            taken += 1
        except SpeechtlError:
            continue


