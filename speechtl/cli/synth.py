"""``speechtl synth RECIPE``: make the recipe's synthetic corpus."""

from __future__ import annotations

import json

from speechtl.cli import add_recipe_args, command


def add_parser(sub) -> None:
    p = command(sub, "synth", "synthesise the recipe's multilingual corpus with eSpeak NG")
    add_recipe_args(p)
    p.add_argument("--jobs", type=int, default=0, help="parallel processes (0: the CPU count)")
    p.set_defaults(func=run)


def run(args) -> int:
    from speechtl.data.corpora import default_jobs
    from speechtl.data.synth import synthesize_corpus
    from speechtl.tasks import load_recipe

    recipe = load_recipe(args.recipe, args.overrides)
    summary = synthesize_corpus(recipe.data, jobs=args.jobs or default_jobs())
    print(f"corpus in {recipe.data.root}")
    print(json.dumps(summary["stats"], indent=1))
    return 0
