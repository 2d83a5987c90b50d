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
