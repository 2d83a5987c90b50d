"""The ``units`` section of a speech recipe: what the CTC heads output."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from speechtl.config import ranged


@dataclass
class UnitConfig:
    """What the CTC heads output."""

    kind: Literal["phoneme", "subword"] = "phoneme"  # phonemes (lexicon decoding) or SentencePiece pieces
    subword_vocab: int = ranged(256, "[2, inf)")  # SentencePiece pieces per language (kind: subword)
    subword_model: Literal["unigram", "bpe"] = "unigram"  # SentencePiece algorithm (kind: subword)
