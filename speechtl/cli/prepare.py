"""``speechtl prepare RECIPE``: read, label and cache the recipe's corpus before training."""

from __future__ import annotations

import json

from speechtl.cli import add_recipe_args, command


def add_parser(sub) -> None:
    p = command(sub, "prepare", "prepare the recipe's corpus (synthetic, Lhotse, Kaldi, Common Voice, FSDD)")
    add_recipe_args(p)
    p.add_argument("--jobs", type=int, default=0, help="parallel workers (0: the CPU count)")
    p.set_defaults(func=run)


def run(args) -> int:
    from speechtl.data.corpora import default_jobs, prepare_corpus, prepared_report
    from speechtl.tasks import load_recipe

    recipe = load_recipe(args.recipe, args.overrides)
    cuts = prepare_corpus(recipe.data, jobs=args.jobs or default_jobs())
    print(f"{recipe.data.corpus} corpus prepared in {recipe.data.root}/manifests: "
          + ", ".join(f"{split} {len(c)} recordings" for split, c in cuts.items()))
    report = prepared_report(recipe.data)
    if report:
        print(json.dumps({split: {k: v for k, v in r.items() if k != "skipped_examples"}
                          for split, r in report.items()}, indent=1, ensure_ascii=False))
    return 0
