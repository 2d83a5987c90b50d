"""Articulatory attribute detectors beside the phoneme heads, and phoneme heads composed from them.

Attribute-based zero-shot learning (Lampert et al. 2009, direct attribute
prediction) applied to phones, as Allophant does (Glocker et al., Interspeech
2023): the shared encoder feeds one detector per articulatory attribute
(panphon's features: voicing, place, manner, height, backness, rounding,
length, tone...; :data:`~speechtl.text.phonesets.ATTRIBUTES`) plus a blank and
a word-boundary detector shared by all languages. A phoneme's logit is composed
from its attribute signature ``s`` (+1 present, -1 absent, 0 unspecified):

    logit_p(x) = sum_k s_pk * z_k(x)

where ``z_k`` is attribute k's logit. With independent attribute detectors,
``z_k = log P(k present) - log P(k absent)``, so this is twice the
log-likelihood ratio of the phoneme's signature (up to terms every phoneme
with the same specified attributes shares). The composition is linear, so a
composed head is an ordinary linear head: a language is added from its phoneme
inventory alone, and the head can be fine-tuned with audio like any other.

A head for a language never heard (:func:`zero_shot_head`, ``add-language --zero-shot``):

* An attribute value no trained phoneme had (aspiration, ``sg`` +1, when no
  training language aspirates) was never taught to its detector: all ``z_k``
  learned is the shared offset the trained phonemes' constant value gives (on
  blank frames as much as on phonemes), so ``+z_k`` is noise that can make an
  aspirated stop fire on silence. Such a value is replaced by the trained
  phonemes' mean value of that attribute (the stop is scored as its unaspirated
  kin; :func:`project_signatures`), so the composed head is only as fine as
  training was.
* The composed head is averaged with the nearest-phone head of the closest
  trained language (:data:`MIX` of the composed one).
* Phonemes the attributes cannot tell apart (``t``, ``tʰ``; eSpeak's ``a`` and
  ``a.``) have equal rows and would split each frame's probability; each
  phoneme's logit gains :data:`PRIOR_WEIGHT` times its log frequency in the
  language's lexicon (text, no audio), so the frequent one wins, and the blank
  logit is shifted by :data:`BLANK_OFFSET` against the phonemes.

The three constants were chosen on languages kept for development, never on a
language results are reported for (benchmarks/zero_shot_languages.py,
docs/results/languages.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

import torch
from torch import nn

from speechtl.text.inventory import Inventory
from speechtl.text.phonesets import ATTRIBUTES, attribute_signature

if TYPE_CHECKING:
    from speechtl.models.heads import LanguageHeads

SHARED = 2  # blank and word boundary: detector outputs before the attributes
BLANK_OFFSET = -2.0  # subtracted from a zero-shot head's blank logit (chosen on dev languages; < 0 raises it)
MIX = 0.75  # weight of the attribute-composed head in a zero-shot head (chosen on dev languages)
PRIOR_WEIGHT = 1.5  # weight of the phonemes' log prior from the language's lexicon (chosen on dev languages)
CHOICES = ("blend", "sound", "any", "mean")  # where the nearest-phone rows come from (nearest_part)


def signature_matrix(inventory: Inventory) -> torch.Tensor:
    """``(len(inventory.phonemes), len(ATTRIBUTES))`` attribute signatures of a head's phonemes."""
    return torch.tensor([attribute_signature(p) for p in inventory.phonemes], dtype=torch.float32)


def project_signatures(signatures: torch.Tensor, trained: torch.Tensor) -> torch.Tensor:
    """``signatures`` with each attribute value no trained phoneme had replaced by the trained mean.

    Args:
        signatures: ``(P, K)`` signatures of the phonemes to score.
        trained: ``(T, K)`` signatures of the phonemes the detectors were trained on.

    A positive (negative) value of attribute k counts as seen when some trained
    phoneme has a positive (negative) value of k; 0 (unspecified) is always kept.
    """
    seen_pos, seen_neg = (trained > 0).any(0), (trained < 0).any(0)
    unseen = ((signatures > 0) & ~seen_pos) | ((signatures < 0) & ~seen_neg)
    return torch.where(unseen, trained.mean(0).expand_as(signatures), signatures)


def compose_logits(detector_logits: torch.Tensor, signatures: torch.Tensor) -> torch.Tensor:
    """Phoneme logits composed from attribute logits.

    Args:
        detector_logits: ``(..., 2 + K)``: blank, word boundary, then K attribute logits.
        signatures: ``(P, K)`` the phonemes' attribute signatures.

    Returns:
        ``(..., 2 + P)`` logits over blank, word boundary and the P phonemes (an inventory's order).
    """
    return torch.cat([detector_logits[..., :SHARED], detector_logits[..., SHARED:] @ signatures.T], dim=-1)


class AttributeDetectors(nn.Module):
    """One linear detector per articulatory attribute, plus blank and word boundary, over encoder features.

    Maps ``(batch, time, in_dim)`` to ``(batch, time, 2 + len(ATTRIBUTES))`` logits.
    """

    def __init__(self, in_dim: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_dim, SHARED + len(ATTRIBUTES))
        self._signatures: dict[tuple[str, ...], torch.Tensor] = {}

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.linear(hidden)

    def signatures(self, inventory: Inventory) -> torch.Tensor:
        key = tuple(inventory.tokens)
        if key not in self._signatures:
            self._signatures[key] = signature_matrix(inventory)
        return self._signatures[key].to(self.linear.weight.device)

    def log_probs(self, hidden: torch.Tensor, inventory: Inventory) -> torch.Tensor:
        """``(batch, time, |inventory|)`` log-probabilities of the head composed for ``inventory``."""
        return torch.log_softmax(compose_logits(self(hidden), self.signatures(inventory)), dim=-1)

    @torch.no_grad()
    def compose_head(self, inventory: Inventory, trained: Iterable[Inventory] = (),
                     blank_offset: float = 0.0) -> nn.Linear:
        """A linear head over ``inventory`` whose logits equal :func:`compose_logits` of the detectors.

        Args:
            trained: the inventories the detectors were trained on (a model's trained heads'):
                attribute values none of their phonemes had are replaced (:func:`project_signatures`).
                Empty: the signatures as they are.
            blank_offset: subtracted from the blank logit.
        """
        sig = self.signatures(inventory)
        seen = sorted({p for inv in trained for p in inv.phonemes})
        if seen:
            sig = project_signatures(sig, signature_matrix(Inventory(seen)).to(sig.device))
        weight, bias = self.linear.weight, self.linear.bias
        head = nn.Linear(self.linear.in_features, len(inventory))
        head.weight.copy_(torch.cat([weight[:SHARED], sig @ weight[SHARED:]]))
        head.bias.copy_(torch.cat([bias[:SHARED], sig @ bias[SHARED:]]))
        head.bias[0] -= blank_offset
        return head


def nearest_phone_head(heads: "LanguageHeads", inventory: Inventory) -> tuple[nn.Linear, dict[str, str]]:
    """A head over ``inventory`` whose rows are copied from the trained heads' nearest phonemes.

    The baseline without attribute detectors: each phoneme takes the output row of
    the articulatorily nearest phoneme any head has (itself when one has it); blank
    and word boundary come from the first head.

    Returns:
        The head and ``{phoneme: the phoneme whose row it took}`` for those no head has.
    """
    from speechtl.text.phonesets import nearest_phone

    rows: dict[str, tuple[str, int]] = {}
    for language, inv in heads.inventories.items():
        for symbol in inv.tokens:
            rows.setdefault(symbol, (language, inv.index[symbol]))
    known = [s for s in rows if s not in inventory.tokens[:2]]
    head = nn.Linear(heads.in_dim, len(inventory))
    mapped = {}
    with torch.no_grad():
        for i, symbol in enumerate(inventory.tokens):
            source = symbol
            if symbol not in rows:
                near = nearest_phone(symbol, known)
                source = near[0] if near else inventory.tokens[0]  # no features: start from blank's row
                mapped[symbol] = source
            language, j = rows[source]
            head.weight[i] = heads.heads[language].weight[j]
            head.bias[i] = heads.heads[language].bias[j]
    return head, mapped


def log_prior(inventory: Inventory, counts: dict[str, int]) -> torch.Tensor:
    """``(P,)`` each phoneme's log relative frequency (add-one smoothed), minus the inventory's mean."""
    logp = torch.log(torch.tensor([counts.get(p, 0) + 1.0 for p in inventory.phonemes]))
    logp = logp - torch.logsumexp(logp, 0)
    return logp - logp.mean()


def phoneme_counts(pronunciations) -> dict[str, int]:
    """``{phoneme: occurrences}`` over ``pronunciations`` (sequences of phonemes)."""
    from collections import Counter

    return dict(Counter(p for pron in pronunciations for p in pron))


def sourced_head(heads: "LanguageHeads", inventory: Inventory, sources: dict, blank_head: str) -> nn.Linear:
    """A head over ``inventory`` whose phoneme rows are copied from trained heads' rows.

    Args:
        sources: ``{phoneme: PhoneSource}`` (:func:`~speechtl.text.closest.phone_sources`): the head and
            phoneme each row is copied from (several heads may contribute).
        blank_head: the head blank and word boundary come from (the closest).
    """
    head = nn.Linear(heads.in_dim, len(inventory))
    with torch.no_grad():
        for i, symbol in enumerate(inventory.tokens):
            name, source = (blank_head, symbol) if i < SHARED else (sources[symbol].head, sources[symbol].symbol)
            j = heads.inventories[name].index[source]
            head.weight[i] = heads.heads[name].weight[j]
            head.bias[i] = heads.heads[name].bias[j]
    return head


def blended_head(heads: "LanguageHeads", inventory: Inventory, blend: dict,
                 head_weights: dict[str, float] | None = None) -> nn.Linear:
    """A head over ``inventory`` whose rows are weighted averages of trained heads' rows.

    Each trained head's rows are first moved so that their mean (weight and bias) is
    the mean over all heads: a softmax does not change when one vector is added to
    every row of a head, so heads differ by such an offset that would otherwise leak
    into the average (with one head nothing moves: its rows are copied).

    Args:
        blend: ``{phoneme: [(PhoneSource, weight), ...]}`` (:func:`~speechtl.text.closest.blend_sources`);
            blank and word boundary are every head's, averaged with ``head_weights`` (None: alike). A phoneme
            with ``[]`` starts from blank's row.
    """
    means = {name: (h.weight.mean(0), h.bias.mean()) for name, h in heads.heads.items()}
    shared = (torch.stack([w for w, _ in means.values()]).mean(0), torch.stack([b for _, b in means.values()]).mean())
    centred = {name: (h.weight + (shared[0] - means[name][0]), h.bias + (shared[1] - means[name][1]))
               for name, h in heads.heads.items()}  # one head: + exactly 0
    names = list(centred)
    total = sum((head_weights or {}).get(name, 1.0) for name in names)
    shared_parts = [(name, (head_weights or {}).get(name, 1.0) / total) for name in names]
    head = nn.Linear(heads.in_dim, len(inventory))
    with torch.no_grad():
        for i, symbol in enumerate(inventory.tokens):
            parts = [(name, i, w) for name, w in shared_parts] if i < SHARED or not blend[symbol] else \
                [(s.head, heads.inventories[s.head].index[s.symbol], w) for s, w in blend[symbol]]
            head.weight[i] = sum(w * centred[name][0][j] for name, j, w in parts)
            head.bias[i] = sum(w * centred[name][1][j] for name, j, w in parts)
    return head


def zero_shot_head(heads: "LanguageHeads", detectors: AttributeDetectors | None, inventory: Inventory,
                   mix: float | None = None, blank_offset: float | None = None,
                   counts: dict[str, int] | None = None, prior_weight: float | None = None,
                   source: str | None = None, choice: str = "blend", any_head: bool = False,
                   temperature: float | None = None, language_temperature: float | str | None = "default"
                   ) -> tuple[nn.Linear, dict]:
    """A head over ``inventory`` made with no audio of its language.

    ``mix`` (default :data:`MIX`) times the head composed from ``detectors``
    (:meth:`AttributeDetectors.compose_head`, with the trained heads' inventories)
    plus ``1 - mix`` times the nearest-phone head; without detectors, the
    nearest-phone head alone. The nearest-phone head (:func:`nearest_part`; ``choice="blend"``, the
    default) averages, for each phoneme, every trained head's nearest phoneme's row weighted by their
    articulatory distance (:func:`~speechtl.text.closest.blend_sources`, ``temperature``) and by each
    head's closeness as a whole (``language_temperature``: None, every head alike; "default": the
    library's); ``"sound"``
    copies the rows of the one head closest by sound (distance weighted by ``counts``), ``"any"`` (or
    ``any_head``) each row from the nearest phoneme in any head, and ``source`` names the one head to take
    every row from (``--from``). ``"mean"`` is the rule before issue #26, kept to compare: one head, the
    one whose inventory is nearest on the unweighted mean
    (:func:`~speechtl.text.phonesets.closest_inventory`). The blank logit is then lowered by ``blank_offset``
    (default :data:`BLANK_OFFSET`), and with ``counts`` (each phoneme's count in the
    language's lexicon: text, no audio) each phoneme's logit gains ``prior_weight``
    (default :data:`PRIOR_WEIGHT`) times its log prior, centred on the inventory's
    mean, so that of phonemes the attributes cannot tell apart the frequent one wins.

    Blending was chosen on the shipped model's dev languages (benchmarks/zero_shot_shipped.py,
    docs/results/languages.md).

    Returns:
        The head and ``{"closest": head, "distance": its distance, "mix": weight used, "ranking":
        [(head, distance), ...], "choice": the rule used, "mapped": {phoneme not in the closest head:
        "symbol" of that head, or "head:symbol" of another (blend: the largest contributor)}}``.

    Raises:
        LanguageError: ``source`` names a head the model lacks.
    """
    mix = (MIX if mix is None else mix) if detectors is not None else 0.0
    head, made = nearest_part(heads, inventory, counts, source, "any" if any_head else choice, temperature,
                              language_temperature)
    with torch.no_grad():
        if mix > 0:
            composed = detectors.compose_head(inventory, trained=heads.inventories.values(), blank_offset=0.0)
            head.weight.copy_(mix * composed.weight + (1 - mix) * head.weight)
            head.bias.copy_(mix * composed.bias + (1 - mix) * head.bias)
        head.bias[0] -= BLANK_OFFSET if blank_offset is None else blank_offset
        weight = PRIOR_WEIGHT if prior_weight is None else prior_weight
        if counts is not None and weight:
            head.bias[SHARED:] += weight * log_prior(inventory, counts)
    return head, {**made, "mix": mix}


def nearest_part(heads: "LanguageHeads", inventory: Inventory, counts: dict[str, int] | None, source: str | None,
                 choice: str, temperature: float | None = None, language_temperature: float | str | None = "default"
                 ) -> tuple[nn.Linear, dict]:
    """The head built from trained heads' rows (:func:`zero_shot_head`'s nearest-phone part) and how it was made.

    ``choice``: ``blend`` (every head, :func:`~speechtl.text.closest.blend_sources`), ``sound`` (the closest
    head's rows), ``any`` (each row from the nearest phoneme in any head) or ``mean`` (the earlier rule);
    ``source`` (``--from``) overrides it with one named head.
    """
    from speechtl.text.closest import (LANGUAGE_TEMPERATURE, TEMPERATURE, blend_sources, choose_sources,
                                       language_weights, phone_sources)
    from speechtl.text.phonesets import closest_inventory

    if choice not in CHOICES:
        raise ValueError(f"choice must be one of {', '.join(CHOICES)}, got {choice!r}")
    trained = {lang: inv.phonemes for lang, inv in heads.inventories.items()}
    weights = {p: float((counts or {}).get(p, 0) + (0 if counts else 1)) for p in inventory.phonemes}
    if choice == "mean" and source is None:
        closest, distance = closest_inventory(inventory.phonemes, trained)
        ranking, sources = [(closest, distance)], phone_sources(inventory.phonemes, {closest: trained[closest]},
                                                               [closest])
    else:
        ranking, sources = choose_sources(weights, trained, only=source)
        closest = source or ranking[0][0]
        if choice in ("sound", "blend") and source is None:  # the closest head's rows alone
            ranking, sources = choose_sources(weights, trained, only=closest)
        distance = dict(ranking)[closest]
    if choice == "blend" and source is None:
        per_head = language_weights(inventory.phonemes, trained, LANGUAGE_TEMPERATURE
                                    if language_temperature == "default" else language_temperature)
        blend = blend_sources(inventory.phonemes, trained, TEMPERATURE if temperature is None else temperature,
                              per_head)
        head = blended_head(heads, inventory, blend, per_head)
        sources = {p: max(b, key=lambda sw: (sw[1], sw[0].head == closest))[0]  # each row's main source
                   for p, b in blend.items() if b}
    else:
        head = sourced_head(heads, inventory, sources, closest)
    mapped = {p: (s.symbol if s.head == closest else f"{s.head}:{s.symbol}")
              for p, s in sources.items() if not (s.head == closest and s.symbol == p)}
    return head, {"closest": closest, "distance": distance, "mapped": mapped, "ranking": ranking, "choice": choice}
