"""Error rates with jiwer: phoneme error rate over phoneme tokens, word error rate over words."""

from __future__ import annotations

from dataclasses import dataclass

import jiwer

from speechtl.text.g2p import WORD_BOUNDARY
from speechtl.text.normalize import nfc


def strip_boundaries(phonemes: str | list[str]) -> str:
    """Phoneme string without word-boundary symbols (PER counts phonemes only)."""
    tokens = phonemes.split() if isinstance(phonemes, str) else phonemes
    return " ".join(t for t in tokens if t != WORD_BOUNDARY)


@dataclass
class ErrorCounts:
    """Edit operations summed over utterances; ``rate`` = (S + D + I) / N."""

    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0
    reference_length: int = 0
    utterances: int = 0

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float:
        return self.errors / max(1, self.reference_length)

    def as_dict(self) -> dict:
        return {"rate": self.rate, "errors": self.errors, "substitutions": self.substitutions,
                "deletions": self.deletions, "insertions": self.insertions,
                "reference_length": self.reference_length, "utterances": self.utterances}


def error_counts(references: list[str], hypotheses: list[str]) -> ErrorCounts:
    """Token error counts (tokens = whitespace-separated) with jiwer.

    An empty reference contributes its hypothesis tokens as insertions.
    """
    references, hypotheses = [nfc(r) for r in references], [nfc(h) for h in hypotheses]
    counts = ErrorCounts(utterances=len(references))
    pairs = [(r, h) for r, h in zip(references, hypotheses) if r.strip()]
    for r, h in zip(references, hypotheses):
        if not r.strip():
            counts.insertions += len(h.split())
    if pairs:
        out = jiwer.process_words([r for r, _ in pairs], [h for _, h in pairs])
        counts.substitutions += out.substitutions
        counts.deletions += out.deletions
        counts.insertions += out.insertions
        counts.reference_length += sum(len(r.split()) for r, _ in pairs)
    return counts


def phoneme_error_rate(references: list[str], hypotheses: list[str]) -> ErrorCounts:
    """PER over phoneme tokens, word boundaries ignored."""
    return error_counts([strip_boundaries(r) for r in references], [strip_boundaries(h) for h in hypotheses])
