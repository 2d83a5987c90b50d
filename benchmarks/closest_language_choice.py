#!/usr/bin/env python
"""Which trained head each rule picks as closest to a new language (the choice only; no audio, no accuracy).

The README demo's 8 heads are stood in for by the shipped lexicons' inventories (eSpeak NG's
pronunciations of each language's frequent words); each new language's inventory and phoneme
counts come from eSpeak's pronunciations of its 2000 most frequent words (number words where
wordfreq has none). ``mean``: the earlier rule (unweighted mean nearest-phone distance, one head);
``sound``: :mod:`speechtl.text.closest` (weighted by phoneme frequency). Whether the new choice
decodes better is NOT measured here (that needs trained models: benchmarks/zero_shot_languages.py).

    python -m benchmarks.closest_language_choice   # benchmarks/results/closest_language_choice.json
"""

from __future__ import annotations

from benchmarks.common import machine, write_result

TRAIN = ["en", "de", "fr", "es", "it", "nl", "pt", "pl"]  # the README demo model's heads
NEW = ["sw", "tr", "ar", "ru", "hi", "bn", "el", "sv", "fi", "hu", "id", "ja", "ko", "vi", "yo", "ha", "zu", "am"]


def main() -> None:
    from speechtl.errors import SpeechtlError
    from speechtl.models.attributes import phoneme_counts
    from speechtl.text.closest import rank_heads
    from speechtl.text.g2p_lexicon import inventory_lexicon, shipped_lexicon
    from speechtl.text.languages import LANGUAGES
    from speechtl.text.phonesets import closest_inventory

    inventories = {lang: sorted(shipped_lexicon(lang).symbols()) for lang in TRAIN}
    rows = {}
    for lang in [code for code in NEW if code in LANGUAGES]:
        try:
            lexicon, note = inventory_lexicon(lang, 2000)
        except SpeechtlError as err:
            rows[lang] = {"error": str(err)}
            continue
        counts = phoneme_counts(pron for _, pron in lexicon.items())
        mean = closest_inventory(sorted(counts), inventories)
        ranking = rank_heads(counts, inventories)
        rows[lang] = {"mean": mean[0], "sound": ranking[0][0], "sound_ranking": [[h, round(d, 3)] for h, d in ranking],
                      "words": len(lexicon), "phonemes": len(counts), "source": "numbers" if note else "words"}
        print(lang, mean[0], "->", ranking[0][0], flush=True)
    write_result("closest_language_choice", {"machine": machine(), "train_heads": TRAIN, "languages": rows,
                                             "command": "python -m benchmarks.closest_language_choice",
                                             "measured": "the choice only; decoding accuracy not measured"})


if __name__ == "__main__":
    main()
