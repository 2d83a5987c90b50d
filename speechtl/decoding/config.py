"""The ``decode`` section of a speech recipe: lexicon-constrained CTC beam search settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from speechtl.errors import RecipeError


@dataclass
class DecodeConfig:
    """Lexicon-constrained CTC beam search (torchaudio's flashlight-text decoder)."""

    beam_size: int = 50  # hypotheses kept after each frame
    beam_size_token: int = 0  # tokens tried per frame, most probable first (0: all)
    beam_threshold: float = 25.0  # drop hypotheses this far (log-prob) below the best
    lm: str = ""  # optional KenLM word language model (ARPA or binary); "" for none
    lm_weight: float = 2.0  # weight of the language-model log-probability (with lm)
    word_score: float = -4.0  # added per word: < 0 penalises splitting into short words (chosen on dev)
    sil_score: float = -2.0  # added per word-boundary ("|") frame (chosen on dev)
    word_boundary: Literal["optional", "required"] = "optional"  # must "|" separate words? (lexicon_decoder.py)
    chunk_seconds: float = 30.0  # longer audio is decoded in pieces cut at quiet points
    words: list[str] = field(default_factory=list)  # closed vocabulary: evaluation decodes with just these words (G2P); [] = the corpus lexicon

    def validate(self) -> None:
        if self.beam_size < 1 or self.beam_size_token < 0 or self.beam_threshold <= 0:
            raise RecipeError("decode: beam_size must be >= 1, beam_size_token >= 0, beam_threshold > 0")
        if self.chunk_seconds < 1:
            raise RecipeError("decode.chunk_seconds: expected at least 1 second")
