"""A head for a language with no audio of it, composed from its phoneme inventory (``add-language --zero-shot``)."""

from __future__ import annotations

import logging
from pathlib import Path

from speechtl.errors import LanguageError, LexiconError
from speechtl.models.attributes import phoneme_counts, zero_shot_head
from speechtl.models.io import SECTIONS, read_model, save_model
from speechtl.text.g2p_lexicon import inventory_lexicon
from speechtl.text.inventory import Inventory
from speechtl.text.languages import get_language, head_code
from speechtl.text.lexicon import Lexicon

log = logging.getLogger(__name__)


def zero_shot_language(base_path: str | Path, language: str, output: str | Path, lexicon: str | Path | None = None,
                       text_file: str | Path | None = None, words: int = 2000, replace_head: bool = False,
                       from_head: str | None = None, any_head: bool = False) -> dict:
    """Add a head for ``language`` composed from its phoneme inventory alone, with no audio of it.

    The inventory is the phonemes of ``lexicon`` (any phone set already converted), or
    those eSpeak NG gives the language's ``words`` most frequent words (wordfreq's, or
    ``text_file``'s). With attribute detectors in the base (``model.attributes`` > 0)
    each phoneme's row is composed from its articulatory attributes, averaged with
    the rows of its nearest phonemes in every trained head, blended by distance
    (:mod:`speechtl.text.closest`; ``from_head``: one head's alone; ``any_head``: the nearest
    in any head, ties to the closest); without, those rows alone
    (:func:`~speechtl.models.attributes.zero_shot_head`).

    Returns:
        ``{"model": path, "inventory": [...], "method": "attributes"|"nearest-phone", "closest": language,
        "ranking": [(head, distance), ...], "mix": weight of the composed head, "choice": the rows' rule,
        "mapped": {phoneme the closest head lacks: "its nearest" or "head:phoneme" of another head}}``.
    """
    language = get_language(language).code  # "EN", " en" -> "en": one head per language
    model, extra_state, meta = read_model(base_path)
    if language in model.languages and not replace_head:
        raise LanguageError(f"{base_path} already has a head for {language!r}; pass --replace-head to replace it")
    source, note = (Lexicon.read(lexicon), "") if lexicon else inventory_lexicon(language, words, text_file)
    if note:
        log.warning(note)
    if not len(source):
        raise LexiconError(f"{lexicon}: no pronunciation to take the {language} inventory from")
    inventory = Inventory(source.symbols())
    counts = phoneme_counts(pron for _, pron in source.items())
    if from_head is not None:
        from_head = head_code(from_head, model.languages)
    head, made = zero_shot_head(model.heads, model.attributes, inventory, counts=counts, source=from_head,
                                any_head=any_head)
    mapped = made["mapped"]
    method = "attributes" if made["mix"] > 0 else "nearest-phone"
    if model.attributes is None:
        log.warning("%s: the base model has no attribute detectors (train with model.attributes > 0); "
                    "%d phonemes no head has start from their nearest phoneme's row", base_path, len(mapped))
    model.heads.put(language, inventory, head)
    stem = Path(output) / "model"
    kept = {k: v for k, v in meta.items()
            if k not in {"kind", "format", "version", "sha256", "inventories", "unit_models", *SECTIONS}}
    save_model(model, stem, extra_state=extra_state, **kept)
    return {"model": str(stem), "inventory": inventory.phonemes, "method": method, "mapped": mapped,
            "closest": made["closest"], "mix": made["mix"], "ranking": made["ranking"], "choice": made["choice"],
            "words": len(source), "language": language}
