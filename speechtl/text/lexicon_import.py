"""Lexicons from other sources: CMUdict (ARPAbet), X-SAMPA and IPA files read faithfully into the model's IPA.

:func:`read_lexicon` reads a lexicon file in a phone set (:data:`~speechtl.text.phonesets.PHONESETS`)
and returns it in eSpeak's IPA:

* Lines starting with ``;;;`` are comments (CMUdict's); every phone set skips them.
* An imported lexicon (any phone set but ``espeak``) has its words case folded
  (CMUdict's ``APPLE`` is ``apple``, as transcripts are normalised) and a word's
  ``(N)`` suffix marks a variant (``TOMATO(1)`` is another pronunciation of
  ``tomato``), so the file merges over a shipped lexicon word for word.
* ARPAbet symbols are converted one by one, then a vowel followed by ``R`` or by
  another vowel is joined into one symbol where the model's own symbols have the
  joined form (``AA1 R`` -> ``ɑː ɹ`` -> ``ɑːɹ`` when the head has ``ɑːɹ``;
  ``AY1 ER0`` -> ``aɪɚ``): eSpeak's English writes r-coloured vowels and these
  diphthong sequences as one phoneme, and the model outputs it so.
* An X-SAMPA or IPA token that is several phones written without spaces
  (``{p@l``: ``æpəl``) is split into the model's own symbols when it can be
  (``æ p əl``), and refused with its file, line and text when it cannot: never
  mapped as one symbol to its nearest phoneme.

"The model's own symbols" (``known``) are a head's inventory (``lexicon check``,
``decode --phoneset``) or the base lexicon's symbols (``lexicon merge``); without
them nothing is joined and a token of several phones is refused.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Collection
from pathlib import Path

from speechtl.errors import LexiconError, shorten
from speechtl.text.lexicon import Lexicon, phoneset_hint, raise_problems
from speechtl.text.phonesets import ATTRIBUTES, NAMES, PHONESETS, looks_like, segment_features, segments, to_ipa

log = logging.getLogger(__name__)
_VARIANT = re.compile(r"^(.+)\(\d+\)$")  # CMUdict's TOMATO(1)
_JOINABLE_AFTER_VOWEL = {"ɹ", "ɚ"}  # r-colouring joined to the vowel before it (eSpeak's ɑːɹ, ɔːɹ, ɛɹ...)


def read_lexicon(path: str | Path, phoneset: str = "espeak", known: Collection[str] | None = None) -> Lexicon:
    """Read a lexicon file in ``phoneset`` and return it in eSpeak IPA (see the module docstring).

    Args:
        known: the symbols of the model (or base lexicon) it is for: ARPAbet sequences are
            joined into them, X-SAMPA / IPA tokens of several phones split into them.

    Raises:
        LexiconError: the file is missing, lines are malformed, or symbols are not of ``phoneset``
            or cannot be split into known symbols; each problem names ``FILE:LINE``.
    """
    if phoneset not in PHONESETS:
        raise LexiconError(f"unknown phone set {shorten(phoneset, 40)!r}; expected one of {', '.join(PHONESETS)}")
    raw = Lexicon.read(path)
    if phoneset == "espeak":
        return raw
    known = frozenset(known or ())
    out, problems, splits = Lexicon(), [], {}
    for word, pron in raw.items():
        where = raw.origin(word, pron)
        converted = _convert(pron, phoneset, known, splits, where)
        if isinstance(converted, str):
            problems.append(f"{where}: {converted.replace('{word}', shorten(repr(word), 60))}")
            continue
        out.add(fold_word(word), converted, where)
    hint = phoneset_hint(looks_like(raw.symbols()) or "espeak", phoneset) if problems else ""
    raise_problems(str(path), problems, hint)
    for token, (where, parts) in list(splits.items())[:5]:  # said, not silently done
        log.warning("%s: %s written without spaces, read as the model's %s", where, shorten(repr(token), 40),
                    " ".join(parts))
    if len(splits) > 5:
        log.warning("%s: %d more tokens of several phones split the same way", path, len(splits) - 5)
    out.duplicates += raw.duplicates
    return out


def fold_word(word: str) -> str:
    """An imported word as transcripts write it: case folded, a CMUdict ``(N)`` variant suffix removed."""
    match = _VARIANT.match(word)
    return (match.group(1) if match else word).lower()


def _convert(pron: tuple[str, ...], phoneset: str, known: frozenset[str], splits: dict, where: str
             ) -> tuple[str, ...] | str:
    """The pronunciation in IPA, or a message (``{word}`` to fill in) naming the first symbol that cannot be read.

    Tokens split into known symbols are recorded in ``splits`` (``{token: (where, parts)}``).
    """
    out: list[str] = []
    for symbol in pron:
        ipa = to_ipa(symbol, phoneset)
        if ipa is None:
            return f"{shorten(repr(symbol), 40)} in the pronunciation of {{word}} is not {NAMES[phoneset]}"
        if phoneset in ("xsampa", "ipa") and ipa not in known and not is_one_phone(ipa):
            parts = split_symbols(ipa, known)
            if parts is None:
                return (f"{shorten(repr(symbol), 40)} ({shorten(ipa, 40)}) in the pronunciation of {{word}} is "
                        "several phones written without spaces and cannot be split into the model's symbols: "
                        "separate them by spaces")
            splits.setdefault(symbol, (where, parts))
            out.extend(parts)
            continue
        out.append(ipa)
    return join_sequences(out, known) if phoneset == "arpabet" else tuple(out)


@functools.lru_cache(maxsize=None)
def _syllabic(segment: str) -> bool:
    return segment_features(segment)[ATTRIBUTES.index("syl")] > 0


@functools.lru_cache(maxsize=None)
def _affricate(first: str, second: str) -> bool:
    """A stop followed by a fricative (``tʃ``, ``ts``, ``dʒ``): one phone written with two letters."""
    cont, son = ATTRIBUTES.index("cont"), ATTRIBUTES.index("son")
    a, b = segment_features(first), segment_features(second)
    return a[cont] < 0 and a[son] < 0 and b[cont] > 0 and b[son] < 0


def is_one_phone(symbol: str) -> bool:
    """Whether an IPA symbol is one phone: one segment, a diphthong, an affricate or an r-coloured vowel.

    Example:
        >>> [is_one_phone(s) for s in ("kʰ", "aɪ", "tʃ", "ɑːɹ", "pa", "æpəl")]
        [True, True, True, True, False, False]
    """
    segs = segments(symbol)
    if len(segs) <= 1:
        return True  # no features at all is judged later (mapping refuses it by name)
    if len(segs) > 2:
        return False
    first, second = segs
    return ((_syllabic(first) and (_syllabic(second) or second in _JOINABLE_AFTER_VOWEL))
            or _affricate(first, second))


def split_symbols(text: str, known: Collection[str]) -> tuple[str, ...] | None:
    """``text`` as a sequence of ``known`` symbols (the fewest), or ``None`` when it cannot be split.

    Example:
        >>> split_symbols("æpəl", {"æ", "p", "ə", "l", "əl"})
        ('æ', 'p', 'əl')
    """
    symbols = frozenset(known)
    longest = max((len(s) for s in symbols), default=0)

    @functools.lru_cache(maxsize=None)
    def best(start: int) -> tuple[str, ...] | None:
        if start == len(text):
            return ()
        options = []
        for end in range(min(len(text), start + longest), start, -1):
            if text[start:end] in symbols:
                rest = best(end)
                if rest is not None:
                    options.append((text[start:end],) + rest)
        return min(options, key=len) if options else None

    return best(0) if text else None


def join_sequences(pron: list[str], known: Collection[str]) -> tuple[str, ...]:
    """Adjacent vowel + ``ɹ`` / vowel sequences joined where ``known`` has the joined symbol (longest first).

    Example:
        >>> join_sequences(["k", "ɑː", "ɹ"], {"k", "ɑː", "ɹ", "ɑːɹ"})
        ('k', 'ɑːɹ')
        >>> join_sequences(["f", "aɪ", "ɚ"], {"f", "aɪ", "ɚ", "aɪɚ"})
        ('f', 'aɪɚ')
    """
    out: list[str] = []
    i = 0
    while i < len(pron):
        for n in (3, 2):
            run = pron[i : i + n]
            if len(run) == n and "".join(run) in known and _joinable(run):
                out.append("".join(run))
                i += n
                break
        else:
            out.append(pron[i])
            i += 1
    return tuple(out)


def _joinable(run: list[str]) -> bool:
    """Every symbol but the last a vowel; the last a vowel or r-colouring."""
    def vowel(symbol: str) -> bool:
        segs = segments(symbol)
        return bool(segs) and _syllabic(segs[0])

    return all(vowel(s) for s in run[:-1]) and (vowel(run[-1]) or run[-1] in _JOINABLE_AFTER_VOWEL)

