"""Decoding modes: one :class:`Decoder` protocol, and the registry of its kinds by mode name.

A decoder turns CTC log-probabilities of one head into :class:`WordHypothesis` es, a batch at
once (``decoder(log_probs, lengths)``) or incrementally over the pieces of a stream
(``begin`` / ``step`` / ``partial`` / ``end``, the same result as at once). The modes
(:data:`DECODERS`):

* ``beam``: the lexicon-constrained beam search (:class:`~speechtl.decoding.lexicon_decoder.LexiconDecoder`);
* ``isolated``: the best word of the list for each recording, never nothing
  (:class:`~speechtl.decoding.isolated.IsolatedWordDecoder`, ``decode.isolated``);
* ``greedy``: the best path, no word search (:class:`~speechtl.decoding.greedy.GreedyDecoder`, ``--greedy``).

Streaming is not a search of its own: a stream (:mod:`speechtl.decoding.streaming`) feeds its
frames to the chosen decoder's incremental half. Each mode's module registers its class (this
module imports none of them); :func:`~speechtl.decoding.isolated.word_decoder`, whose module
imports them all, builds the one a ``decode`` section (or a mode name) asks for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch

from speechtl.decoding.config import DecodeConfig
from speechtl.registry import Registry


@dataclass
class WordHypothesis:
    """The best word sequence for one utterance."""

    words: list[str]
    tokens: list[int]  # token ids of its CTC path: repeats merged, blanks dropped, "|" kept
    score: float  # acoustic + weighted LM + word scores (log domain)
    margin: float = math.inf  # score minus that of the best other word sequence (with nbest > 1)


@runtime_checkable
class Decoder(Protocol):
    """What every decoding mode does (built as ``kind(tokens, lexicon, config, word_boundary, nbest)``)."""

    spells_words: bool  # False: token paths only (greedy), so "no words" is not worth a note

    def __call__(self, log_probs: torch.Tensor, lengths: torch.Tensor | None = None) -> list[WordHypothesis]:
        """One hypothesis per utterance of ``(batch, time, len(tokens))`` log-probs; ``lengths``: ``(batch,)``."""

    def begin(self) -> None:
        """Start an incremental search."""

    def step(self, log_probs: torch.Tensor) -> None:
        """Search the next ``(time, len(tokens))`` frames."""

    def partial(self) -> list[str]:
        """The words found so far."""

    def end(self) -> WordHypothesis:
        """The best hypothesis of every frame stepped."""


DECODERS: Registry = Registry("decoding mode")


def decoding_mode(config: DecodeConfig | None = None, greedy: bool = False) -> str:
    """The mode a ``decode`` section (and ``--greedy``) asks for: ``greedy``, ``isolated`` or ``beam``."""
    if greedy:
        return "greedy"
    return "isolated" if config is not None and config.isolated else "beam"

