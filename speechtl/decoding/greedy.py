"""Greedy (best-path) CTC decoding: the ``greedy`` decoding mode (phonemes, no word search)."""

from __future__ import annotations

from typing import Sequence

import torch

from speechtl.decoding.config import DecodeConfig
from speechtl.decoding.decoders import DECODERS, WordHypothesis
from speechtl.text.inventory import BLANK
from speechtl.text.lexicon import Lexicon


def ctc_greedy(log_probs: torch.Tensor, lengths: torch.Tensor, blank: int = 0) -> list[list[int]]:
    """Best path: argmax per frame, merge repeats, drop blanks.

    Args:
        log_probs: ``(batch, time, classes)``.
        lengths: ``(batch,)`` valid frames.

    Returns:
        One list of symbol ids per utterance.
    """
    best = log_probs.argmax(-1).cpu()
    out = []
    for path, n in zip(best, lengths.cpu()):
        path = torch.unique_consecutive(path[: int(n)])
        out.append([int(i) for i in path if i != blank])
    return out


@DECODERS.register("greedy")
class GreedyDecoder:
    """The best path as a :class:`~speechtl.decoding.decoders.Decoder`: token ids, no words.

    The lexicon and search settings are accepted for the decoders' common signature and not used.
    The score is the path's log-probability (the best class's, summed over the frames).

    Example:
        >>> log_probs = torch.log(torch.tensor([[[0.1, 0.1, 0.8], [0.1, 0.1, 0.8], [0.9, 0.05, 0.05]]]))
        >>> GreedyDecoder(["<blank>", "|", "a"])(log_probs)[0].tokens
        [2]
    """

    spells_words = False

    def __init__(self, tokens: Sequence[str], lexicon: Lexicon | None = None, config: DecodeConfig | None = None,
                 word_boundary: str | None = None, nbest: int = 1) -> None:
        self.tokens = list(tokens)
        self.blank = self.tokens.index(BLANK) if BLANK in self.tokens else 0
        self._pieces: list[torch.Tensor] = []

    def __call__(self, log_probs: torch.Tensor, lengths: torch.Tensor | None = None) -> list[WordHypothesis]:
        """One token-only :class:`WordHypothesis` per utterance of ``(batch, time, classes)`` log-probs."""
        batch, frames = log_probs.shape[:2]
        lengths = torch.full((batch,), frames) if lengths is None else lengths.detach().cpu()
        best = log_probs.detach().float().cpu().max(-1).values
        scores = [float(best[b, : int(lengths[b])].sum()) for b in range(batch)]
        return [WordHypothesis([], ids, score)
                for ids, score in zip(ctc_greedy(log_probs, lengths, self.blank), scores)]

    # incremental calls, as the word decoders': the path is known at the end
    def begin(self) -> None:
        self._pieces = []

    def step(self, log_probs: torch.Tensor) -> None:
        self._pieces.append(log_probs.detach().to("cpu", torch.float32))

    def partial(self) -> list[str]:
        return []

    def end(self) -> WordHypothesis:
        frames = torch.cat(self._pieces) if self._pieces else torch.zeros(0, len(self.tokens))
        self._pieces = []
        return self(frames[None])[0]
