"""Lexicons made by G2P: pronounced word lists, wordfreq's frequent words, the shipped lexicons.

Pronunciations come from eSpeak NG through :mod:`speechtl.text.g2p`, each word's
isolated form first and, optionally, the forms eSpeak gives it in running speech.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from pathlib import Path

from speechtl.errors import LexiconError
from speechtl.resources import package_dir
from speechtl.text.inventory import Inventory
from speechtl.text.lexicon import Lexicon, read_lines
from speechtl.text.normalize import normalize_text, unsegmented


def g2p_lexicon(words: Iterable[str], language: str, context: bool = True) -> tuple[Lexicon, list[str]]:
    """Pronounce words with eSpeak NG G2P.

    Args:
        context: besides each word's isolated pronunciation, add those eSpeak gives it
            between other words (see :func:`speechtl.text.g2p.pronounce_in_context`).

    Returns:
        The lexicon of words eSpeak pronounces with ``language``'s own rules, and
        the words it cannot (read as another language, or as several words).
    """
    from speechtl.text.g2p import pronounce, pronounce_in_context

    words = list(dict.fromkeys(words))
    lex = Lexicon()
    for start in range(0, len(words), 1000):
        chunk = words[start : start + 1000]
        if context:
            for word, prons in pronounce_in_context(chunk, language).items():
                for pron in prons:
                    lex.add(word, pron, f"g2p({language})")
        else:
            for word, pron in pronounce(chunk, language).items():
                lex.add(word, pron, f"g2p({language})")
    return lex, [w for w in words if w not in lex]


def add_context_variants(lexicon: Lexicon, language: str) -> Lexicon:
    """``lexicon`` with eSpeak's in-context pronunciations of its words added after its own."""
    variants, _ = g2p_lexicon(lexicon.words, language, context=True)
    out = Lexicon()
    for word, pron in lexicon.items():
        out.add(word, pron, lexicon.origin(word, pron))
    for word, pron in variants.items():
        if word in lexicon and pron not in out.pronunciations(word):
            out.add(word, pron, variants.origin(word, pron))
    return out


def is_plain_word(word: str) -> bool:
    """A lower-case word of letters of at least two characters (no digits, abbreviations or single letters).

    Combining marks after the first letter belong to the word: Devanagari vowel
    signs and virama, Arabic harakat (``str.isalpha`` alone would refuse ``नमस्ते``).
    """
    return (len(word) >= 2 and word[0].isalpha() and word == word.lower()
            and all(unicodedata.category(c)[0] in "LM" for c in word))


def frequent_words(language: str, n: int, text_file: str | Path | None = None) -> list[str]:
    """The ``n`` most frequent words of a language: from ``text_file`` when given, else wordfreq's list.

    A text file (a word list is one) is read as UTF-8, each line normalised
    (:func:`~speechtl.text.normalize.normalize_text`) and split at spaces; words
    come most frequent first, ties in order of first appearance.

    Raises:
        LanguageError: wordfreq has no list for the language and no file is given (the
            message names the recipe key), or the file's script has no spaces and a line is
            not segmented into words.
    """
    from speechtl.errors import LanguageError
    from speechtl.text.languages import get_language

    lang = get_language(language)
    if text_file is None:
        if not lang.wordfreq:
            raise LanguageError(f"wordfreq has no word list for {language} ({lang.name}): set the recipe key "
                                f"data.synth.text_files: {{{language}: FILE}} to a word list or text file "
                                "(add-language --zero-shot: --text-file FILE)")
        from wordfreq import top_n_list

        return top_n_list(lang.wordfreq, n)
    counts: dict[str, int] = {}
    for number, line, problem in read_lines(text_file):
        if line is None:
            raise LanguageError(problem)
        text = normalize_text(line)
        if not lang.spaces and unsegmented(text):
            raise LanguageError(f"{text_file}:{number}: {lang.name} is written without spaces and speechtl has no "
                                f"word segmenter: give the text segmented into words by spaces ({text[:30]!r}...)")
        for word in text.split():
            counts[word] = counts.get(word, 0) + 1
    return sorted(counts, key=lambda w: -counts[w])[:n]  # sorted is stable: ties keep first appearance


def frequent_lexicon(language: str, size: int, exclude: Iterable[str] = (), inventory: Inventory | None = None,
                     candidates: int | None = None, context: bool = False, text_file: str | Path | None = None
                     ) -> Lexicon:
    """The ``size`` most frequent plain words (wordfreq) that eSpeak pronounces natively, with G2P pronunciations.

    Args:
        exclude: words to leave out.
        inventory: also leave out words with a pronunciation that uses a symbol outside it.
        candidates: how many of wordfreq's top words to consider (default ``max(4 * size, 5000)``).
        context: add in-context pronunciations (see :func:`g2p_lexicon`).
        text_file: take the words from this word list or text file instead of wordfreq
            (see :func:`frequent_words`).

    Returns:
        At most ``size`` words in frequency order (fewer only when the candidates run out).
    """
    skip = set(exclude)
    pool = [w for w in frequent_words(language, candidates or max(4 * size, 5000), text_file)
            if is_plain_word(w) and w not in skip]
    lex = Lexicon()
    for start in range(0, len(pool), 1000):
        chunk, _ = g2p_lexicon(pool[start : start + 1000], language, context)
        for word in chunk:
            prons = chunk.pronunciations(word)
            if inventory is None or all(p in inventory for pron in prons for p in pron):
                for pron in prons:
                    lex.add(word, pron, f"g2p({language})")
                if len(lex) == size:
                    return lex
    return lex


def shipped_lexicon_dir() -> Path:
    """``speechtl/lexicons/``: package data, made by ``scripts/build_lexicons.py``."""
    return package_dir("lexicons")


def shipped_lexicon(language: str) -> Lexicon:
    """The lexicon shipped for a language.

    Raises:
        LexiconError: none is shipped for it (the message lists those that are).
    """
    path = shipped_lexicon_dir() / f"{language}.txt"
    if not path.is_file():
        have = sorted(p.stem for p in shipped_lexicon_dir().glob("*.txt"))
        raise LexiconError(f"no shipped lexicon for language {language!r} (shipped: {', '.join(have) or 'none'}); "
                           "give a lexicon or a word list")
    return Lexicon.read(path)
