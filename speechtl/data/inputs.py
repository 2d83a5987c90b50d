"""What to decode: audio files, folders of them, Lhotse manifests and Kaldi ``wav.scp`` lists.

:func:`audio_inputs` turns command-line arguments into ``(id, path)`` pairs:

* an audio file: its path is its id;
* a folder: every audio file under it (recursively, sorted), the path relative to the folder without
  its suffix as id;
* a Lhotse recordings or cuts manifest (``.jsonl``, ``.jsonl.gz``, ``.json``): each recording's id and
  its (first) file source;
* a Kaldi ``wav.scp`` (``ID PATH`` per line; relative paths are relative to the file's folder).
  Piped commands (``ID sox ... |``) are refused: decode their output files instead.
"""

from __future__ import annotations

from pathlib import Path

from speechtl.errors import AudioError, ManifestError

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".opus", ".aiff", ".aif", ".au", ".sph"}


def audio_inputs(args: list[str]) -> list[tuple[str, str]]:
    """``(id, audio path)`` for each recording the arguments name, in order.

    Raises:
        ManifestError: a manifest or ``wav.scp`` that cannot be read (the message names file and line).
        AudioError: a folder that holds no audio file.
    """
    out: list[tuple[str, str]] = []
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
            if not files:
                raise AudioError(f"{path}: a folder with no audio files in it (looked for "
                                 f"{', '.join(sorted(AUDIO_SUFFIXES))})")
            out += [(str(p.relative_to(path).with_suffix("")), str(p)) for p in files]
        elif path.name == "wav.scp" or path.suffix == ".scp":
            out += read_wav_scp(path)
        elif path.name.endswith((".jsonl", ".jsonl.gz", ".json")):
            out += read_lhotse_sources(path)
        else:  # a file; one that is missing is reported when it is read, and the others still decoded
            out.append((str(path), str(path)))
    return out


def read_wav_scp(path: str | Path) -> list[tuple[str, str]]:
    """``(utterance id, path)`` of a Kaldi ``wav.scp``."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: no such wav.scp")
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split(maxsplit=1)
        if len(fields) != 2:
            raise ManifestError(f"{path}:{n}: expected 'ID PATH', got {line[:80]!r}")
        uid, where = fields[0], fields[1].strip()
        if where.endswith("|"):
            raise ManifestError(f"{path}:{n}: piped commands are not run ({where[:60]!r}); "
                                "write their output to files and list those")
        file = Path(where) if Path(where).is_absolute() else path.parent / where
        out.append((uid, str(file)))
    return out


def read_lhotse_sources(path: str | Path) -> list[tuple[str, str]]:
    """``(recording id, file)`` of a Lhotse recordings or cuts manifest (file sources only)."""
    from speechtl.data.manifests import read_manifest

    from lhotse import RecordingSet, SupervisionSet

    manifest = read_manifest(path)
    if isinstance(manifest, SupervisionSet):
        raise ManifestError(f"{path}: a supervisions manifest has no audio; give the recordings or cuts manifest")
    out = []
    for item in manifest:
        recording = item if isinstance(manifest, RecordingSet) else item.recording
        if recording is None or (recording is not item and (item.start > 0 or item.duration < recording.duration - 1e-3)):
            raise ManifestError(f"{path}: cut {item.id!r} is not a whole recording; only whole recordings are decoded")
        sources = [s for s in recording.sources if s.type == "file"]
        if not sources:
            raise ManifestError(f"{path}: recording {recording.id!r} has no file source "
                                f"({recording.sources[0].type if recording.sources else 'none'}); only files are decoded")
        out.append((item.id, str(sources[0].source)))
    return out
