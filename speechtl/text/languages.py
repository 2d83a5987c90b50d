"""Languages the synthetic corpus and G2P support.

A language is supported when eSpeak NG can speak and phonemise it and wordfreq
has a word list for it. The code users write is the ISO 639-1 code (``en``);
eSpeak sometimes wants a regional voice (``en-us``).
"""

from __future__ import annotations

from dataclasses import dataclass

from speechtl.errors import LanguageError


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-1, as used in recipes and manifests
    name: str
    espeak: str  # phonemizer's eSpeak language
    wordfreq: str  # wordfreq language code
    voice: str = ""  # eSpeak voice name for synthesis, when it differs from ``espeak``

    @property
    def synth_voice(self) -> str:
        return self.voice or self.espeak


_TABLE = [
    Language("en", "English", "en-us", "en"),
    Language("de", "German", "de", "de"),
    Language("fr", "French", "fr-fr", "fr", voice="fr"),
    Language("es", "Spanish", "es", "es"),
    Language("it", "Italian", "it", "it"),
    Language("nl", "Dutch", "nl", "nl"),
    Language("pt", "Portuguese", "pt", "pt"),
    Language("pl", "Polish", "pl", "pl"),
    Language("sv", "Swedish", "sv", "sv"),
    Language("da", "Danish", "da", "da"),
    Language("nb", "Norwegian Bokmål", "nb", "nb"),
    Language("fi", "Finnish", "fi", "fi"),
    Language("cs", "Czech", "cs", "cs"),
    Language("sk", "Slovak", "sk", "sk"),
    Language("sl", "Slovenian", "sl", "sl"),
    Language("hr", "Croatian", "hr", "hr"),
    Language("ro", "Romanian", "ro", "ro"),
    Language("hu", "Hungarian", "hu", "hu"),
    Language("tr", "Turkish", "tr", "tr"),
    Language("id", "Indonesian", "id", "id"),
    Language("ms", "Malay", "ms", "ms"),
    Language("ca", "Catalan", "ca", "ca"),
    Language("lt", "Lithuanian", "lt", "lt"),
    Language("lv", "Latvian", "lv", "lv"),
    Language("is", "Icelandic", "is", "is"),
    Language("ru", "Russian", "ru", "ru"),
    Language("uk", "Ukrainian", "uk", "uk"),
    Language("bg", "Bulgarian", "bg", "bg"),
    Language("el", "Greek", "el", "el"),
]

LANGUAGES: dict[str, Language] = {lang.code: lang for lang in _TABLE}


def get_language(code: str) -> Language:
    """Look up a supported language by its code.

    Raises:
        LanguageError: the code is not supported; the message lists those that are.
    """
    try:
        return LANGUAGES[code]
    except KeyError:
        raise LanguageError(
            f"unsupported language {code!r}; supported: {', '.join(sorted(LANGUAGES))}"
        ) from None
