"""Lexicon-constrained CTC beam search: torchaudio's ``ctc_decoder`` over flashlight-text.

The search only spells words of the lexicon, so a word never heard in training
is found as soon as the lexicon holds its pronunciation.

Spellings and the word boundary: the model's targets are ``w1 | w2 | w3``,
with the word boundary ``|`` (id 1) between words but not after the last.
``|`` is the decoder's silence token (it may repeat between words and lead the
utterance), and each word is spelled twice: its pronunciation followed by ``|``
(the wav2letter convention) and its bare pronunciation. One frame that is surely
``|`` is appended to every utterance before the search (and dropped from the
result), so the last word can end like the others.

Why both spellings (``word_boundary: optional``, the default): with only the
``|``-terminated one (``required``), a ``|`` the model failed to emit between
two words costs a whole frame's worth of log-probability; with only bare
spellings, flashlight ends a word on the first frame of its last token and
cannot then repeat that token, so a final phoneme held two frames is costly
(both shown on hand-built posteriors in ``tests/decoding/test_lexicon_decoder.py``).
Offering both, the search takes the cheaper. Bare spellings make splitting a
long word into short ones easier, which ``word_score < 0`` (a per-word penalty)
counters; its default was chosen on the synthetic dev split. Heads that never
emit ``|`` (SentencePiece pieces) use ``none``: bare spellings, no appended frame.

Homophones: without a language model, words that share a pronunciation cannot
be told apart, and flashlight would break the tie arbitrarily (differently from
run to run). The decoder therefore keeps each pronunciation for the first word
that lists it (shipped lexicons are in frequency order, so the commoner word);
with a language model every homophone stays and the model chooses.

Other exact ties: one token path split into as many different words (``ab cd`` and
``abc d`` over ``a b c d``) scores alike, and flashlight orders equal hypotheses by
the memory addresses of its trie nodes, so the words it returned changed between
processes (a different ``PYTHONHASHSEED`` changed the demo's French WER*, issue
#27). The search therefore returns a few hypotheses (:data:`TIED`) and, among those
that tie the best score, :func:`best_hypothesis` takes the one whose words come
first in the lexicon (shipped lexicons list the commoner word first).

An optional KenLM word language model (ARPA or binary) adds ``lm_weight`` times
its log-probability; ``word_score`` is added per word (negative: an insertion
penalty). Without a language model every lexicon word is equally likely.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Sequence

import torch

from speechtl.errors import LanguageModelError, LexiconError
from speechtl.decoding.config import DecodeConfig
from speechtl.decoding.decoders import DECODERS, WordHypothesis  # noqa: F401 (WordHypothesis's old home)
from speechtl.text.g2p import WORD_BOUNDARY
from speechtl.text.inventory import BLANK, Inventory
from speechtl.text.lexicon import Lexicon

UNK = "<unk>"
TIED = 8  # hypotheses the search returns at least, so that ties with the best can be seen
TIE = 1e-6  # scores this close are a tie (the same path, summed in another order)


def _load_kenlm_check(path: str) -> None:
    lm = Path(path)
    if not lm.is_file():
        raise LanguageModelError(f"{lm}: no such language model file")
    with open(lm, "rb") as f:
        head = f.read(64)
    # KenLM binaries start with "mmap lm"; ARPA files with a "\data\" section (maybe after blank lines)
    if not (head.startswith(b"mmap lm") or head.lstrip().startswith(b"\\data\\")):
        raise LanguageModelError(f"{lm}: not a KenLM ARPA or binary language model")


def checked_tokens(tokens: Sequence[str], lexicon: Lexicon) -> list[str]:
    """``tokens`` as a list, once they start with blank and ``|`` and ``lexicon`` is non-empty and spelt in them.

    Raises:
        ValueError: the tokens do not start with blank and the word boundary.
        LexiconError: the lexicon is empty or uses a symbol the tokens lack (line and symbol named).
    """
    tokens = list(tokens)
    if tokens[:2] != [BLANK, WORD_BOUNDARY]:
        raise ValueError(f"tokens must start with {BLANK!r}, {WORD_BOUNDARY!r}; got {tokens[:2]}")
    if len(lexicon) == 0:
        raise LexiconError("the lexicon is empty: there is no word to recognise")
    lexicon.validate(Inventory.from_tokens(tokens))
    return tokens


@DECODERS.register("beam")
class LexiconDecoder:
    """Beam search over a lexicon for one output head.

    Args:
        tokens: the head's symbols, blank first and ``|`` second (an :class:`Inventory`'s tokens).
        lexicon: words and their spellings in ``tokens``.
        config: beam and language-model settings.
        word_boundary: ``optional`` / ``required`` / ``none`` (see the module docstring);
            ``None`` takes ``config.word_boundary``.
        nbest: hypotheses the search returns; above 1 each result's ``margin`` says how far
            the best word sequence beats the runner-up with other words (a confidence).

    Raises:
        LexiconError: the lexicon is empty or spells a word with a symbol not in ``tokens``
            (the message names the line and symbol).
        LanguageModelError: ``config.lm`` is missing or not a KenLM model.

    Example:
        >>> tokens = ["<blank>", "|", "a", "b"]
        >>> lexicon = Lexicon.from_mapping({"ab": ["a", "b"], "ba": ["b", "a"]})
        >>> frames = torch.tensor([2, 0, 3, 0])                # a, blank, b, blank
        >>> log_probs = torch.full((1, 4, 4), -10.0).scatter(2, frames.view(1, 4, 1), 0.0)
        >>> LexiconDecoder(tokens, lexicon)(log_probs)[0].words  # log_probs: (batch, time, len(tokens))
        ['ab']
    """

    spells_words = True  # a Decoder (speechtl.decoding.decoders) of words

    def __init__(self, tokens: Sequence[str], lexicon: Lexicon, config: DecodeConfig | None = None,
                 word_boundary: str | None = None, nbest: int = 1) -> None:
        from torchaudio.models.decoder import ctc_decoder

        self.config = config or DecodeConfig()
        self.tokens = checked_tokens(tokens, lexicon)
        self.lexicon = lexicon
        cfg = self.config
        self.word_boundary = word_boundary or cfg.word_boundary
        if self.word_boundary not in ("optional", "required", "none"):
            raise ValueError(f"word_boundary must be optional, required or none, got {self.word_boundary!r}")
        if cfg.lm:
            _load_kenlm_check(cfg.lm)
        with tempfile.TemporaryDirectory(prefix="speechtl-lex-") as tmp:
            path = Path(tmp) / "lexicon.txt"
            spellings = {"optional": (f" {WORD_BOUNDARY}", ""), "required": (f" {WORD_BOUNDARY}",), "none": ("",)}
            entries = list(lexicon.items()) if cfg.lm else first_word_per_pronunciation(lexicon)
            self._rank = {w: i for i, w in enumerate(dict.fromkeys(w for w, _ in entries))}
            self.nbest = nbest
            lines = [f"{w} {' '.join(p)}{end}\n" for end in spellings[self.word_boundary] for w, p in entries]
            path.write_text("".join(lines), encoding="utf-8")
            try:
                self._decoder = ctc_decoder(
                    lexicon=str(path), tokens=self.tokens, lm=cfg.lm or None, nbest=max(nbest, TIED),
                    beam_size=cfg.beam_size,
                    beam_size_token=cfg.beam_size_token or None, beam_threshold=cfg.beam_threshold,
                    lm_weight=cfg.lm_weight, word_score=cfg.word_score, sil_score=cfg.sil_score,
                    blank_token=BLANK, sil_token=WORD_BOUNDARY, unk_word=UNK,
                )
            except RuntimeError as err:  # KenLM's loader reports a corrupt file this way
                if cfg.lm:
                    raise LanguageModelError(f"{cfg.lm}: cannot load the language model: {err}") from None
                raise

    def __call__(self, log_probs: torch.Tensor, lengths: torch.Tensor | None = None) -> list[WordHypothesis]:
        """Decode a batch.

        Args:
            log_probs: ``(batch, time, len(tokens))`` log-probabilities (any device and dtype).
            lengths: ``(batch,)`` valid frames; ``None`` when all are full length.

        Returns:
            One :class:`WordHypothesis` per utterance (no words for empty input).
        """
        if log_probs.ndim != 3 or log_probs.shape[-1] != len(self.tokens):
            raise ValueError(f"expected (batch, time, {len(self.tokens)}) log-probs, got {tuple(log_probs.shape)}")
        emissions = log_probs.detach().to("cpu", torch.float32).contiguous()
        batch, frames, _ = emissions.shape
        lengths = torch.full((batch,), frames) if lengths is None else lengths.detach().cpu()
        out = [WordHypothesis([], [], 0.0) for _ in range(batch)]
        live = [b for b in range(batch) if int(lengths[b]) > 0]
        if not live:
            return out
        emissions, lengths = emissions[live], lengths[live]
        if self.word_boundary != "none":
            emissions, lengths = append_boundary_frame(emissions, lengths)
        results = self._decoder(emissions.contiguous(), lengths.to(torch.int32))
        for b, hyps in zip(live, results):
            out[b] = best_hypothesis(hyps, self._rank, self.nbest > 1)
        return out

    # ------------------------------------------------ incremental search (streaming)
    def begin(self) -> None:
        """Start an incremental search: :meth:`step` over pieces, then :meth:`end`.

        The steps see the frames :meth:`__call__` would see at once, so the result is the same.
        One decoder runs one search at a time (incremental or not).
        """
        self._decoder.decode_begin()
        self._frames = 0

    def step(self, log_probs: torch.Tensor) -> None:
        """Search the next ``(time, len(tokens))`` frames."""
        if log_probs.ndim != 2 or log_probs.shape[-1] != len(self.tokens):
            raise ValueError(f"expected (time, {len(self.tokens)}) log-probs, got {tuple(log_probs.shape)}")
        if log_probs.shape[0]:
            self._decoder.decode_step(log_probs.detach().to("cpu", torch.float32).contiguous())
            self._frames += log_probs.shape[0]

    def partial(self) -> list[str]:
        """The words of the best hypothesis so far (complete words only)."""
        if not self._frames:
            return []
        best = self._decoder.decoder.get_best_hypothesis()
        return [w for w in (self._decoder.word_dict.get_entry(x) for x in best.words if x >= 0) if w != UNK]

    def end(self) -> WordHypothesis:
        """Finish the incremental search: the best word sequence of all the frames stepped."""
        if not self._frames:
            self._decoder.decode_end()
            return WordHypothesis([], [], 0.0)
        if self.word_boundary != "none":
            closing = torch.full((1, len(self.tokens)), -1e4)
            closing[0, 1] = 0.0
            self._decoder.decode_step(closing)
        self._decoder.decode_end()
        return best_hypothesis(self._decoder.get_final_hypothesis(), self._rank, self.nbest > 1)


def best_hypothesis(hyps, rank: dict[str, int] | None = None, margin: bool = True) -> WordHypothesis:
    """The best of flashlight's hypotheses, without ``|`` at its ends and ``<unk>`` words.

    Args:
        hyps: flashlight's hypotheses, best first.
        rank: each word's place in the lexicon; among hypotheses that tie the best score,
            the one whose words come first wins (not the one flashlight happened to put first).
        margin: give the score gap to the best hypothesis with other words (else ``inf``).
    """
    if not hyps:
        return WordHypothesis([], [], 0.0)
    best = hyps[0]
    if rank is not None:
        tied = [h for h in hyps if h.score >= best.score - TIE]
        best = min(tied, key=lambda h: [rank.get(w, len(rank)) for w in h.words])
    tokens = [int(t) for t in best.tokens]
    while tokens and tokens[0] == 1:  # flashlight's start state and our closing frame
        tokens.pop(0)
    while tokens and tokens[-1] == 1:
        tokens.pop()
    words = [w for w in best.words if w != UNK]
    rival = next((h for h in hyps if h is not best and [w for w in h.words if w != UNK] != words), None)
    gap = math.inf if rival is None or not margin else max(0.0, float(best.score - rival.score))
    return WordHypothesis(words, tokens, float(best.score), gap)


def first_word_per_pronunciation(lexicon: Lexicon) -> list[tuple[str, tuple[str, ...]]]:
    """``(word, pronunciation)`` pairs in lexicon order, each pronunciation only for its first word."""
    seen: set[tuple[str, ...]] = set()
    out = []
    for word, pron in lexicon.items():
        if pron not in seen:
            seen.add(pron)
            out.append((word, pron))
    return out


def append_boundary_frame(log_probs: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Add one frame after each utterance where the word boundary (id 1) is certain.

    Args:
        log_probs: ``(batch, time, classes)``; lengths ``(batch,)``.

    Returns:
        ``(batch, time + 1, classes)`` log-probs and lengths + 1.
    """
    batch, frames, classes = log_probs.shape
    out = log_probs.new_full((batch, frames + 1, classes), -1e4)
    out[:, :frames] = log_probs
    rows = torch.arange(batch)
    out[rows, lengths.long()] = -1e4
    out[rows, lengths.long(), 1] = 0.0
    return out, lengths + 1


def decode_lexicon(log_probs: torch.Tensor, lengths: torch.Tensor | None, tokens: Sequence[str],
                   lexicon: Lexicon, config: DecodeConfig | None = None, word_boundary: str | None = None
                   ) -> list[list[str]]:
    """Functional form: the best word sequence per utterance (builds a decoder each call)."""
    return [h.words for h in LexiconDecoder(tokens, lexicon, config, word_boundary)(log_probs, lengths)]
