"""Transcripts as text: JSON lines, NIST CTM, SubRip (SRT) and WebVTT subtitles, tab-separated cues.

SRT, VTT and TSV are documents, one per recording (``speechtl decode --output-dir``
writes each to ``DIR/ID.EXT``, as whisper does); text, JSON lines and CTM also
concatenate into one stream. TSV is whisper's: ``start``, ``end`` (integer
milliseconds) and ``text`` per cue, after a header line.

Word times are in seconds from the recording's start in every format. A recording decoded in
several segments (voice activity detection) lists them: ``text`` a ``[start end]`` line before
each segment's words, ``jsonl`` a ``segments`` array, ``srt`` cues that never cross a segment.

Example:
    >>> from speechtl.decoding.align import WordSegment
    >>> from speechtl.decoding.recognizer import Transcript
    >>> t = Transcript("a.wav", "en", 2.0, [WordSegment("one", 0.12, 0.5, ["w", "ʌ", "n"], 0.9),
    ...                                      WordSegment("two", 0.8, 1.1, ["t", "uː"], 0.8)])
    >>> print(ctm_lines("a", t), end="")
    a 1 0.120 0.380 one 0.900
    a 1 0.800 0.300 two 0.800
    >>> print(srt(t), end="")
    1
    00:00:00,120 --> 00:00:01,100
    one two
    >>> print(vtt(t), end="")
    WEBVTT
    <BLANKLINE>
    00:00:00.120 --> 00:00:01.100
    one two
    >>> print(tsv(t), end="")
    start	end	text
    120	1100	one two
"""

from __future__ import annotations

import json

FORMATS = ("text", "jsonl", "ctm", "srt", "vtt", "tsv")
# one document per recording: several recordings need a folder (--output-dir)
DOCUMENTS = ("srt", "vtt", "tsv")
EXTENSIONS = {"text": "txt", "jsonl": "jsonl", "ctm": "ctm", "srt": "srt", "vtt": "vtt", "tsv": "tsv"}


def text_lines(transcript, greedy: bool = False) -> str:
    """``SOURCE: words`` then one line per word ``start end word /phonemes/``."""
    if greedy:
        return f"{transcript.source}: {transcript.phonemes}\n"
    lines = [f"{transcript.source}: {transcript.text}"]
    for span, words in transcript.segment_words():
        if len(transcript.segments) > 1:
            lines.append(f"  [{span.start:.2f} {span.end:.2f}]")
        lines += [f"  {w.start:8.2f} {w.end:8.2f}  {w.word}  /{' '.join(w.phonemes)}/" for w in words]
    return "\n".join(lines) + "\n"


def jsonl_line(uid: str, transcript) -> str:
    """One JSON object: the transcript's fields and its ``id``."""
    return json.dumps({"id": uid, **transcript.as_dict()}, ensure_ascii=False) + "\n"


def ctm_lines(uid: str, transcript, channel: int = 1) -> str:
    """NIST CTM: ``ID CHANNEL START DURATION WORD CONFIDENCE`` per word."""
    return "".join(f"{uid} {channel} {w.start:.3f} {w.end - w.start:.3f} {w.word} {w.confidence:.3f}\n"
                   for w in transcript.words)


def _clock(seconds: float, separator: str) -> str:
    ms = int(round(seconds * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}{separator}{ms % 1000:03d}"


def cues(transcript, max_words: int = 8, max_gap: float = 1.0) -> list[list]:
    """Consecutive words of one segment grouped into subtitle cues: at most ``max_words``, a new cue after a
    pause of ``max_gap`` s; a cue never crosses a segment (voice activity detection)."""
    out: list[list] = []
    for _, words in transcript.segment_words():
        for i, w in enumerate(words):
            if i == 0 or len(out[-1]) >= max_words or w.start - out[-1][-1].end > max_gap:
                out.append([])
            out[-1].append(w)
    return out


def srt(transcript, max_words: int = 8, max_gap: float = 1.0) -> str:
    """SubRip: numbered cues (see :func:`cues`), ``HH:MM:SS,mmm`` times."""
    return "\n".join(f"{n}\n{_clock(c[0].start, ',')} --> {_clock(c[-1].end, ',')}\n{' '.join(w.word for w in c)}\n"
                     for n, c in enumerate(cues(transcript, max_words, max_gap), 1))


def vtt(transcript, max_words: int = 8, max_gap: float = 1.0) -> str:
    """WebVTT: the ``WEBVTT`` header, then cues with ``HH:MM:SS.mmm`` times."""
    body = "".join(f"\n{_clock(c[0].start, '.')} --> {_clock(c[-1].end, '.')}\n{' '.join(w.word for w in c)}\n"
                   for c in cues(transcript, max_words, max_gap))
    return "WEBVTT\n" + body


def tsv(transcript, max_words: int = 8, max_gap: float = 1.0) -> str:
    """whisper's TSV: a ``start end text`` header, then one cue a line, times in integer milliseconds."""
    rows = [f"{round(1000 * c[0].start)}\t{round(1000 * c[-1].end)}\t{' '.join(w.word for w in c)}"
            for c in cues(transcript, max_words, max_gap)]
    return "\n".join(["start\tend\ttext", *rows]) + "\n"


def render(fmt: str, uid: str, transcript, greedy: bool = False) -> str:
    """One recording's transcript in ``fmt`` (one of :data:`FORMATS`)."""
    return {"text": lambda: text_lines(transcript, greedy), "jsonl": lambda: jsonl_line(uid, transcript),
            "ctm": lambda: ctm_lines(uid, transcript), "srt": lambda: srt(transcript),
            "vtt": lambda: vtt(transcript), "tsv": lambda: tsv(transcript)}[fmt]()
