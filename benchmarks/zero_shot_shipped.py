#!/usr/bin/env python
"""Zero-shot heads from the shipped model, and the closest language by sound (issue #26 items 1 and 2).

The model users have (``builtin:multilingual-synth``: 8 languages, trained with
attribute detectors) gets a head for each language it never heard, made with no
audio of it exactly as ``add-language --zero-shot`` makes it (the inventory and
phoneme counts of eSpeak's pronunciations of the language's 2000 most frequent
words). Nothing is trained.

Languages, fixed in :data:`PLAN` and written to the results JSON (``--plan``) before
anything was measured: 7 test languages in 4 scripts, and 3 dev languages (settings
are chosen on them, never reported as results). For each seed, eSpeak NG speaks a
test set per language with voices of its test pool (never in the model's training):
``sentences`` (2-4 words each) and ``words`` (one word per recording), both drawn from
the same 100 test words.

* **PER**: greedy, on the sentences.
* **100-word accuracy**: each one-word recording decoded alone against the 100 words
  (``decode --isolated``: the best-scoring word, never nothing); and 1 - WER of the
  lexicon beam search over the sentences with the same 100 words, its word score
  chosen on the dev languages.
* **Closest language** (item 2): the nearest-phone part of the head taken from the
  head chosen by the earlier rule (``mean``: unweighted mean distance), by the current
  one (``sound``: frequency-weighted, :mod:`speechtl.text.closest`) and from the nearest
  phoneme in any head (``any``), each at the library's mix (what users get) and at
  mix 0 (nearest phonemes alone: what a model without attribute detectors gives),
  same model, same test sets.

Every head and decoder reads the same encoder outputs (computed once per recording).

    python -m benchmarks.zero_shot_shipped --plan                  # the plan alone (before measuring)
    python -m benchmarks.zero_shot_shipped --work /tmp/zs-shipped  # benchmarks/results/zero_shot_shipped.json
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

from benchmarks.common import REPO, machine, write_result

RESULT = REPO / "benchmarks" / "results" / "zero_shot_shipped.json"
MODEL = "builtin:multilingual-synth"
PLAN = {
    "test_languages": ["tr", "fi", "hu", "ru", "bg", "el", "hi"],
    "test_scripts": {"tr": "Latin", "fi": "Latin", "hu": "Latin", "ru": "Cyrillic", "bg": "Cyrillic",
                     "el": "Greek", "hi": "Devanagari"},
    "dev_languages": ["id", "uk", "bn"],
    "reason": (
        "Chosen before measuring, from eSpeak NG languages with a wordfreq list and none of the model's 8 "
        "(de en es fr it nl pl pt). Test: 4 scripts; Latin with front rounded vowels and vowel length "
        "(tr, fi, hu: agglutinative, vowel harmony), Cyrillic with palatalised consonants (ru, bg), Greek, "
        "Devanagari with aspirated and retroflex stops (hi). tr, ru, hi, fi and hu are languages where the "
        "earlier and the current closest-language rules pick different heads (benchmarks/results/"
        "closest_language_choice.json), el and bg where they may agree. Dev (settings only, never reported): "
        "one language per kind - Latin (id, rules differ), Cyrillic (uk), an Indic script (bn). Swahili "
        "(the issue's example) is left out: wordfreq has no list for it, so no 500-word test vocabulary."),
    "seeds": [0, 1, 2],
    "sentences": 40,  # test sentences per language and seed (2-4 words)
    "words": 100,  # one-word test recordings per language and seed
    "test_speakers": 4,
    "vocabulary": 500,  # wordfreq's most frequent words; 20% (100) are the test words
    "word_scores": [-4.0, -2.0, 0.0, 2.0],  # beam search word scores tried on dev (library default -4)
    "mixes": [0.5, 0.75, 1.0],  # head settings tried on dev (library defaults: attributes.MIX etc.)
    "offsets": [-3.0, -2.0, -1.0, 0.0],
    "priors": [0.5, 1.0, 1.5, 2.0],
    "goals": {"per_at_most": 0.35, "word_accuracy_at_least": 0.80, "on": "the median test language"},
}
# closest-language rules (item 2): the earlier rule, the one shipped before this benchmark, any head, and every
# head blended (added after the planned three were measured on seed 0: "sound" was worse than "mean" in ru and bg)
CHOICES = ("mean", "sound", "any", "blend")
# dev languages added after the first 3-seed run (blending every head alike was worse than the earlier rule on
# the Slavic test languages ru and bg, and no dev language was Slavic): Czech (Latin) and Macedonian (Cyrillic).
# Disclosed on the page: the test languages' result led to them.
ADDED_DEV = ["cs", "mk"]
TEMPERATURES = [0.25, 0.5, 1.0]  # blend's temperature, tried on dev
# blend's language temperature (each head's weight as a whole; None: every head alike), tried on dev; added
# after the first 3-seed run, where blending every head alike was worse than the earlier rule on ru and bg
LANGUAGE_TEMPERATURES = [None, 0.1, 0.05, 0.02]
# added to PLAN["mixes"] after seed 0's dev languages (dev only) showed blended nearest rows alone (mix 0)
# beating the library's mix 0.75
EXTRA_MIXES = [0.0, 0.25]


def dev_languages() -> list[str]:
    """The plan's dev languages and those added later (:data:`ADDED_DEV`)."""
    return PLAN["dev_languages"] + ADDED_DEV


def synth_recipe(root: Path, languages: list[str], seed: int, one_word: bool, features):
    """The test-set corpus of one seed: no training or dev audio, test voices only."""
    from speechtl.data.config import DataConfig, SynthConfig
    from speechtl.tasks.speech.recipe import Recipe

    synth = SynthConfig(vocabulary=PLAN["vocabulary"], train_utterances=0, dev_utterances=0,
                        test_utterances=PLAN["words"] if one_word else PLAN["sentences"],
                        train_speakers=1, dev_speakers=1, test_speakers=PLAN["test_speakers"],
                        words_per_utterance=(1, 1) if one_word else (2, 4), seed=seed)
    recipe = Recipe(name="zero-shot-shipped", data=DataConfig(root=str(root), languages=languages, synth=synth))
    recipe.features = features
    return recipe


def load_test_sets(work: Path, seed: int, features) -> dict:
    """``{"sentences" | "words": (recipe, utterances)}`` of one seed, synthesised unless already there."""
    from speechtl.data.synth import synthesize_corpus
    from speechtl.tasks.speech.data import load_split

    out = {}
    for kind in ("sentences", "words"):
        recipe = synth_recipe(work / f"seed{seed}" / kind, PLAN["test_languages"] + dev_languages(), seed,
                              kind == "words", features)
        synthesize_corpus(recipe.data, jobs=1, progress=False)
        out[kind] = (recipe, load_split(recipe, "test"))
    return out


@torch.no_grad()
def encode(model, utts) -> dict[str, tuple[list, torch.Tensor, torch.Tensor]]:
    """``{language: (utterances, hidden (B, T, D), lengths (B,))}``: the encoder run once per recording."""
    model.eval()
    out = {}
    for lang in sorted({u.language for u in utts}):
        mine = sorted((u for u in utts if u.language == lang), key=lambda u: u.feats.shape[0])
        hidden, lengths = [], []
        for i in range(0, len(mine), 16):
            chunk = mine[i:i + 16]
            feats = torch.nn.utils.rnn.pad_sequence([u.feats for u in chunk], batch_first=True)
            h, hl = model(feats, torch.tensor([u.feats.shape[0] for u in chunk]))
            hidden += list(h)
            lengths += hl.tolist()
        out[lang] = (mine, torch.nn.utils.rnn.pad_sequence([h for h in hidden], batch_first=True),
                     torch.tensor(lengths))
    return out


def head_log_probs(head, hidden: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return torch.log_softmax(head(hidden), dim=-1)


def greedy_per(log_probs, lengths, inventory, utts) -> float:
    from speechtl.decoding.greedy import ctc_greedy
    from speechtl.decoding.metrics import phoneme_error_rate

    hyps = [" ".join(inventory.decode(ids)) for ids in ctc_greedy(log_probs, lengths, inventory.blank)]
    return phoneme_error_rate([u.phonemes for u in utts], hyps).rate


def word_accuracy(log_probs, lengths, inventory, utts, lexicon, lang, word_score: float | None) -> dict:
    """1 - WER of the beam search (``word_score``), or with None each recording's best word (isolated)."""
    from speechtl.decoding.config import DecodeConfig
    from speechtl.decoding.evaluate import merge_homophones
    from speechtl.decoding.isolated import word_decoder
    from speechtl.decoding.metrics import error_counts

    mapped, _ = lexicon.map_to(inventory, lang)
    config = DecodeConfig(isolated=True) if word_score is None else DecodeConfig(word_score=word_score)
    decoder = word_decoder(inventory.tokens, mapped, config)
    hyps = [" ".join(h.words) if h else "" for h in decoder(log_probs, lengths)]
    strict = error_counts([u.text for u in utts], hyps)
    merged_utts, merged_hyps = merge_homophones(utts, hyps, {lang: lexicon})
    merged = error_counts([u.text for u in merged_utts], merged_hyps)
    return {"accuracy": 1 - strict.rate, "accuracy_homophones_merged": 1 - merged.rate,
            "empty": sum(not h for h in hyps), "words": strict.reference_length}


def language_text(lang: str):
    """The inventory and phoneme counts add-language --zero-shot takes (eSpeak, 2000 frequent words)."""
    from speechtl.models.attributes import phoneme_counts
    from speechtl.text.g2p_lexicon import inventory_lexicon
    from speechtl.text.inventory import Inventory

    lexicon, _ = inventory_lexicon(lang, 2000)
    return Inventory(lexicon.symbols()), phoneme_counts(p for _, p in lexicon.items())


def test_lexicon(recipe, lang: str):
    """The 100 test words with eSpeak's pronunciations (alone and in context)."""
    from speechtl.data.manifests import corpus_lexicon_path
    from speechtl.text.g2p_lexicon import add_context_variants
    from speechtl.text.lexicon import Lexicon, read_word_list

    root = recipe.data.root
    words = read_word_list(corpus_lexicon_path(root, lang, "test"))
    return add_context_variants(Lexicon.read(corpus_lexicon_path(root, lang)).subset(words), lang)


def make_head(model, inventory, counts, choice: str | None = None, **settings):
    """A zero-shot head; ``choice`` None: the library's default rule (what add-language --zero-shot does)."""
    from speechtl.models.attributes import zero_shot_head

    return zero_shot_head(model.heads, model.attributes, inventory, counts=counts,
                          **({"choice": choice} if choice else {}), **settings)


def dev_choice(model, texts, encoded_by_seed) -> dict:
    """Mean dev PER of each closest-language rule at the library's mix and at mix 0; the best on their mean."""
    table = {}
    rules = [(c, None, None) for c in CHOICES if c != "blend"] + [("blend", t, lt) for t in TEMPERATURES
                                                                  for lt in LANGUAGE_TEMPERATURES]
    for choice, temperature, language in rules:
        key = choice if temperature is None else f"{choice} {temperature:g} {language}"
        for label, settings in (("library mix", {}), ("nearest only", {"mix": 0.0})):
            pers = []
            for lang in dev_languages():
                inventory, counts = texts[lang]
                head, _ = make_head(model, inventory, counts, choice, temperature=temperature,
                                    language_temperature=language, **settings)
                for encoded in encoded_by_seed.values():
                    utts, hidden, lengths = encoded["sentences"][lang]
                    pers.append(greedy_per(head_log_probs(head, hidden), lengths, inventory, utts))
            table.setdefault(key, {})[label] = statistics.fmean(pers)
        table[key]["both"] = statistics.fmean(table[key].values())
    best = min(table, key=lambda k: table[k]["both"])
    return {"mean_per": table, "chosen": best}


def score_head(head, inventory, lang, encoded, lexicons, word_score: float) -> dict:
    """PER on the sentences, isolated-word accuracy on the words, beam word accuracy on the sentences."""
    utts, hidden, lengths = encoded["sentences"][lang]
    lp = head_log_probs(head, hidden)
    row = {"per": greedy_per(lp, lengths, inventory, utts),
           "beam": word_accuracy(lp, lengths, inventory, utts, lexicons[lang], lang, word_score)}
    w_utts, w_hidden, w_lengths = encoded["words"][lang]
    row["isolated"] = word_accuracy(head_log_probs(head, w_hidden), w_lengths, inventory, w_utts, lexicons[lang],
                                    lang, None)
    return row


def dev_grid(model, texts, encoded_by_seed, lexicons_by_seed) -> dict:
    """Head settings (mix, offset, prior) by mean dev PER, then the beam word score by mean dev accuracy."""
    grid = {}
    for mix in EXTRA_MIXES + PLAN["mixes"]:
        for offset in PLAN["offsets"]:
            for prior in PLAN["priors"]:
                pers = []
                for lang in dev_languages():
                    inventory, counts = texts[lang]
                    head, _ = make_head(model, inventory, counts, mix=mix, blank_offset=offset, prior_weight=prior)
                    for encoded in encoded_by_seed.values():
                        utts, hidden, lengths = encoded["sentences"][lang]
                        pers.append(greedy_per(head_log_probs(head, hidden), lengths, inventory, utts))
                grid[f"{mix:g} {offset:g} {prior:g}"] = statistics.fmean(pers)
    best = min(grid, key=grid.get)
    mix, offset, prior = (float(x) for x in best.split())
    scores = {}
    for ws in PLAN["word_scores"]:
        accs = []
        for lang in dev_languages():
            inventory, counts = texts[lang]
            head, _ = make_head(model, inventory, counts)  # the library's head: what users decode with
            for seed, encoded in encoded_by_seed.items():
                utts, hidden, lengths = encoded["sentences"][lang]
                accs.append(word_accuracy(head_log_probs(head, hidden), lengths, inventory, utts,
                                          lexicons_by_seed[seed][lang], lang, ws)["accuracy"])
        scores[f"{ws:g}"] = statistics.fmean(accs)
    return {"head_grid_mean_per": grid, "head_chosen": {"mix": mix, "offset": offset, "prior": prior},
            "word_score_mean_accuracy": scores, "word_score_chosen": float(max(scores, key=scores.get))}


def measure(args) -> dict:
    from speechtl.models.attributes import BLANK_OFFSET, MIX, PRIOR_WEIGHT
    from speechtl.models.io import load_model
    from speechtl.text.closest import LANGUAGE_TEMPERATURE, TEMPERATURE

    started, info = time.time(), machine()
    torch.set_num_threads(1)
    model = load_model(MODEL)
    work = Path(args.work)
    languages = PLAN["test_languages"] + dev_languages()
    texts = {lang: language_text(lang) for lang in languages}
    encoded, lexicons = {}, {}
    for seed in PLAN["seeds"][:args.seeds]:
        sets = load_test_sets(work, seed, model.features)
        encoded[seed] = {kind: encode(model, utts) for kind, (_, utts) in sets.items()}
        lexicons[seed] = {lang: test_lexicon(sets["sentences"][0], lang) for lang in languages}
        print(f"seed {seed}: test sets encoded ({time.time() - started:.0f} s)", flush=True)
    dev = dev_grid(model, texts, {s: encoded[s] for s in encoded}, lexicons)
    dev["closest"] = dev_choice(model, texts, encoded)
    print(f"dev closest rule: {dev['closest']['chosen']}", flush=True)
    print(f"dev: {dev['head_chosen']}, word score {dev['word_score_chosen']:g}", flush=True)
    defaults = {"mix": MIX, "offset": BLANK_OFFSET, "prior": PRIOR_WEIGHT, "temperature": TEMPERATURE,
                "language_temperature": LANGUAGE_TEMPERATURE,
                "choice": make_head(model, *texts[dev_languages()[0]])[1]["choice"]}
    chosen = dev["head_chosen"]
    arms = {"zero-shot": (None, {}),  # add-language --zero-shot as shipped
            "dev-chosen": (None, {"mix": chosen["mix"], "blank_offset": chosen["offset"],
                                  "prior_weight": chosen["prior"]})}
    rule = dev["closest"]["chosen"].split()
    for choice in CHOICES:
        temperature = {"temperature": float(rule[1]), "language_temperature": None if rule[2] == "None"
                       else float(rule[2])} if choice == "blend" and len(rule) > 1 else {}
        arms[f"closest-{choice}"] = (choice, temperature)
        arms[f"closest-{choice}-nearest-only"] = (choice, {"mix": 0.0, **temperature})
    runs, heads = {}, {}
    for lang in languages:
        inventory, counts = texts[lang]
        for name, (choice, settings) in arms.items():
            head, made = make_head(model, inventory, counts, choice, **settings)
            heads.setdefault(lang, {})[name] = made["closest"]
            for seed in encoded:
                row = score_head(head, inventory, lang, encoded[seed], lexicons[seed], dev["word_score_chosen"])
                runs.setdefault(str(seed), {}).setdefault(lang, {})[name] = row
        zs = [runs[str(s)][lang]["zero-shot"] for s in encoded]
        print(f"{lang}: PER {100 * statistics.fmean(r['per'] for r in zs):.1f}%, isolated "
              f"{100 * statistics.fmean(r['isolated']['accuracy'] for r in zs):.1f}%, heads {heads[lang]}", flush=True)
    return {**plan_record(), "measured": True, "extra_dev_mixes": EXTRA_MIXES, "dev_temperatures": TEMPERATURES,
            "dev_language_temperatures": LANGUAGE_TEMPERATURES, "added_dev_languages": ADDED_DEV,
            "model": MODEL, "seeds": list(encoded), "library_defaults": defaults, "dev": dev, "closest_head": heads,
            "runs": runs,
            "inventory_sizes": {lang: len(texts[lang][0].phonemes) for lang in languages},
            "machine": info, "load_average_at_end": [round(x, 2) for x in __import__("os").getloadavg()],
            "seconds": round(time.time() - started, 1),
            "command": " ".join(["python", "-m", "benchmarks.zero_shot_shipped", *sys.argv[1:]])}


def plan_record() -> dict:
    return {"plan": PLAN, "plan_written_before_measuring": "see git log of benchmarks/results/zero_shot_shipped.json"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", action="store_true", help="write the plan alone (before measuring)")
    parser.add_argument("--work", default="exp/zero-shot-shipped", help="test-set corpora")
    parser.add_argument("--seeds", type=int, default=3, help="how many of the plan's seeds to measure")
    args = parser.parse_args()
    write_result("zero_shot_shipped", {**plan_record(), "measured": False} if args.plan else measure(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
