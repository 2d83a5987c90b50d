"""Phoneme inventories: the output symbols of one language's CTC head."""

from __future__ import annotations

from collections.abc import Iterable

from speechtl.errors import ManifestError
from speechtl.text.g2p import WORD_BOUNDARY

BLANK = "<blank>"


class Inventory:
    """An ordered symbol set: CTC blank at index 0, the word boundary ``|`` at 1, then phonemes.

    Example:
        >>> inv = Inventory.from_transcripts(["h ə l oʊ | w ɜː l d"])
        >>> inv.tokens[:4]
        ['<blank>', '|', 'd', 'h']
        >>> inv.encode("h ə l oʊ")
        [3, 7, 4, 5]
    """

    def __init__(self, phonemes: Iterable[str]) -> None:
        phones = sorted(set(phonemes) - {BLANK, WORD_BOUNDARY})
        self.tokens: list[str] = [BLANK, WORD_BOUNDARY] + phones
        self.index = {t: i for i, t in enumerate(self.tokens)}

    @classmethod
    def from_transcripts(cls, transcripts: Iterable[str]) -> "Inventory":
        """The inventory of all symbols in space-separated phoneme strings."""
        symbols: set[str] = set()
        for line in transcripts:
            symbols.update(line.split())
        return cls(symbols)

    @classmethod
    def from_tokens(cls, tokens: list[str]) -> "Inventory":
        """Rebuild from :attr:`tokens` (as stored in a model file); the order must be ours."""
        inv = cls(tokens)
        if inv.tokens != list(tokens):
            raise ValueError("token list is not in speechtl inventory order")
        return inv

    @property
    def blank(self) -> int:
        return 0

    @property
    def boundary(self) -> int:
        return 1

    @property
    def phonemes(self) -> list[str]:
        """The phoneme symbols (no blank, no word boundary)."""
        return self.tokens[2:]

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, symbol: str) -> bool:
        return symbol in self.index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Inventory) and other.tokens == self.tokens

    def encode(self, phonemes: str | list[str], source: str = "transcript") -> list[int]:
        """Symbol ids of a phoneme string or list.

        Raises:
            ManifestError: a symbol is not in the inventory (named, with ``source``).
        """
        symbols = phonemes.split() if isinstance(phonemes, str) else phonemes
        try:
            return [self.index[s] for s in symbols]
        except KeyError as err:
            raise ManifestError(
                f"{source}: phoneme {err.args[0]!r} is not in the inventory "
                f"({' '.join(self.phonemes)})"
            ) from None

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.tokens[i] for i in ids]
