"""Errors a user can cause.

Every error raised for bad input derives from :class:`SpeechtlError`; the CLI
prints its message (which names the file, line, key or symbol) instead of a
traceback.
"""


class SpeechtlError(Exception):
    """Base class for errors caused by user input."""


class RecipeError(SpeechtlError):
    """A recipe file or override is malformed (unknown key, wrong type)."""


class AudioError(SpeechtlError):
    """An audio file is missing, unreadable, empty or corrupt."""


class LanguageError(SpeechtlError):
    """A language code is unsupported or the model has no head for it."""


class LexiconError(SpeechtlError):
    """A lexicon line is malformed or uses a symbol the model does not know."""


class LanguageModelError(SpeechtlError):
    """A word language model file (KenLM ARPA or binary) is missing or unreadable."""


class CheckpointError(SpeechtlError):
    """A model or checkpoint file is missing, truncated or not ours."""


class ManifestError(SpeechtlError):
    """A manifest is missing, malformed or refers to unknown symbols."""


class OutputError(SpeechtlError):
    """An output cannot be written (disk full, no permission), would replace an input, or its folder is in use."""


def shorten(text: object, limit: int = 80) -> str:
    """``str(text)`` cut to ``limit`` characters (a middle ellipsis says how much was left out).

    Every message that shows a user's value goes through this, so a hostile
    value (a megabyte-long string, an expanded YAML anchor) cannot flood the terminal.
    """
    text = str(text)
    if len(text) <= limit:
        return text
    keep = max(limit - 20, 10)
    return f"{text[: keep // 2]}...<{len(text) - keep} more characters>...{text[len(text) - keep // 2:]}"
