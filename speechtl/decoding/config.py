"""The ``decode`` section of a speech recipe: lexicon-constrained CTC beam search settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from speechtl.config import from_dict, ranged
from speechtl.errors import CheckpointError, RecipeError


@dataclass
class DecodeConfig:
    """Lexicon-constrained CTC beam search (torchaudio's flashlight-text decoder)."""

    beam_size: int = ranged(50, "[1, inf)")  # hypotheses kept after each frame
    beam_size_token: int = ranged(0, "[0, inf)")  # tokens tried per frame, most probable first (0: all)
    beam_threshold: float = ranged(25.0, "(0, inf)")  # drop hypotheses this far (log-prob) below the best
    lm: str = ""  # optional KenLM word language model (ARPA or binary); "" for none
    lm_weight: float = ranged(2.0, "[0, inf)")  # weight of the language-model log-probability (with lm)
    word_score: float = -4.0  # added per word: < 0 penalises splitting into short words (chosen on dev)
    sil_score: float = -2.0  # added per word-boundary ("|") frame (chosen on dev)
    word_boundary: Literal["optional", "required"] = "optional"  # must "|" separate words? (lexicon_decoder.py)
    chunk_seconds: float = ranged(30.0, "[1, 3600]")  # longer audio is decoded in pieces cut at quiet points
    vad: Literal["auto", "on", "off"] = "auto"  # pieces at speech boundaries (data/vad.py); auto: recordings over 30 s
    amp: bool = False  # bfloat16 autocast for the network on CUDA (speechtl.models.precision); the search stays float32
    isolated: bool = False  # each recording holds exactly one word of the list (commands, digits): the best word, never nothing (isolated.py)
    words: list[str] = field(default_factory=list)  # closed vocabulary: evaluation decodes with just these words (G2P); [] = the corpus lexicon


def stored_decode_config(meta: dict, source: str = "model") -> DecodeConfig:
    """The ``decode`` section saved with a model (format version 1: inside its recipe)."""
    section = meta.get("decode", meta.get("recipe", {}).get("decode", {}))
    try:
        return from_dict(DecodeConfig, section, "decode")
    except RecipeError as err:
        raise CheckpointError(f"{source}: malformed decode settings: {err}") from None
