"""Grapheme-to-phoneme conversion with phonemizer's eSpeak NG backend.

The eSpeak NG library and its data come from the ``espeakng-loader`` wheel, so
no system package is needed. Phonemes are eSpeak's IPA symbols without stress
marks; words are separated by :data:`WORD_BOUNDARY`.
"""

from __future__ import annotations

import functools
import logging
import re

from speechtl.text.languages import get_language

WORD_BOUNDARY = "|"
_FLAG = re.compile(r"\([a-z\-]+\)")

# phonemizer logs a warning for every language switch; we handle them ourselves.
logging.getLogger("phonemizer").setLevel(logging.ERROR)


@functools.lru_cache(maxsize=1)
def _configure_espeak() -> None:
    import espeakng_loader
    from phonemizer.backend.espeak.wrapper import EspeakWrapper

    EspeakWrapper.set_library(espeakng_loader.get_library_path())
    EspeakWrapper.set_data_path(espeakng_loader.get_data_path())


@functools.lru_cache(maxsize=None)
def _backend(language: str):
    _configure_espeak()
    from phonemizer.backend import EspeakBackend

    return EspeakBackend(
        get_language(language).espeak,
        preserve_punctuation=False,
        with_stress=False,
        language_switch="keep-flags",
        logger=logging.getLogger("phonemizer"),
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


def pronounce(words: list[str], language: str) -> dict[str, list[str]]:
    """G2P pronunciations for single words; foreign-sounding words are left out."""
    result = {}
    for word, pron in zip(words, phonemize(words, language)):
        if pron is not None and len(pron) == 1:
            result[word] = pron[0]
    return result
