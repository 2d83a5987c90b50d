#!/usr/bin/env python
"""Zero-shot phoneme heads for languages never in training (issue #15): attributes vs nearest phoneme vs audio.

A multilingual model with articulatory attribute detectors (``model.attributes``)
is trained on the synthetic corpus of the README demo's 8 languages, and the
same model without them (same seed, data order and steps), for each seed. For
each test language it never heard, a head is made with no audio of it, from the
inventory of eSpeak's pronunciations of its frequent words:

* ``attributes``: composed from the attribute detectors (``add-language --zero-shot``);
* ``attributes-unprojected``: the same without the correction of attribute values
  no trained phoneme had (:func:`speechtl.models.attributes.project_signatures`);
* ``nearest``: each phoneme's row copied from the nearest phoneme (articulatory
  features) of the closest trained language's head (the trained language whose
  inventory is nearest on average, chosen from inventories alone);
* ``nearest-any``: the same over every trained head;

and ``audio``: add-language (conservative) with 10 minutes of the language's audio.

Scored on the test split of each new language (voices and words unseen in
training): greedy PER, and word accuracy (1 - WER) of lexicon decoding over the
split's 100 test words. The one setting, each zero-shot head's blank offset, is
chosen on dev languages (never in training, never reported); the attribute weight
(0.5), the model, the adaptation steps and the decoding settings are fixed before
measuring. The trained languages' PER with the attribute term on and off comes
from the same runs.

    python -m benchmarks.zero_shot_languages --work /tmp/zs   # measure: benchmarks/results/zero_shot_languages.json
    python -m scripts.make_results                             # write docs/results/languages.md from the JSON
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from benchmarks.common import machine, write_result

TRAIN = ["en", "de", "fr", "es", "it", "nl", "pt", "pl"]  # the README demo model's 8 languages
# never in training: Cyrillic; Arabic script with pharyngeals (ħ ʕ) no training language has; Devanagari
TEST = ["ru", "ar", "hi"]
# never in training and never reported: the languages settings of the composed head are chosen on
# (Bengali: aspirated and retroflex stops, another Indic script; Greek: another script; Swedish: ʉ ɵ ʂ)
DEV = ["bn", "el", "sv"]
# enough training audio in each test language for add-language with 10 minutes of it
AUDIO_UTTERANCES = {"ru": 700, "ar": 450, "hi": 700}
ATTRIBUTE_WEIGHT = 0.5  # model.attributes, fixed before measuring


def recipe_for(root: str, languages: list[str], exp: str, steps: int, seed: int, attributes: float = 0.5):
    from speechtl.data.config import DataConfig, SynthConfig
    from speechtl.tasks.speech.recipe import Recipe

    synth = SynthConfig(vocabulary=500, train_utterances=200, dev_utterances=10, test_utterances=60,
                        train_speakers=16, dev_speakers=2, test_speakers=4, words_per_utterance=(2, 4), seed=0,
                        train_utterances_per_language=dict(AUDIO_UTTERANCES))
    recipe = Recipe(name="zero-shot-languages", data=DataConfig(root=root, languages=languages, synth=synth))
    recipe.model.encoder, recipe.model.dim, recipe.model.layers, recipe.model.dropout = "tdnn", 160, 4, 0.1
    recipe.model.attributes = attributes
    recipe.train.exp_dir, recipe.train.max_steps, recipe.train.seed = exp, steps, seed
    recipe.train.max_duration, recipe.train.warmup_steps, recipe.train.lr = 60, 50, 3e-3
    recipe.train.log_every, recipe.train.checkpoint_every, recipe.train.num_threads = 50, steps, 1
    return recipe


def exp_dir(work: str | Path, attributes: float, seed: int) -> Path:
    return Path(work) / f"exp-attributes{attributes:g}-seed{seed}"


def train_models(args) -> None:
    """Train each seed's model with the attribute term on and off (same data order and steps), unless there."""
    import torch

    from speechtl.workflows.train import train

    root = str(Path(args.work) / "corpus")
    for seed in args.seeds:
        for attributes in (ATTRIBUTE_WEIGHT, 0.0):
            exp = exp_dir(args.work, attributes, seed)
            if (exp / "model.json").is_file():
                continue
            started = time.time()
            torch.manual_seed(seed)
            train(recipe_for(root, TRAIN, str(exp), args.steps, seed, attributes), progress=False)
            (exp / "train_seconds.json").write_text(json.dumps({"seconds": round(time.time() - started, 1),
                                                                "machine": machine()}))
            print(f"trained {exp} in {time.time() - started:.0f} s", flush=True)


def score(model, utts, lexicon, language) -> dict:
    from speechtl.decoding.evaluate import evaluate_per, evaluate_wer

    per = evaluate_per(model, utts)[language]
    wer = evaluate_wer(model, utts, {language: lexicon})[language]
    return {"per": per.rate, "per_errors": per.errors, "per_ref": per.reference_length,
            "word_accuracy": 1 - wer.rate, "wer_errors": wer.errors, "words": wer.reference_length}


OFFSETS = [-3.0, -2.0, -1.0, 0.0, 1.0]  # blank offsets tried on the dev languages
MIXES = [0.0, 0.25, 0.5, 0.75, 1.0]  # weights of the composed head tried on the dev languages
PRIORS = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0]  # weights of the lexicon's log phoneme prior tried on the dev languages
# head: the (mix, offset, prior weight) grid tried on dev; mix None: not a zero_shot_head mixture
GRIDS = {"zero-shot": [(m, o, w) for m in MIXES for o in OFFSETS for w in PRIORS],
         "attributes": [(1.0, o, w) for o in OFFSETS for w in PRIORS],
         "nearest": [(0.0, o, w) for o in OFFSETS for w in PRIORS],
         "attributes-unprojected": [(None, o, 0.0) for o in OFFSETS],
         "nearest-any": [(None, o, 0.0) for o in OFFSETS]}


def zero_shot(trained, inventory, counts, name: str, mix: float | None, offset: float, prior: float):
    """A head over ``inventory`` made with no audio: ``name`` of :data:`GRIDS` with its settings."""
    from speechtl.models.attributes import nearest_phone_head, zero_shot_head

    if name in ("zero-shot", "attributes", "nearest"):
        return zero_shot_head(trained.heads, trained.attributes, inventory, mix=mix, blank_offset=offset,
                              counts=counts, prior_weight=prior, choice="mean")[0]  # the rule it was measured with
    if name == "attributes-unprojected":  # the composition before the unseen-value correction
        return trained.attributes.compose_head(inventory, blank_offset=offset)
    head, _ = nearest_phone_head(trained.heads, inventory)  # nearest-any
    with torch.no_grad():
        head.bias[0] -= offset
    return head


def language_data(root: str, lang: str, utts_all: list):
    """A language's test utterances and the lexicon of its test words (with eSpeak's context variants)."""
    from speechtl.data.manifests import corpus_lexicon_path
    from speechtl.text.g2p_lexicon import add_context_variants
    from speechtl.text.lexicon import Lexicon, read_word_list

    utts = [u for u in utts_all if u.language == lang]
    words = read_word_list(corpus_lexicon_path(root, lang, "test"))
    return utts, add_context_variants(Lexicon.read(corpus_lexicon_path(root, lang)).subset(words), lang), words


def with_head(model_path, lang, inventory, head):
    from speechtl.models.io import load_model

    model = load_model(model_path)
    model.heads.put(lang, inventory, head)
    return model


def per_only(model, utts, language) -> float:
    from speechtl.decoding.evaluate import evaluate_per

    return evaluate_per(model, utts)[language].rate


def measure(args) -> dict:
    from statistics import mean

    from speechtl.models.attributes import BLANK_OFFSET, MIX, PRIOR_WEIGHT, phoneme_counts
    from speechtl.models.io import load_model
    from speechtl.tasks.speech.data import load_split
    from speechtl.text.g2p_lexicon import frequent_lexicon
    from speechtl.text.inventory import Inventory
    from speechtl.text.phonesets import closest_inventory
    from speechtl.workflows.add_language import add_language

    started = time.time()
    start_machine = machine()
    root = str(Path(args.work) / "corpus")
    synthesize_corpus_for(root)
    earlier = all((exp_dir(args.work, a, seed) / "model.json").is_file()
                  for seed in args.seeds for a in (ATTRIBUTE_WEIGHT, 0.0))
    train_models(args)
    utts_all = load_split(recipe_for(root, TRAIN + TEST + DEV, "unused", args.steps, 0), "test")
    lexicons = {lang: frequent_lexicon(lang, 2000) for lang in TEST + DEV}
    inventories = {lang: Inventory(lexicons[lang].symbols()) for lang in TEST + DEV}
    counts = {lang: phoneme_counts(pron for _, pron in lexicons[lang].items()) for lang in TEST + DEV}
    result = {"library_defaults": {"mix": MIX, "offset": BLANK_OFFSET, "prior": PRIOR_WEIGHT},
              "train_languages": TRAIN, "test_languages": TEST, "dev_languages": DEV, "seeds": args.seeds,
              "steps": args.steps, "adapt_steps": args.adapt_steps, "adapt_minutes": 10,
              "recipe": {"model": vars(recipe_for(root, TRAIN, "unused", args.steps, 0).model),
                         "synth": vars(recipe_for(root, TRAIN, "unused", args.steps, 0).data.synth)},
              "dev": {}, "runs": {}, "languages": {}}
    for lang in TEST + DEV:
        trained = load_model(exp_dir(args.work, ATTRIBUTE_WEIGHT, args.seeds[0]) / "model")
        closest, distance = closest_inventory(inventories[lang].phonemes,
                                              {k: v.phonemes for k, v in trained.inventories.items()})
        ref = {p for u in utts_all if u.language == lang for p in u.phonemes.split() if p != "|"}
        result["languages"][lang] = {
            "inventory": inventories[lang].phonemes, "closest_trained": closest, "closest_mean_distance": distance,
            "test_phonemes_outside_inventory": sorted(ref - set(inventories[lang].phonemes)),
            "phonemes_no_trained_language_has": sorted(
                set(inventories[lang].phonemes) - {p for inv in trained.inventories.values() for p in inv.phonemes})}

    # 1. dev: each head's settings (mix, blank offset), chosen on the dev languages' mean PER over seeds
    dev_pers: dict = {}
    for seed in args.seeds:
        path = exp_dir(args.work, ATTRIBUTE_WEIGHT, seed) / "model"
        trained = load_model(path)
        for lang in DEV:
            utts = [u for u in utts_all if u.language == lang]
            for name, grid in GRIDS.items():
                for mix, offset, prior in grid:
                    if name != "zero-shot" and mix is not None:
                        continue  # attributes and nearest are points of the zero-shot grid
                    head = zero_shot(trained, inventories[lang], counts[lang], name, mix, offset, prior)
                    key = f"{name} {mix} {offset:g} {prior:g}"
                    dev_pers.setdefault(key, {}).setdefault(lang, []).append(
                        per_only(with_head(path, lang, inventories[lang], head), utts, lang))
            print(f"dev seed {seed} {lang} done", flush=True)
    for name, grid in GRIDS.items():
        table = {}
        for mix, offset, prior in grid:
            pers = dev_pers[f"{'zero-shot' if mix is not None else name} {mix} {offset:g} {prior:g}"]
            table[f"{mix} {offset:g} {prior:g}"] = {"mix": mix, "offset": offset, "prior": prior, "per": pers,
                                                    "mean": mean(x for v in pers.values() for x in v)}
        best = min(table.values(), key=lambda v: v["mean"])
        result["dev"][name] = {"grid": table, "chosen": {k: best[k] for k in ("mix", "offset", "prior")}}
        print(f"dev {name}: chosen mix {best['mix']} offset {best['offset']:g} prior {best['prior']:g}, "
              f"mean PER {100 * best['mean']:.1f}%", flush=True)

    # 2. test: zero-shot heads with the dev-chosen offsets, add-language with 10 minutes, trained heads on/off
    for seed in args.seeds:
        path = exp_dir(args.work, ATTRIBUTE_WEIGHT, seed) / "model"
        run = {"languages": {}, "trained": {}}
        for attributes in (ATTRIBUTE_WEIGHT, 0.0):
            model = load_model(exp_dir(args.work, attributes, seed) / "model")
            run["trained"][f"{attributes:g}"] = {
                lang: per_only(model, [u for u in utts_all if u.language == lang], lang) for lang in TRAIN}
        for lang in TEST:
            utts, lexicon, _ = language_data(root, lang, utts_all)
            trained = load_model(path)
            entry = {}
            for name in GRIDS:
                chosen = result["dev"][name]["chosen"]
                head = zero_shot(trained, inventories[lang], counts[lang], name, chosen["mix"], chosen["offset"],
                                 chosen["prior"])
                entry[name] = score(with_head(path, lang, inventories[lang], head), utts, lexicon, lang)
                print(f"seed {seed} {lang} {name}: PER {100 * entry[name]['per']:.1f}%  word accuracy "
                      f"{100 * entry[name]['word_accuracy']:.1f}%", flush=True)
            data = Path(args.work) / f"add-{lang}.yaml"
            data.write_text(recipe_yaml(root, lang), encoding="utf-8")
            adapted = add_language(path, lang, data, "conservative", Path(args.work) / f"add-{lang}-seed{seed}",
                                   minutes=10, progress=False, overwrite=True,
                                   before=run["trained"][f"{ATTRIBUTE_WEIGHT:g}"],
                                   overrides=[f"train.max_steps={args.adapt_steps}", "train.warmup_steps=20",
                                              f"train.checkpoint_every={args.adapt_steps}", "train.log_every=50",
                                              "train.num_threads=1", f"train.seed={seed}"])
            entry["audio"] = score(load_model(adapted.exp_dir / "model"), utts, lexicon, lang)
            entry["audio"]["minutes"] = adapted.report.get("minutes")
            print(f"seed {seed} {lang} audio: PER {100 * entry['audio']['per']:.1f}%", flush=True)
            run["languages"][lang] = entry
        result["runs"][str(seed)] = run
    result["machine"] = start_machine
    result["load_average_at_end"] = [round(x, 2) for x in __import__("os").getloadavg()]
    result["train_seconds"] = {str(seed): {f"{a:g}": json.loads(
        (exp_dir(args.work, a, seed) / "train_seconds.json").read_text())["seconds"]
        for a in (ATTRIBUTE_WEIGHT, 0.0)} for seed in args.seeds}
    result["seconds"] = round(time.time() - started, 1)
    result["models_from_earlier_run"] = earlier  # trained by train_models() of an earlier run of this command
    result["command"] = " ".join(["python", "benchmarks/zero_shot_languages.py", *sys.argv[1:]])
    return result


def recipe_yaml(root: str, lang: str) -> str:
    """A recipe whose data section holds ``lang`` of the benchmark corpus (add-language's --data)."""
    import yaml

    from speechtl.config import to_dict

    return yaml.safe_dump({"data": to_dict(recipe_for(root, [lang], "unused", 1, 0).data)}, allow_unicode=True)


def synthesize_corpus_for(root: str) -> None:
    from speechtl.data.synth import synthesize_corpus

    synthesize_corpus(recipe_for(root, TRAIN + TEST + DEV, "unused", 1, 0).data, jobs=1, progress=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="exp/zero-shot-languages", help="corpus and experiment directory")
    parser.add_argument("--steps", type=int, default=1000, help="training steps of each model")
    parser.add_argument("--adapt-steps", type=int, default=200, help="add-language steps with 10 minutes of audio")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    print(f"wrote {write_result('zero_shot_languages', measure(args))}; the page: python -m scripts.make_results")
    return 0


if __name__ == "__main__":
    sys.exit(main())
