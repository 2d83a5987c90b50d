"""Unlabelled audio as training cuts: what self-supervised pre-training reads.

The sources are what :func:`speechtl.data.inputs.audio_inputs` accepts: Lhotse
recordings or cuts manifests, Kaldi ``wav.scp`` files, folders of audio files
(recursively) or single files. Each recording becomes one cut with an unlabelled
supervision over all of it (``custom["labelled"]`` false), so the training data
path (:class:`~speechtl.data.dataset.CutBatches`) reads it as it reads target-domain
audio. A file whose header cannot be read, or that is too short or too long, is
skipped, counted and named in the log; one that fails later, when its samples are
read, is left out of its batch (the loop counts it).
"""

from __future__ import annotations

import logging

from speechtl.data.inputs import audio_inputs
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
    cuts, skipped, seen = [], [], set()
    for uid, path in audio_inputs(sources):
        uid = uid if uid not in seen else f"{uid}#{len(seen)}"
        seen.add(uid)
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
        log.warning("unlabelled audio: kept %d recordings, skipped %d", len(cuts), len(skipped))
    if not cuts:
        raise AudioError(f"pretrain.audio: not one readable recording in {shorten(', '.join(sources), 200)} "
                         f"({len(skipped)} skipped)")
    return CutSet.from_cuts(cuts), skipped


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


