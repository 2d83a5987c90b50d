"""Isolated-word decoding: each recording holds exactly one word of a closed list.

Commands and digits are said one per recording. The lexicon beam search
(:class:`~speechtl.decoding.lexicon_decoder.LexiconDecoder`) may then return
*nothing*: when the network's outputs are dominated by blank (a head trained on
little or mismatched audio), the all-blank path beats every one-word path once
``word_score`` (a per-word penalty chosen for sentences) is added. For a
recording known to hold one word of the list, no word is never the right
answer, so :class:`IsolatedWordDecoder` scores every word's pronunciation
against the whole recording with the CTC forward algorithm and returns the best
one (``decode.isolated: true``).

Each word is scored as ``log P(pronunciation | frames)`` summed over all CTC
alignments, with the word boundary ``|`` counted as blank (a model trained on
sentences emits ``|`` in pauses; an isolated word has none to spell), so a word
is never penalised for its length in words and ``word_score`` / ``sil_score`` do
not apply. Homophones keep their first word (as the beam search does).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from speechtl.decoding import greedy  # noqa: F401 (registers the greedy mode, for word_decoder)
from speechtl.decoding.config import DecodeConfig
from speechtl.decoding.decoders import DECODERS, Decoder, WordHypothesis, decoding_mode
from speechtl.decoding.lexicon_decoder import checked_tokens, first_word_per_pronunciation  # registers beam
from speechtl.errors import LexiconError
from speechtl.text.g2p import WORD_BOUNDARY
from speechtl.text.lexicon import Lexicon


def word_log_likelihoods(log_probs: torch.Tensor, length: int, targets: list[list[int]]) -> torch.Tensor:
    """``log P(target | frames)`` of each target under CTC, ``|`` (id 1) merged into blank (id 0).

    Args:
        log_probs: ``(time, classes)`` log-probabilities of one utterance.
        length: its valid frames.
        targets: token ids of each candidate (no blank, no ``|``).

    Returns:
        ``(len(targets),)``; ``-inf`` for a word longer than the recording can spell.
    """
    lp = log_probs[:length].float()
    merged = torch.cat([torch.logaddexp(lp[:, :1], lp[:, 1:2]), lp[:, 1:]], dim=1)
    merged[:, 1] = -math.inf  # | is already counted in the blank column
    n = len(targets)
    padded = torch.zeros(n, max(len(t) for t in targets), dtype=torch.long)
    for i, t in enumerate(targets):
        padded[i, :len(t)] = torch.tensor(t)
    batch = merged.unsqueeze(1).expand(-1, n, -1)
    loss = F.ctc_loss(batch, padded, torch.full((n,), length, dtype=torch.long),
                      torch.tensor([len(t) for t in targets]), blank=0, reduction="none", zero_infinity=False)
    return -loss


@DECODERS.register("isolated")
class IsolatedWordDecoder:
    """The best word of the lexicon for each recording (never an empty transcript).

    The same calls as :class:`~speechtl.decoding.lexicon_decoder.LexiconDecoder`
    (a batch at once, or ``begin`` / ``step`` / ``end`` over the pieces of a stream,
    whose frames are kept and scored at ``end``); ``word_boundary`` and ``nbest`` are
    accepted for that signature and not needed (``|`` counts as blank; the margin to the
    second-best word is always given).

    Example:
        >>> tokens = ["<blank>", "|", "a", "b"]
        >>> lexicon = Lexicon.from_mapping({"ab": ["a", "b"], "ba": ["b", "a"]})
        >>> frames = torch.tensor([0, 3, 0, 0])              # blank, b, blank, blank: weak evidence
        >>> log_probs = torch.full((1, 4, 4), -4.0).scatter(2, frames.view(1, 4, 1), -0.1)
        >>> IsolatedWordDecoder(tokens, lexicon)(log_probs)[0].words
        ['ba']
    """

    spells_words = True  # a Decoder (speechtl.decoding.decoders) of words

    def __init__(self, tokens: Sequence[str], lexicon: Lexicon, config: DecodeConfig | None = None,
                 word_boundary: str | None = None, nbest: int = 1) -> None:
        self.config = config or DecodeConfig()
        self.tokens = checked_tokens(tokens, lexicon)
        self.lexicon = lexicon
        index = {t: i for i, t in enumerate(self.tokens)}
        entries = [(w, [index[p] for p in pron if p != WORD_BOUNDARY]) for w, pron in first_word_per_pronunciation(lexicon)]
        self.words = [w for w, ids in entries if ids]
        self.targets = [ids for _, ids in entries if ids]
        if not self.targets:
            raise LexiconError("the lexicon has no pronounced word to recognise")
        self._pieces: list[torch.Tensor] = []

    def __call__(self, log_probs: torch.Tensor, lengths: torch.Tensor | None = None) -> list[WordHypothesis]:
        """One :class:`WordHypothesis` per utterance of ``(batch, time, len(tokens))`` log-probs (no words for empty input)."""
        if log_probs.ndim != 3 or log_probs.shape[-1] != len(self.tokens):
            raise ValueError(f"expected (batch, time, {len(self.tokens)}) log-probs, got {tuple(log_probs.shape)}")
        emissions = log_probs.detach().to("cpu", torch.float32)
        batch, frames, _ = emissions.shape
        lengths = torch.full((batch,), frames) if lengths is None else lengths.detach().cpu()
        return [self._best(emissions[b], int(lengths[b])) for b in range(batch)]

    def _best(self, log_probs: torch.Tensor, length: int) -> WordHypothesis:
        if length <= 0:
            return WordHypothesis([], [], 0.0)
        scores = word_log_likelihoods(log_probs, length, self.targets)
        if not torch.isfinite(scores).any():  # shorter than every word: the fewest tokens
            scores = -torch.tensor([float(len(t)) for t in self.targets])
        order = torch.argsort(scores, descending=True)
        best = int(order[0])
        margin = float(scores[best] - scores[int(order[1])]) if len(order) > 1 else math.inf
        return WordHypothesis([self.words[best]], list(self.targets[best]), float(scores[best]), margin)

    # the incremental calls of LexiconDecoder: the whole recording is needed, so pieces are kept
    def begin(self) -> None:
        self._pieces = []

    def step(self, log_probs: torch.Tensor) -> None:
        if log_probs.ndim != 2 or log_probs.shape[-1] != len(self.tokens):
            raise ValueError(f"expected (time, {len(self.tokens)}) log-probs, got {tuple(log_probs.shape)}")
        self._pieces.append(log_probs.detach().to("cpu", torch.float32))

    def partial(self) -> list[str]:
        return []  # one word per recording: known at the end

    def end(self) -> WordHypothesis:
        frames = torch.cat(self._pieces) if self._pieces else torch.zeros(0, len(self.tokens))
        self._pieces = []
        return self._best(frames, frames.shape[0])


def word_decoder(tokens: Sequence[str], lexicon: Lexicon | None, config: DecodeConfig | None = None,
                 word_boundary: str | None = None, nbest: int = 1, mode: str | None = None) -> Decoder:
    """The decoder of ``mode`` (by default the one ``config`` asks for, :func:`decoding_mode`) for one head.

    Every mode of :data:`~speechtl.decoding.decoders.DECODERS` is registered here: this module
    defines ``isolated`` and imports the modules of ``beam`` and ``greedy``.

    Raises:
        RecipeError: ``mode`` is not a decoding mode (the message lists those there are).
    """
    kind = DECODERS.get(mode or decoding_mode(config))
    return kind(tokens, lexicon, config, word_boundary, nbest)
