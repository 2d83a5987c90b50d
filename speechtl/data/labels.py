"""Phoneme labels for real transcripts: normalise, then G2P (or a lexicon).

A supervision leaves here with ``text`` normalised (see
:mod:`speechtl.text.normalize`), ``language`` an ISO 639-1 code and
``custom["phonemes"]`` (space-separated, words split by ``|``), or it is
dropped and counted: empty after normalisation, or a text eSpeak reads with
another language's rules or as a different number of words (G2P returns
``None``: its phonemes would not belong to this language's inventory).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from speechtl.data.config import TextConfig
from speechtl.text.g2p import WORD_BOUNDARY, phonemize
from speechtl.text.languages import LANGUAGES
from speechtl.text.normalize import normalize_text

log = logging.getLogger(__name__)

# Pronunciations by word, e.g. from a lexicon file (one ``word p1 p2 ...`` per line).
Lexicon = Mapping[str, Sequence[str]]
_BATCH = 500  # texts per phonemizer call

@functools.lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    """English names (eSpeak's, with and without the region in brackets) -> code; short codes first."""
    names: dict[str, str] = {}
    for code, lang in LANGUAGES.items():
        names.setdefault(lang.name.lower(), code)
    for code, lang in LANGUAGES.items():
        names.setdefault(lang.name.split(" (")[0].strip().lower(), code)
    return names


def resolve_language(name: str | None) -> str | None:
    """The supported language code for a manifest's language field, or ``None``.

    Accepts a code (``de``), a regional code as Common Voice writes it
    (``sv-SE``, ``pt_BR``: the base language when eSpeak NG has it, else the
    regional one) or an English name as Lhotse recipes write it (``English``).
    """
    if not name:
        return None
    key = name.strip().replace("_", "-").lower()
    base = key.split("-")[0]
    if base in LANGUAGES:
        return base
    if key in LANGUAGES:
        return key
    return _names().get(key)


@dataclass
class LabelReport:
    """What labelling kept and dropped, per language."""

    kept: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, dict[str, int]] = field(default_factory=dict)  # language -> reason -> count
    examples: dict[str, list[str]] = field(default_factory=dict)  # reason -> a few "id: text"

    def drop(self, language: str, reason: str, example: str) -> None:
        by_reason = self.dropped.setdefault(language, {})
        by_reason[reason] = by_reason.get(reason, 0) + 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < 5:
            shown.append(example)

    def merge(self, other: "LabelReport") -> None:
        for lang, n in other.kept.items():
            self.kept[lang] = self.kept.get(lang, 0) + n
        for lang, reasons in other.dropped.items():
            for reason, n in reasons.items():
                by_reason = self.dropped.setdefault(lang, {})
                by_reason[reason] = by_reason.get(reason, 0) + n
        for reason, shown in other.examples.items():
            self.examples.setdefault(reason, []).extend(shown[: 5 - len(self.examples[reason])])

    def as_dict(self) -> dict:
        return {"kept": self.kept, "dropped": self.dropped, "examples": self.examples}


G2P_REJECTED = "G2P: read with another language's rules or as another number of words"


def label_supervisions(supervisions: Iterable, language: str, text: TextConfig,
                       lexicon: Lexicon | None = None,
                       g2p: Callable[[list[str], str], list] = phonemize) -> tuple[list, LabelReport]:
    """Normalise and phonemise supervisions of one language.

    Args:
        supervisions: Lhotse ``SupervisionSegment`` objects; those that already
            carry ``custom["phonemes"]`` keep them.
        language: their language code.
        text: normalisation settings.
        lexicon: HOOK for user lexicons (issue 3's ``speechtl.text.lexicon``
            parses the files): words it holds take its first pronunciation,
            and only texts with a word it lacks go through G2P.
        g2p: ``phonemize``-compatible function (tests pass a stub).

    Returns:
        The labelled supervisions (copies) and the report of dropped ones.
    """
    from lhotse.utils import fastcopy

    report = LabelReport()
    done, pending = [], []
    for sup in supervisions:
        normalized = normalize_text(sup.text or "", text.lowercase, text.remove_punctuation)
        if not normalized:
            report.drop(language, "empty transcript after normalisation", f"{sup.id}: {sup.text!r}")
            continue
        custom = dict(sup.custom or {})
        sup = fastcopy(sup, text=normalized, language=language, custom=custom)
        if custom.get("phonemes"):
            done.append(sup)
        elif lexicon is not None and all(w in lexicon for w in normalized.split()):
            custom["phonemes"] = f" {WORD_BOUNDARY} ".join(" ".join(lexicon[w]) for w in normalized.split())
            done.append(sup)
        else:
            pending.append(sup)
    for start in range(0, len(pending), _BATCH):
        chunk = pending[start : start + _BATCH]
        for sup, words in zip(chunk, g2p([s.text for s in chunk], language)):
            if words is None:
                report.drop(language, G2P_REJECTED, f"{sup.id}: {sup.text!r}")
                continue
            sup.custom["phonemes"] = f" {WORD_BOUNDARY} ".join(" ".join(w) for w in words)
            done.append(sup)
    report.kept[language] = len(done)
    return done, report
