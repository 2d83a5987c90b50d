"""Normalisation of real transcripts before G2P.

Corpora write "Hello, World!" or "HELLO WORLD"; the lexicon and the word error
rate want ``hello world``. Unicode is put in NFC form (one code point for
"é"), case is folded, punctuation and symbols become spaces except an
apostrophe or hyphen between two letters ("don't", "l'homme", "e-mail"), and
whitespace is collapsed. Digits stay: eSpeak reads them in the transcript's
language, and a number it reads as several words is reported by G2P.

The same rules hold for every script (Latin, Cyrillic, Greek, Arabic,
Devanagari, Han, Hangul, ...): letters and combining marks are kept as they are,
so diacritics (``é``, Devanagari vowel signs, Arabic harakat) stay part of the
word in their NFC form and are never stripped; each script's punctuation
(Arabic ``،`` ``؟``, Devanagari danda ``।``, CJK ``。`` ``、``) is punctuation
like any other and becomes a space. Scripts that write no spaces between words
are not segmented here: :func:`unsegmented` tells a caller that a text needs
words split by spaces first.
"""

from __future__ import annotations

import unicodedata

# typographic apostrophes and hyphens are written as their ASCII forms
_APOSTROPHES = {"'", "\u2019", "\u02bc", "\u2018"}
_HYPHENS = {"-", "\u2010", "\u2011"}


def nfc(text: str) -> str:
    """``text`` in Unicode NFC: the one normalisation every word goes through.

    Lexicon words, word lists, transcripts, the words given to the recogniser and
    both sides of an error rate are put in NFC here, so "café" typed with a
    combining accent (NFD, as macOS file names and some editors write it) is the
    same word as "café" with one code point.
    """
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def _is_word_char(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LMN"


def normalize_text(text: str, lowercase: bool = True, remove_punctuation: bool = True) -> str:
    """Normalise one transcript.

    Args:
        text: as the corpus wrote it.
        lowercase: fold case (Python's ``str.lower``, which is not locale-aware:
            Turkish dotted/dotless i are not special-cased).
        remove_punctuation: replace punctuation, symbols and control characters
            by spaces, keeping ``'`` and ``-`` between two letters or digits.

    Returns:
        Words separated by single spaces, no leading or trailing space.

    Example:
        >>> normalize_text("“Don’t”, she said — NOW!")
        "don't she said now"
    """
    text = nfc(text)
    if lowercase:
        text = nfc(text.lower())
    if remove_punctuation:
        chars = []
        for i, ch in enumerate(text):
            category = unicodedata.category(ch)
            if ch in _APOSTROPHES or ch in _HYPHENS:
                inside = 0 < i < len(text) - 1 and _is_word_char(text[i - 1]) and _is_word_char(text[i + 1])
                chars.append(("'" if ch in _APOSTROPHES else "-") if inside else " ")
            elif category[0] in "PSCZ":  # punctuation, symbols, control/format, separators
                chars.append(" ")
            else:
                chars.append(ch)
        text = "".join(chars)
    return " ".join(text.split())


UNSEGMENTED_CHARS = 12  # a run of this many letters without a space is taken as unsegmented text


def unsegmented(text: str, max_chars: int = UNSEGMENTED_CHARS) -> bool:
    """Whether ``text`` holds a run of more than ``max_chars`` characters without a space.

    For languages whose script writes no spaces (Chinese, Japanese, Thai...):
    speechtl has no word segmenter, so such a run is a whole sentence, not a word.

    Example:
        >>> unsegmented("我们 中国"), unsegmented("我们是中国人我们是中国人我们")
        (False, True)
    """
    return any(len(word) > max_chars for word in text.split())
