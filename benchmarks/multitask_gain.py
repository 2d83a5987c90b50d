"""Multitask gain or negative transfer: does the low-resource language gain from the others?

Trains a monolingual model of the same size on the same data of one language (by
default the language with the least training data in the recipe) with the same
schedule, and compares its test PER with the multilingual model's PER on that
language.

    python -m benchmarks.multitask_gain --multilingual exp/multilingual-synth/model
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from speechtl.workflows.evaluate import evaluate

from speechtl.workflows.train import train
from speechtl.data.synth import utterance_counts
from speechtl.tasks import load_recipe


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", default="recipes/multilingual-synth.yaml")
    ap.add_argument("--multilingual", default="exp/multilingual-synth/model",
                    help="the trained multilingual model (make demo writes it)")
    ap.add_argument("--language", help="default: the recipe's language with the least training data")
    ap.add_argument("--steps", type=int, default=0,
                    help="monolingual training steps (default: the recipe's); the monolingual data is"
                         " small, so a shorter schedule already passes it dozens of times")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="extra recipe overrides for the monolingual run (e.g. train.num_threads=1)")
    ap.add_argument("--out", default="benchmarks/results/multitask_gain.json")
    args = ap.parse_args()
    recipe = load_recipe(args.recipe)
    lang = args.language or min(recipe.data.languages,
                                key=lambda l: utterance_counts(recipe.data.synth, l)["train"])
    mono_exp = f"exp/multitask-gain/mono-{lang}"
    steps = args.steps or recipe.train.max_steps
    mono_recipe = load_recipe(args.recipe, [f"data.languages=[{lang}]", f"train.exp_dir={mono_exp}",
                                            f"train.max_steps={steps}", *args.overrides])
    train(mono_recipe, progress=False)
    mono = evaluate(Path(mono_exp) / "model", "test", progress=False)["per"][lang]
    if not Path(args.multilingual).with_suffix(".json").is_file():
        raise SystemExit(f"{args.multilingual}: train the multilingual model first (make demo)")
    multi = evaluate(args.multilingual, "test", progress=False)["per"][lang]
    result = {
        "language": lang, "train_utterances": utterance_counts(recipe.data.synth, lang)["train"],
        "multilingual_steps": recipe.train.max_steps, "monolingual_steps": steps, "multilingual_per": multi["rate"], "monolingual_per": mono["rate"],
        "relative_change": (multi["rate"] - mono["rate"]) / mono["rate"],
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
