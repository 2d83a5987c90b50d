"""Word start and end times by CTC forced alignment (``torchaudio.functional.forced_align``).

The decoder's best path (its phonemes, with ``|`` between words where it put
them) is aligned to the frame log-probabilities; each word spans from the first
frame of its first phoneme to the last frame of its last phoneme.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch

from speechtl.text.lexicon import Lexicon


@dataclass
class WordSegment:
    """One recognised word with its time span in seconds."""

    word: str
    start: float
    end: float
    phonemes: list[str] = field(default_factory=list)
    confidence: float = 0.0  # mean posterior of its phonemes' frames, 0..1

    def as_dict(self) -> dict:
        return {"word": self.word, "start": round(self.start, 3), "end": round(self.end, 3),
                "phonemes": " ".join(self.phonemes), "confidence": round(self.confidence, 3)}


def split_pronunciations(words: Sequence[str], phonemes: Sequence[str], lexicon: Lexicon) -> list[tuple[str, ...]] | None:
    """Which pronunciation of each word spells ``phonemes`` (the words' phonemes, concatenated).

    Returns:
        One pronunciation per word, or ``None`` when the lexicon cannot spell the sequence.
    """
    def solve(i: int, pos: int) -> list[tuple[str, ...]] | None:
        if i == len(words):
            return [] if pos == len(phonemes) else None
        # longest first: the decoder's words are consecutive, so a prefix reading is the rarer one
        for pron in sorted(lexicon.pronunciations(words[i]), key=len, reverse=True):
            if tuple(phonemes[pos : pos + len(pron)]) == pron:
                rest = solve(i + 1, pos + len(pron))
                if rest is not None:
                    return [pron] + rest
        return None

    return solve(0, 0)


def align_words(log_probs: torch.Tensor, words: Sequence[str], path: Sequence[int], tokens: Sequence[str],
                lexicon: Lexicon, frame_seconds: float, offset: float = 0.0, boundary: int = 1,
                blank: int = 0) -> list[WordSegment]:
    """Time spans of decoded words.

    Args:
        log_probs: ``(time, classes)`` of one utterance (valid frames only).
        words: the decoded words.
        path: the decoder's token ids for them (blanks dropped, ``|`` between words where emitted).
        tokens: symbol of each class id.
        lexicon: the lexicon the words were decoded with (to split ``path`` into words).
        frame_seconds: seconds per frame of ``log_probs``.
        offset: seconds added to every time (the chunk's start in a long recording).

    Returns:
        One :class:`WordSegment` per word, in order.
    """
    if not words:
        return []
    phones = [tokens[i] for i in path if i != boundary]
    prons = split_pronunciations(words, phones, lexicon)
    if prons is None:  # cannot happen for the decoder's own output; keep words, without times
        return [WordSegment(w, offset, offset) for w in words]
    spans = _token_spans(log_probs, [i for i in path], blank)
    phone_spans = [s for s, i in zip(spans, path) if i != boundary]
    out, k = [], 0
    for word, pron in zip(words, prons):
        mine = phone_spans[k : k + len(pron)]
        k += len(pron)
        out.append(WordSegment(
            word=word,
            start=offset + mine[0][0] * frame_seconds,
            end=offset + mine[-1][1] * frame_seconds,
            phonemes=list(pron),
            confidence=sum(s[2] for s in mine) / len(mine),
        ))
    return out


def _token_spans(log_probs: torch.Tensor, targets: list[int], blank: int) -> list[tuple[int, int, float]]:
    """``(first frame, end frame (exclusive), mean probability)`` of each target token."""
    import torchaudio.functional as AF

    emission = log_probs.detach().to("cpu", torch.float32)[None].contiguous()
    target = torch.tensor([targets], dtype=torch.int32)
    alignment, scores = AF.forced_align(emission, target, blank=blank)
    spans = AF.merge_tokens(alignment[0], scores[0].exp(), blank=blank)
    return [(s.start, s.end, float(s.score)) for s in spans]
