"""Languages: every language eSpeak NG can phonemise, no code edit needed.

The list comes from eSpeak NG itself (the library and data the
``espeakng-loader`` wheel ships), read once on first use. A language's code is
eSpeak's language name (``vi``, ``sw``, ``pt-br``, ``cmn``); for the common
languages a short ISO 639-1 code picks a preferred regional voice (``en`` is
eSpeak's ``en-us``, ``fr`` is ``fr-fr``): :data:`_PREFERRED`.

Text for the synthetic corpus comes from wordfreq when it has a word list for
the language (:attr:`Language.wordfreq`, matched exactly or by the explicit
aliases in :data:`_WORDFREQ_ALIASES`, never by a guess); otherwise the recipe
key ``data.synth.text_files`` names a word list or text file for it.

Languages whose script writes no spaces between words (Han, Kana, Thai, Lao,
Khmer, Myanmar: :attr:`Language.spaces` is False) take words as given: the
synthetic corpus reads wordfreq's (already segmented) words one by one, and a
real transcript or text file must come segmented into words by spaces
(speechtl has no word segmenter; see :func:`speechtl.text.normalize.check_segmented`).
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from speechtl.errors import LanguageError


@dataclass(frozen=True)
class Language:
    code: str  # as used in recipes and manifests
    name: str
    espeak: str  # phonemizer's eSpeak language
    wordfreq: str  # wordfreq language code; "" when wordfreq has no word list for it
    voice: str = ""  # eSpeak voice name for synthesis, when it differs from ``espeak``
    spaces: bool = True  # the script separates words by spaces

    @property
    def synth_voice(self) -> str:
        return self.voice or self.espeak


# short codes for eSpeak languages whose eSpeak name is regional: code -> (eSpeak language, voice)
_PREFERRED = {"en": ("en-us", ""), "fr": ("fr-fr", "fr"), "no": ("nb", ""), "zh": ("cmn", "")}
_PREFERRED_BY_ESPEAK = {"nb": "no", "cmn": "zh"}  # the short code of a preferred eSpeak language
# wordfreq lists that serve a language under another code (Serbo-Croatian, Mandarin, Norwegian)
_WORDFREQ_ALIASES = {"hr": "sh", "sr": "sh", "bs": "sh", "cmn": "zh", "no": "nb"}
# languages (base codes) written without spaces between words
_NO_SPACES = {"cmn", "zh", "yue", "hak", "ja", "th", "lo", "km", "my", "shn"}


def configure_espeak() -> None:
    """Point phonemizer at the eSpeak NG library and data of the ``espeakng-loader`` wheel."""
    _configure_espeak()


@functools.lru_cache(maxsize=1)
def _configure_espeak() -> None:
    import espeakng_loader
    from phonemizer.backend.espeak.wrapper import EspeakWrapper

    EspeakWrapper.set_library(espeakng_loader.get_library_path())
    EspeakWrapper.set_data_path(espeakng_loader.get_data_path())


@functools.lru_cache(maxsize=1)
def espeak_languages() -> dict[str, str]:
    """eSpeak NG's languages that it can phonemise: ``{language: English name}``.

    The library's own list, less the languages whose pronunciation dictionary
    the data lacks (eSpeak would read them with no rules).
    """
    _configure_espeak()
    from phonemizer.backend import EspeakBackend

    voices = _voice_files()
    return {code.lower(): " ".join(name.split()) for code, name in EspeakBackend.supported_languages().items()
            if code.lower() in voices}


@functools.lru_cache(maxsize=1)
def _espeak_spelling() -> dict[str, str]:
    """``{language in lower case: eSpeak's own spelling}``: phonemizer matches names case-sensitively
    (``chr-US-Qaaa-x-west``), while speechtl's codes are lower case."""
    _configure_espeak()
    from phonemizer.backend import EspeakBackend

    return {code.lower(): code for code in EspeakBackend.supported_languages()}


@functools.lru_cache(maxsize=1)
def _voice_files() -> dict[str, str]:
    """``{language: voice file name}`` of eSpeak's ``lang/`` voices whose dictionary the data has."""
    from pathlib import Path

    import espeakng_loader

    data = Path(espeakng_loader.get_data_path())
    out = {}
    for path in sorted((data / "lang").rglob("*")):
        if not path.is_file():
            continue
        fields = [line.split() for line in path.read_text(encoding="latin-1").splitlines()]
        languages = [f[1].lower() for f in fields if len(f) >= 2 and f[0] == "language"]
        dictionary = next((f[1] for f in fields if len(f) >= 2 and f[0] == "dictionary"), None)
        if languages and (data / f"{dictionary or languages[0].split('-')[0]}_dict").is_file():
            out.setdefault(languages[0], path.name)
    return out


@functools.lru_cache(maxsize=1)
def _wordfreq_languages() -> frozenset[str]:
    import wordfreq

    return frozenset(wordfreq.available_languages())


def wordfreq_code(code: str) -> str:
    """wordfreq's code for a language, or ``""`` when wordfreq has no list for it.

    A romanised variant (``fa-latn``, ``cmn-latn-pinyin``) has none: wordfreq's
    lists are in the language's own script.
    """
    if "-latn" in code:
        return ""
    have = _wordfreq_languages()
    for candidate in (code, _WORDFREQ_ALIASES.get(code, ""), code.split("-")[0],
                      _WORDFREQ_ALIASES.get(code.split("-")[0], "")):
        if candidate in have:
            return candidate
    return ""


def _make(code: str, espeak: str, voice: str = "") -> Language:
    names = espeak_languages()
    voice = voice or _voice_files()[espeak]
    voice = "" if voice == espeak else voice
    base = code.split("-")[0]
    no_spaces = (base in _NO_SPACES or espeak.split("-")[0] in _NO_SPACES) and "-latn" not in code
    spelling = _espeak_spelling().get(espeak, espeak)
    return Language(code, names[espeak], spelling, wordfreq_code(code), voice, spaces=not no_spaces)


@functools.lru_cache(maxsize=1)
def _table() -> dict[str, Language]:
    names = espeak_languages()
    table = {code: _make(code, espeak, voice) for code, (espeak, voice) in _PREFERRED.items() if espeak in names}
    for espeak in sorted(names):
        table.setdefault(espeak, _make(espeak, espeak))
    return dict(sorted(table.items()))


class _Languages(Mapping):
    """``{code: Language}`` for every eSpeak NG language, built on first use."""

    def __getitem__(self, code: str) -> Language:
        return _table()[code]

    def __iter__(self) -> Iterator[str]:
        return iter(_table())

    def __len__(self) -> int:
        return len(_table())


LANGUAGES: Mapping[str, Language] = _Languages()


def _standard_codes(key: str) -> list[str]:
    """eSpeak codes a tag stands for in the IETF standard (``eng`` -> ``en``, ``iw`` -> ``he``, ``nob`` -> ``nb``)."""
    import langcodes

    try:
        tag = langcodes.standardize_tag(key).lower()
    except (ValueError, langcodes.tag_parser.LanguageTagError):
        return []
    return [c for c in dict.fromkeys([tag, tag.split("-")[0], _PREFERRED_BY_ESPEAK.get(tag.split("-")[0], "")])
            if c in LANGUAGES]


def close_matches(code: str, n: int = 5) -> list[str]:
    """Codes that look like ``code``: the language its standard tag names, the same base language, then
    similar codes or names.

    Example:
        >>> close_matches("eng")[0], close_matches("swa")[0], close_matches("iw")[0]
        ('en', 'sw', 'he')
    """
    key = code.strip().lower().replace("_", "-")
    base = key.split("-")[0]
    same = _standard_codes(key) + [c for c in LANGUAGES if c.split("-")[0] == base and c != key]
    by_name = {lang.name.lower(): c for c, lang in LANGUAGES.items()}
    similar = difflib.get_close_matches(key, list(LANGUAGES), n=n, cutoff=0.5)
    named = [by_name[m] for m in difflib.get_close_matches(key, list(by_name), n=n, cutoff=0.6)]
    named += [c for name, c in by_name.items() if len(key) > 3 and key in name]
    return list(dict.fromkeys(same + similar + named))[:n]


def get_language(code: str) -> Language:
    """Look up a language by its code (any eSpeak NG language, or a short code of :data:`_PREFERRED`).

    Raises:
        LanguageError: eSpeak NG has no such language; the message lists close matches.
    """
    try:
        return LANGUAGES[code]
    except KeyError:
        pass
    key = code.strip().lower().replace("_", "-") if isinstance(code, str) else code
    if key in LANGUAGES:
        return LANGUAGES[key]
    matches = close_matches(str(code))
    hint = f"; close matches: {', '.join(f'{c} ({LANGUAGES[c].name})' for c in matches)}" if matches else ""
    raise LanguageError(f"unknown language {str(code)[:40]!r}: eSpeak NG has no such language{hint} "
                        "(`speechtl languages` lists all)") from None


def head_code(typed: str, heads: list[str]) -> str:
    """The language head a typed code names: itself when a head has that name, else its eSpeak code
    (``EN``, ``" en"`` -> ``en``); a code eSpeak lacks comes back as typed (the model's error lists its heads)."""
    if typed in heads:
        return typed
    try:
        return get_language(typed).code
    except LanguageError:
        return typed


def normalise_code(code: str) -> str:
    """``code`` as eSpeak's list writes it when it differs only in case, spaces or ``_`` (``" EN"`` -> ``en``,
    ``pt_BR`` -> ``pt-br``); any other code comes back unchanged (refused later, with close matches)."""
    if not isinstance(code, str):
        return code
    key = code.strip().lower().replace("_", "-")
    return key if key != code and key in LANGUAGES else code  # the list is read only for a code to change
