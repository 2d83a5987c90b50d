"""Reference and hypothesis files for scoring: ``id words...`` text (Kaldi ``text``), JSON lines, NIST CTM.

The format is told by the suffix (``.jsonl``/``.json``, ``.ctm``) or, for any other
name, by the first line: ``{`` starts JSON lines, ``ID CHANNEL START DURATION WORD``
is CTM, anything else is ``id`` followed by the tokens.

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "hyp.ctm").write_text("a 1 0.50 0.2 two\\na 1 0.10 0.3 one\\n")
    >>> read_transcripts(d / "hyp.ctm")
    {'a': 'one two'}
"""

from __future__ import annotations

import json
from pathlib import Path

from speechtl.errors import SpeechtlError, shorten
from speechtl.text.normalize import nfc


def sniff_format(path: Path, first: str) -> str:
    """``jsonl``, ``ctm`` or ``text`` from the suffix, else from the first non-blank line."""
    if path.suffix in (".jsonl", ".json"):
        return "jsonl"
    if path.suffix == ".ctm":
        return "ctm"
    if first.lstrip().startswith("{"):
        return "jsonl"
    fields = first.split()
    try:
        if len(fields) in (5, 6):
            float(fields[2]), float(fields[3])
            return "ctm"
    except ValueError:
        pass
    return "text"


def read_transcripts(path: str | Path, field: str = "text") -> dict[str, str]:
    """``{id: tokens joined by spaces}``, in file order.

    Args:
        field: JSON lines only: the key holding the transcript (``text`` or ``phonemes``).

    Raises:
        SpeechtlError: the file is malformed or repeats an id (the message names the file and line).
    """
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    kind = file_format(path, lines)
    reader = {"jsonl": lambda: _jsonl(path, lines, field), "ctm": lambda: _ctm(path, lines),
              "text": lambda: _text(path, lines)}[kind]
    out: dict[str, str] = {}
    for number, uid, words in reader():
        if uid in out:
            raise SpeechtlError(f"{path}:{number}: id {shorten(repr(uid))} appears twice")
        out[uid] = nfc(words)
    return out


def file_format(path: str | Path, lines: list[str] | None = None) -> str:
    """The format of a transcript file: ``jsonl``, ``ctm`` or ``text``."""
    if lines is None:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    return sniff_format(Path(path), next((line for line in lines if line.strip() and not line.startswith(";;")), ""))


def _text(path: Path, lines: list[str]):
    for number, line in enumerate(lines, 1):
        if line.strip():
            uid, _, words = line.strip().partition(" ")
            yield number, uid, " ".join(words.split())


def _jsonl(path: Path, lines: list[str], field: str):
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            raise SpeechtlError(f"{path}:{number}: not JSON ({err.msg}): {shorten(line)}") from None
        if not isinstance(obj, dict) or "id" not in obj or not isinstance(obj.get(field), str):
            raise SpeechtlError(f"{path}:{number}: expected an object with \"id\" and a string {field!r}, "
                                f"got {shorten(line)}")
        yield number, str(obj["id"]), " ".join(obj[field].split())


def _ctm(path: Path, lines: list[str]):
    """CTM words grouped by recording, in time order."""
    words: dict[str, list[tuple[float, str]]] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.startswith(";;"):
            continue
        fields = line.split()
        try:
            words.setdefault(fields[0], []).append((float(fields[2]), fields[4]))
        except (IndexError, ValueError):
            raise SpeechtlError(f"{path}:{number}: expected CTM 'ID CHANNEL START DURATION WORD [CONF]', "
                                f"got {shorten(line)}") from None
    for uid, timed in words.items():
        yield 0, uid, " ".join(word for _, word in sorted(timed, key=lambda t: t[0]))


def paired(refs: dict[str, str], hyps: dict[str, str], ref_name: str = "references",
           hyp_name: str = "hypotheses", empty_ok: bool = False) -> list[tuple[str, str, str]]:
    """``(id, reference, hypothesis)`` for every reference id, in reference order.

    Args:
        empty_ok: a reference id without a hypothesis has an empty one (CTM lists no line
            for a recording without words).

    Raises:
        SpeechtlError: the two files do not hold the same ids (names the first missing ids and counts).
    """
    missing = [] if empty_ok else [uid for uid in refs if uid not in hyps]
    extra = [uid for uid in hyps if uid not in refs]
    problems = []
    if missing:
        problems.append(f"{len(missing)} of the {len(refs)} ids of {ref_name} have no hypothesis in "
                        f"{hyp_name} (first: {', '.join(shorten(m, 40) for m in missing[:5])})")
    if extra:
        problems.append(f"{len(extra)} of the {len(hyps)} ids of {hyp_name} are not in {ref_name} "
                        f"(first: {', '.join(shorten(e, 40) for e in extra[:5])})")
    if problems:
        raise SpeechtlError("; ".join(problems))
    return [(uid, ref, hyps.get(uid, "")) for uid, ref in refs.items()]
