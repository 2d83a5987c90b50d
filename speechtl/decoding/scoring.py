"""Scoring hypotheses against references: error rates, per-utterance alignments, confusions.

The per-utterance files follow icefall's layout: ``recogs-NAME.txt`` holds each
utterance's reference and hypothesis, ``errs-NAME.txt`` the totals, each
utterance's alignment (``word`` where right, ``(ref->hyp)`` where wrong, ``*`` for
nothing) and the substitutions, deletions and insertions by frequency.

Example:
    >>> s = score([("u1", "a b c", "a x c d")])
    >>> s.counts.substitutions, s.counts.insertions, round(s.counts.rate, 3)
    (1, 1, 0.667)
    >>> alignment_text(s.utterances[0].pairs)
    'a (b->x) c (*->d)'
    >>> s.substitutions.most_common(1)
    [(('b', 'x'), 1)]
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import jiwer

from speechtl.decoding.metrics import ErrorCounts, error_counts, strip_boundaries

EMPTY = "*"  # icefall's mark for "no token" on one side of an alignment


@dataclass
class ScoredUtterance:
    """One utterance: its tokens and their alignment, ``(ref or None, hyp or None)`` per position."""

    uid: str
    reference: list[str]
    hypothesis: list[str]
    pairs: list[tuple[str | None, str | None]]

    @property
    def errors(self) -> int:
        return sum(r != h for r, h in self.pairs)


@dataclass
class Score:
    """Totals, each utterance's alignment and the edit counts by token."""

    counts: ErrorCounts
    utterances: list[ScoredUtterance]
    characters: ErrorCounts | None = None  # CER, for words
    substitutions: Counter = field(default_factory=Counter)  # (ref, hyp) -> n
    deletions: Counter = field(default_factory=Counter)
    insertions: Counter = field(default_factory=Counter)


def align(reference: list[str], hypothesis: list[str]) -> list[tuple[str | None, str | None]]:
    """Minimum-edit alignment (jiwer) of two token lists, ``None`` where one side has nothing."""
    if not reference or not hypothesis:
        return [(r, None) for r in reference] + [(None, h) for h in hypothesis]
    out = jiwer.process_words(" ".join(reference), " ".join(hypothesis))
    pairs: list[tuple[str | None, str | None]] = []
    for chunk in out.alignments[0]:
        refs = reference[chunk.ref_start_idx:chunk.ref_end_idx]
        hyps = hypothesis[chunk.hyp_start_idx:chunk.hyp_end_idx]
        if chunk.type in ("equal", "substitute"):
            pairs += list(zip(refs, hyps))
        elif chunk.type == "delete":
            pairs += [(r, None) for r in refs]
        else:
            pairs += [(None, h) for h in hyps]
    return pairs


def score(triples: list[tuple[str, str, str]], unit: str = "word") -> Score:
    """Score ``(id, reference, hypothesis)`` texts.

    Args:
        unit: ``word`` (WER over words and CER over characters) or ``phoneme`` (PER over
            space-separated phonemes, word-boundary symbols left out).
    """
    prep = strip_boundaries if unit == "phoneme" else (lambda text: text)
    refs, hyps = [prep(r) for _, r, _ in triples], [prep(h) for _, _, h in triples]
    result = Score(error_counts(refs, hyps), [])
    if unit == "word":
        result.characters = character_counts(refs, hyps)
    for (uid, _, _), ref, hyp in zip(triples, refs, hyps):
        utt = ScoredUtterance(uid, ref.split(), hyp.split(), align(ref.split(), hyp.split()))
        result.utterances.append(utt)
        for r, h in utt.pairs:
            if r is None:
                result.insertions[h] += 1
            elif h is None:
                result.deletions[r] += 1
            elif r != h:
                result.substitutions[(r, h)] += 1
    return result


def character_counts(references: list[str], hypotheses: list[str]) -> ErrorCounts:
    """Character error counts (spaces count, as in jiwer's CER) over non-empty references."""
    counts = ErrorCounts(utterances=len(references))
    pairs = [(r, h) for r, h in zip(references, hypotheses) if r]
    counts.insertions = sum(len(h) for r, h in zip(references, hypotheses) if not r)
    if pairs:
        out = jiwer.process_characters([r for r, _ in pairs], [h for _, h in pairs])
        counts.substitutions, counts.deletions = out.substitutions, out.deletions
        counts.insertions += out.insertions
        counts.reference_length = sum(len(r) for r, _ in pairs)
    return counts


def alignment_text(pairs: list[tuple[str | None, str | None]]) -> str:
    """``a (b->x) c (*->d)``: right tokens as they are, errors as ``(ref->hyp)``."""
    return " ".join(r if r == h else f"({r or EMPTY}->{h or EMPTY})" for r, h in pairs)


def summary_lines(result: Score, unit: str = "word") -> list[str]:
    """The totals: the error rate with its edits, and the CER for words."""
    c = result.counts
    name = {"word": "WER", "phoneme": "PER"}.get(unit, "ER")
    lines = [f"%{name} {100 * c.rate:.2f} [ {c.errors} / {c.reference_length}, {c.insertions} ins, "
             f"{c.deletions} del, {c.substitutions} sub ] over {c.utterances} utterances"]
    if result.characters is not None:
        ch = result.characters
        lines.append(f"%CER {100 * ch.rate:.2f} [ {ch.errors} / {ch.reference_length}, {ch.insertions} ins, "
                     f"{ch.deletions} del, {ch.substitutions} sub ]")
    return lines


def write_recogs(result: Score, path: str | Path) -> Path:
    """``recogs-*.txt``: ``ID:\\tref=[...]`` and ``ID:\\thyp=[...]`` per utterance, sorted by id."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for utt in sorted(result.utterances, key=lambda u: u.uid):
            f.write(f"{utt.uid}:\tref={utt.reference}\n{utt.uid}:\thyp={utt.hypothesis}\n")
    return path


def write_errs(result: Score, path: str | Path, unit: str = "word") -> Path:
    """``errs-*.txt``: totals, per-utterance alignments, then edits by frequency."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = summary_lines(result, unit)
    lines += ["", "PER-UTT DETAILS: corr or (ref->hyp)"]
    lines += [f"{u.uid}:\t{alignment_text(u.pairs)}" for u in sorted(result.utterances, key=lambda u: u.uid)]
    lines += ["", "SUBSTITUTIONS: count ref -> hyp"]
    lines += [f"{n}   {r} -> {h}" for (r, h), n in result.substitutions.most_common()]
    lines += ["", "DELETIONS: count ref"] + [f"{n}   {r}" for r, n in result.deletions.most_common()]
    lines += ["", "INSERTIONS: count hyp"] + [f"{n}   {h}" for h, n in result.insertions.most_common()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def confusion_counts(result: Score, top: int = 30) -> tuple[list[str], list[list[int]]]:
    """The ``top`` most frequent reference tokens and a ``(labels + 1, labels + 1)`` count matrix.

    Row: reference token, column: hypothesis token; the last row and column are ``*``
    (insertions in the row, deletions in the column). Tokens outside the ``top`` are left out.
    """
    freq = Counter(r for u in result.utterances for r, _ in u.pairs if r is not None)
    labels = [t for t, _ in freq.most_common(top)]
    index = {t: i for i, t in enumerate(labels)}
    blank = len(labels)
    matrix = [[0] * (blank + 1) for _ in range(blank + 1)]
    for u in result.utterances:
        for r, h in u.pairs:
            i, j = index.get(r, -1) if r is not None else blank, index.get(h, -1) if h is not None else blank
            if i >= 0 and j >= 0:
                matrix[i][j] += 1
    return labels + [EMPTY], matrix


def write_details(triples: list[tuple[str, str, str]], prefix: Path, name: str, unit: str) -> tuple[Path, Path]:
    """Score ``(id, reference, hypothesis)`` and write ``errs-`` and ``recogs-`` files for them.

    ``prefix`` ``EXP/eval_test`` and ``name`` ``per`` give ``EXP/errs-eval_test-per.txt`` and
    ``EXP/recogs-eval_test-per.txt``.
    """
    result = score(triples, unit)
    stem = f"{prefix.name}-{name}.txt"
    errs = write_errs(result, prefix.parent / f"errs-{stem}", unit)
    return errs, write_recogs(result, prefix.parent / f"recogs-{stem}")
