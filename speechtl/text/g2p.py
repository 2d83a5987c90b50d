"""Grapheme-to-phoneme conversion with phonemizer's eSpeak NG backend.

The eSpeak NG library and its data come from the ``espeakng-loader`` wheel, so
no system package is needed. Phonemes are eSpeak's IPA symbols without stress
marks; words are separated by :data:`WORD_BOUNDARY`.
"""

from __future__ import annotations

import functools
import logging
import re

from speechtl.text.languages import configure_espeak, get_language

WORD_BOUNDARY = "|"
_FLAG = re.compile(r"\([a-z\-]+\)")

# phonemizer logs a warning for every language switch; we handle them ourselves. Its own
# "phonemizer" logger is reset to WARNING when phonemizer is imported, so use ours.
_LOG = logging.getLogger("speechtl.g2p.phonemizer")
_LOG.setLevel(logging.ERROR)


@functools.lru_cache(maxsize=None)
def _backend(language: str):
    configure_espeak()
    from phonemizer.backend import EspeakBackend

    return EspeakBackend(
        get_language(language).espeak,
        preserve_punctuation=False,
        with_stress=False,
        language_switch="keep-flags",
        logger=_LOG,
    )


def phonemize(texts: list[str], language: str) -> list[list[list[str]] | None]:
    """Phonemise texts into words of phonemes.

    Args:
        texts: one string of space-separated words each.
        language: a supported language code (see :mod:`speechtl.text.languages`).

    Returns:
        For each text, a list with one phoneme list per word, or ``None`` where
        eSpeak switched to another language's rules for some word (a foreign
        word: its phonemes would not belong to this language's inventory) or
        where the number of phonemised words differs from the number of words.
    """
    from phonemizer.separator import Separator

    if not get_language(language).spaces:
        return _phonemize_unspaced(texts, language)
    sep = Separator(phone=" ", word=f" {WORD_BOUNDARY} ", syllable=None)
    raw = _backend(language).phonemize(list(texts), separator=sep, strip=True, njobs=1)
    out: list[list[list[str]] | None] = []
    for text, line in zip(texts, raw):
        if _FLAG.search(line):
            out.append(None)
            continue
        words = [w.split() for w in line.split(WORD_BOUNDARY)]
        words = [w for w in words if w]
        out.append(words if len(words) == len(text.split()) else None)
    return out


def _phonemize_unspaced(texts: list[str], language: str) -> list[list[list[str]] | None]:
    """:func:`phonemize` for a script without spaces: each given word on its own.

    eSpeak segments such text itself (``世界`` may come back as two words); the
    words speechtl keeps are those given (wordfreq's, or a user's segmented
    text), so eSpeak's splits inside one word are joined.
    """
    words = sorted({w for text in texts for w in text.split()})
    prons = {w: p for w, p in zip(words, phonemize_words(words, language))}
    out: list[list[list[str]] | None] = []
    for text in texts:
        got = [prons[w] for w in text.split()]
        out.append(None if not got or any(p is None for p in got) else got)
    return out


def phonemize_words(words: list[str], language: str) -> list[list[str] | None]:
    """One phoneme list per word, eSpeak's word splits inside it joined; ``None`` for a foreign word."""
    from phonemizer.separator import Separator

    sep = Separator(phone=" ", word=f" {WORD_BOUNDARY} ", syllable=None)
    raw = _backend(language).phonemize(list(words), separator=sep, strip=True, njobs=1) if words else []
    return [None if _FLAG.search(line) or not line.replace(WORD_BOUNDARY, " ").split()
            else line.replace(WORD_BOUNDARY, " ").split() for line in raw]


def pronounce(words: list[str], language: str) -> dict[str, list[str]]:
    """G2P pronunciations for single words; foreign-sounding words are left out."""
    result = {}
    for word, pron in zip(words, phonemize(words, language)):
        if pron is not None and len(pron) == 1:
            result[word] = pron[0]
    return result


_VOWELS = set("aeiouyæøœɐɑɒɔəɘɛɜɞɤɨɪɯɵʉʊʌʏɚɶ")
_VOICED_OBSTRUENTS = {"b", "d", "ɡ", "v", "z", "ʒ", "ð", "dʒ", "ɣ", "β", "dz", "dʑ", "ʑ"}
_BILABIAL = {"p", "b", "m"}
_VELAR = {"k", "ɡ"}
_VOICELESS = {"p", "t", "k", "f", "s", "ʃ", "θ", "x", "ç", "h", "ts", "tʃ", "tɕ", "ɕ", "ʂ", "tʂ", "c", "χ"}


def _is_vowel(phoneme: str) -> bool:
    return phoneme[:1] in _VOWELS


def has_context(language: str) -> bool:
    """Whether in-context pronunciations can be made: the carrier words come from wordfreq's list."""
    return bool(get_language(language).wordfreq)


@functools.lru_cache(maxsize=None)
def carrier_words(language: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Frequent words to say a word between, so that eSpeak applies its cross-word rules.

    Left carriers end in a vowel / a voiceless consonant (Spanish lenition, Dutch
    devoicing); right carriers start with a vowel (French liaison), a voiced
    obstruent (Portuguese and Polish final voicing), a bilabial and a velar
    consonant (a final nasal taking the next word's place: Spanish ``un`` is
    ``u m`` before ``p``). Each is the most frequent plain word of its kind
    (wordfreq), so the choice is deterministic.

    Returns:
        ``(left carriers, right carriers)``; both empty for a language wordfreq has no list for
        (its words are then pronounced alone: :func:`has_context`).
    """
    if not has_context(language):
        return (), ()
    from wordfreq import top_n_list

    words = [w for w in top_n_list(get_language(language).wordfreq, 400) if w.isalpha() and len(w) >= 2]
    prons = pronounce(words, language)

    def first(test) -> list[str]:
        return [w for w in words if w in prons and test(prons[w])][:1]

    left = first(lambda p: _is_vowel(p[-1])) + first(lambda p: p[-1] in _VOICELESS)
    right = (first(lambda p: _is_vowel(p[0])) + first(lambda p: p[0] in _VOICED_OBSTRUENTS)
             + first(lambda p: p[0] in _BILABIAL) + first(lambda p: p[0] in _VELAR))
    return tuple(dict.fromkeys(left)), tuple(dict.fromkeys(right))


def pronounce_in_context(words: list[str], language: str) -> dict[str, list[list[str]]]:
    """Pronunciations of each word alone and between carrier words (eSpeak's cross-word rules).

    eSpeak pronounces a word differently in running speech (Spanish ``dia`` is
    ``d j a`` alone but ``ð j a`` after a vowel; French ``lieux`` takes a liaison
    ``z`` before a vowel). Models trained on eSpeak's in-context phonemes output
    these forms, so a lexicon lists them as alternative pronunciations.

    Returns:
        word -> distinct pronunciations, the isolated one first; words eSpeak
        cannot pronounce natively alone are left out.
    """
    alone = pronounce(words, language)
    kept = [w for w in words if w in alone]
    lefts, rights = carrier_words(language)
    out = {w: [alone[w]] for w in kept}
    contexts = [(l, r) for l in ("",) + lefts for r in ("",) + rights if l or r]
    for left, right in contexts:
        texts = [" ".join(x for x in (left, w, right) if x) for w in kept]
        position = 1 if left else 0
        for word, pron in zip(kept, phonemize(texts, language)):
            if pron is not None and pron[position] not in out[word]:
                out[word].append(pron[position])
    return out
