"""What speechtl has for each language: eSpeak voice, wordfreq list, shipped lexicon, inventory marks.

Backs ``speechtl languages``. The inventory is sampled: eSpeak NG pronounces
the language's most frequent words (wordfreq's), and the phoneme symbols seen
are reported with whether they carry tone (eSpeak's tone digits, IPA tone
letters) or length (``ː``, ``ˑ``) marks.
"""

from __future__ import annotations

from dataclasses import dataclass

from speechtl.text.g2p import pronounce
from speechtl.text.g2p_lexicon import is_plain_word, shipped_lexicon_dir
from speechtl.text.languages import LANGUAGES, Language

TONE_MARKS = set("0123456789˥˦˧˨˩\u0301\u0300\u0302\u030c\u0304")  # eSpeak digits, IPA tone letters and accents
LENGTH_MARKS = set("ːˑ")


def has_tone(symbol: str) -> bool:
    return any(c in TONE_MARKS for c in symbol)


def has_length(symbol: str) -> bool:
    return any(c in LENGTH_MARKS for c in symbol)


@dataclass
class LanguageInfo:
    language: Language
    lexicon: bool  # a lexicon ships in lexicons/
    inventory: list[str] | None = None  # sampled phoneme symbols (None: not sampled)

    @property
    def tone(self) -> bool | None:
        return None if self.inventory is None else any(has_tone(s) for s in self.inventory)

    @property
    def length(self) -> bool | None:
        return None if self.inventory is None else any(has_length(s) for s in self.inventory)


def sample_inventory(language: str, words: int = 300) -> list[str] | None:
    """Phoneme symbols of eSpeak's pronunciations of the ``words`` most frequent words (None without wordfreq)."""
    lang = LANGUAGES[language]
    if not lang.wordfreq:
        return None
    from wordfreq import top_n_list

    pool = [w for w in top_n_list(lang.wordfreq, words) if is_plain_word(w)]
    return sorted({p for pron in pronounce(pool, language).values() for p in pron})


def language_info(language: str, inventory: bool = False) -> LanguageInfo:
    lang = LANGUAGES[language]
    shipped = (shipped_lexicon_dir() / f"{language}.txt").is_file()
    return LanguageInfo(lang, shipped, sample_inventory(language) if inventory else None)
