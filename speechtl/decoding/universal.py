"""A universal phoneme head restricted to one language's inventory (Allosaurus's allophone mask).

A CTC checkpoint read by :mod:`speechtl.models.ctc_checkpoint` has one head over
every phoneme it was trained on (:data:`~speechtl.models.ctc_checkpoint.UNIVERSAL`).
Asked for a language it has no head for, a recogniser adds one over that language's
phonemes: each takes the universal head's row of the same symbol, or of the
articulatorily nearest symbol (panphon's feature distance,
:func:`~speechtl.text.phonesets.nearest_phone`). Every other output is masked: it is
not among the language head's outputs, so the search and the greedy phonemes see only
the language's phonemes (Li et al. 2020, "Universal Phone Recognition with a
Multilingual Allophone System", whose mask is learned; here it is the feature
mapping).

The language's phonemes are those of its shipped lexicon (``lexicons/``), else of
eSpeak NG's pronunciations of its most frequent words.
"""

from __future__ import annotations

import logging

from speechtl.errors import LexiconError
from speechtl.models.acoustic import AcousticModel
from speechtl.models.ctc_checkpoint import UNIVERSAL, restricted_head
from speechtl.text.g2p_lexicon import frequent_lexicon, shipped_lexicon
from speechtl.text.inventory import Inventory
from speechtl.text.languages import get_language

log = logging.getLogger(__name__)

FREQUENT_WORDS = 2000  # words whose eSpeak pronunciations give a language's phonemes when none is shipped


def language_inventory(language: str) -> Inventory:
    """``language``'s phonemes: its shipped lexicon's, else eSpeak NG's for its frequent words."""
    try:
        source = shipped_lexicon(language)
    except LexiconError:
        source = frequent_lexicon(language, FREQUENT_WORDS)
    return Inventory(source.symbols())


def add_language_head(model: AcousticModel, language: str) -> dict[str, str]:
    """Give ``model`` a head for ``language`` restricted from its universal head (logged mappings).

    Raises:
        LanguageError: eSpeak NG has no such language.
    """
    get_language(language)
    inventory = language_inventory(language)
    head, mapped = restricted_head(model.heads, inventory)
    model.heads.put(language, inventory, head.to(next(model.parameters()).device))
    log.info("%s: the universal head restricted to %d phonemes; %d mapped to the nearest output (%s)", language,
             len(inventory.phonemes), len(mapped), ", ".join(f"{a}->{b}" for a, b in sorted(mapped.items())))
    return mapped
