"""SentencePiece subword units: the word-free baseline's output symbols.

A subword model spells words with pieces learnt from the training transcripts
(``▁`` marks the start of a word), so it needs no pronunciation lexicon; the
price is that a word never seen in training must be spelled from pieces, which
is what the zero-shot benchmark compares against phonemes + lexicon.

One SentencePiece model per language, trained in memory on that language's
training texts. Its serialized form travels in the acoustic model's JSON
metadata (base64), so lexicon words can be spelled later without the corpus.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable


PIECE_WORD_START = "\u2581"  # SentencePiece's word-start marker "▁"


def train_sentencepiece(texts: Iterable[str], vocab_size: int, model_type: str = "unigram") -> bytes:
    """Train a SentencePiece model on texts; returns the serialized model.

    ``vocab_size`` is capped at what the texts support (SentencePiece refuses more).
    Training is single-threaded and seeded, so the same texts give the same model.
    """
    import sentencepiece as spm

    texts = [t for t in texts if t.strip()]
    if not texts:
        raise ValueError("no training text for SentencePiece")
    # unigram needs vocab_size <= the number of distinct candidate pieces; be generous but safe
    chars = len({c for t in texts for c in t.replace(" ", "")})
    words = len({w for t in texts for w in t.split()})
    size = max(chars + 4, min(vocab_size, chars + 2 * words))
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts), model_writer=model, vocab_size=size, model_type=model_type,
        character_coverage=1.0, num_threads=1, hard_vocab_limit=False, bos_id=-1, eos_id=-1,
        unk_id=0, minloglevel=2,
    )
    return model.getvalue()


def processor(model: bytes):
    """A SentencePieceProcessor for a serialized model."""
    import sentencepiece as spm

    return spm.SentencePieceProcessor(model_proto=model)


def encode(model, text: str) -> list[str]:
    """Pieces of ``text`` (``model``: a processor or serialized bytes)."""
    sp = processor(model) if isinstance(model, bytes) else model
    return sp.encode(text, out_type=str)


def pieces_to_text(pieces: Iterable[str]) -> str:
    """Words from pieces: concatenate, split at word-start markers."""
    return " ".join("".join(pieces).replace(PIECE_WORD_START, " ").split())


def to_base64(model: bytes) -> str:
    return base64.b64encode(model).decode("ascii")


def from_base64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"))
