"""The trained languages closest to a new one by sound, and which of their phonemes stand in for each of its own.

A new language's head is started from trained heads' output rows (zero-shot, or
the start of training with audio). Which rows:

* **Distance of a trained inventory** to the new language: each new phoneme's
  articulatory distance to the trained inventory's nearest phoneme (panphon's
  weighted features, :func:`~speechtl.text.phonesets.phone_distance`), averaged
  with the phoneme's **frequency in the new language's lexicon** as its weight
  (:func:`inventory_distance`). Swahili's frequent ``a``, ``i``, ``u`` weigh more
  than its rare implosives, so Spanish (which has them) comes before English
  (whose nearest are ``æ``, ``ɪ``, ``uː``); the unweighted mean gave every symbol
  the same say and chose English.
* **Several heads per phoneme**: each phoneme takes the row of the trained
  phoneme nearest to it in *any* head, ties (an exact match in several heads) going
  to the closest head (:func:`phone_sources`); blank and word boundary come from the
  closest head. ``--from es`` restricts every row to one named head.
* **Every head per phoneme, blended** (the default, :func:`blend_sources`): each
  phoneme's row is the average of every head's nearest phoneme's row, weighted by
  ``exp(-distance / temperature)`` (an exact match outweighs a near one), blank and
  word boundary the average of every head's; optionally each head also weighs by
  its closeness as a whole (:func:`language_weights`). On the shipped model's dev
  languages blending every head alike beat the one-head rules and the
  language-weighted blends; on its test languages it is better than the earlier
  rule on average, worse on ru and bg (benchmarks/zero_shot_shipped.py,
  docs/results/languages.md).

A symbol without articulatory features costs :data:`NO_FEATURES`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import math
from dataclasses import dataclass

from speechtl.errors import LanguageError
from speechtl.text.inventory import BLANK
from speechtl.text.phonesets import phone_distance

NO_FEATURES = 10.0  # distance charged for a symbol without articulatory features (not IPA)
TEMPERATURE = 1.0  # blend_sources: a head's weight falls by e per this much more distance (chosen on dev languages)
# blend_sources: a head's weight also falls by e per this much more mean distance of the whole inventory
# (language_weights; None: every head alike). Chosen on dev languages.
LANGUAGE_TEMPERATURE: float | None = None


def _nearest(symbol: str, candidates: Sequence[str]) -> tuple[str | None, float]:
    best: tuple[str | None, float] = (None, NO_FEATURES)
    for candidate in candidates:
        d = phone_distance(symbol, candidate)
        if d is not None and d < best[1]:
            best = (candidate, d)
    return best


def inventory_distance(counts: Mapping[str, float], inventory: Sequence[str]) -> float:
    """Frequency-weighted mean distance of a new language's phonemes to their nearest in ``inventory``.

    Args:
        counts: ``{phoneme: occurrences in the new language's lexicon}`` (all 1: unweighted).
        inventory: a trained head's phonemes.

    Example:
        >>> inventory_distance({"a": 9, "ɓ": 1}, ["a", "b"]) < inventory_distance({"a": 9, "ɓ": 1}, ["æ", "ɓ"])
        True
    """
    total = sum(counts.values())
    if not total:
        return NO_FEATURES
    return sum(n * _nearest(p, inventory)[1] for p, n in counts.items()) / total


def rank_heads(counts: Mapping[str, float], inventories: Mapping[str, Sequence[str]]) -> list[tuple[str, float]]:
    """``(head, distance)`` of every trained head, closest first (ties: the order given)."""
    scored = [(name, inventory_distance(counts, inv)) for name, inv in inventories.items()]
    return sorted(scored, key=lambda item: item[1])  # stable: ties keep the heads' order


@dataclass(frozen=True)
class PhoneSource:
    """Where one new phoneme's row comes from."""

    head: str
    symbol: str  # the trained head's phoneme (the new phoneme itself when the head has it)
    distance: float  # articulatory distance between the two (0: the same)


def phone_sources(phonemes: Sequence[str], inventories: Mapping[str, Sequence[str]],
                  ranking: Sequence[str]) -> dict[str, PhoneSource]:
    """For each new phoneme, the trained phoneme nearest to it in any head (ties: the head ranked first).

    Args:
        phonemes: the new language's phonemes.
        inventories: ``{head: phonemes}`` of the heads allowed to contribute.
        ranking: those heads, closest first (:func:`rank_heads`).

    Example:
        >>> src = phone_sources(["a", "ɓ"], {"en": ["æ", "b"], "es": ["a", "b"]}, ["es", "en"])
        >>> src["a"].head, src["a"].symbol, src["ɓ"].symbol
        ('es', 'a', 'b')
    """
    out = {}
    for phoneme in phonemes:
        best: PhoneSource | None = None
        for head in ranking:
            symbol, d = _nearest(phoneme, inventories[head]) if phoneme not in inventories[head] \
                else (phoneme, 0.0)
            if symbol is not None and (best is None or d < best.distance):
                best = PhoneSource(head, symbol, d)
        if best is None:  # no features: start from the closest head's blank row, as before
            best = PhoneSource(ranking[0], BLANK, NO_FEATURES)
        out[phoneme] = best
    return out


def choose_sources(counts: Mapping[str, float], inventories: Mapping[str, Sequence[str]],
                   only: str | None = None) -> tuple[list[tuple[str, float]], dict[str, PhoneSource]]:
    """The heads ranked by distance and each phoneme's source (every head, or ``only`` that one).

    Raises:
        LanguageError: ``only`` names a head the model lacks (the heads are listed).
    """
    if only is not None and only not in inventories:
        raise LanguageError(f"--from {only!r}: the model has no head for it; its heads: {', '.join(inventories)}")
    ranking = rank_heads(counts, inventories)
    allowed = [only] if only is not None else [name for name, _ in ranking]
    return ranking, phone_sources(list(counts), {h: inventories[h] for h in allowed}, allowed)


def language_weights(phonemes: Sequence[str], inventories: Mapping[str, Sequence[str]],
                     temperature: float | None) -> dict[str, float]:
    """Each head's weight as a whole: ``exp(-(D - D_min) / temperature)`` of its inventory's distance ``D``.

    ``D`` is the unweighted mean distance of the new phonemes to their nearest in the head (the rule before
    frequency weighting, which names Polish for Russian). ``temperature`` None: every head weighs 1.

    Example:
        >>> language_weights(["a", "ɨ"], {"pl": ["a", "ɨ"], "es": ["a", "i"]}, None)
        {'pl': 1.0, 'es': 1.0}
        >>> language_weights(["a", "ɨ"], {"pl": ["a", "ɨ"], "es": ["a", "i"]}, 0.25)["es"] < 1
        True
    """
    if temperature is None:
        return {head: 1.0 for head in inventories}
    if temperature <= 0:
        raise ValueError(f"language temperature must be > 0 or None, got {temperature}")
    distances = dict(rank_heads({p: 1.0 for p in phonemes}, inventories))
    best = min(distances.values())
    return {head: math.exp(-(distances[head] - best) / temperature) for head in inventories}


def blend_sources(phonemes: Sequence[str], inventories: Mapping[str, Sequence[str]],
                  temperature: float = TEMPERATURE, head_weights: Mapping[str, float] | None = None
                  ) -> dict[str, list[tuple[PhoneSource, float]]]:
    """For each new phoneme, every head's nearest phoneme and its weight (the weights sum to 1).

    A head's weight is ``exp(-distance / temperature)`` of its nearest phoneme's
    articulatory distance, so heads with the phoneme itself share the row and a head
    with only a distant stand-in barely counts, times its ``head_weights`` (its
    closeness as a whole, :func:`language_weights`; None: 1). A phoneme without features gets ``[]``.

    Example:
        >>> blend = blend_sources(["a"], {"es": ["a", "b"], "it": ["a"], "en": ["æ"]}, temperature=0.5)
        >>> [(s.head, s.symbol, round(w, 2)) for s, w in blend["a"]]
        [('es', 'a', 0.42), ('it', 'a', 0.42), ('en', 'æ', 0.16)]
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    out = {}
    for phoneme in phonemes:
        found = [PhoneSource(head, *((phoneme, 0.0) if phoneme in inv else _nearest(phoneme, inv)))
                 for head, inv in inventories.items()]
        found = [s for s in found if s.symbol is not None]
        best = min((s.distance for s in found), default=0.0)
        scale = head_weights or {}
        weights = [math.exp(-(s.distance - best) / temperature) * scale.get(s.head, 1.0)
                   for s in found]  # relative to the best: no underflow
        out[phoneme] = [(s, w / sum(weights)) for s, w in zip(found, weights)]
    return out
