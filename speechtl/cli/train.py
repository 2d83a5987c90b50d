"""``speechtl train RECIPE [--set k=v ...] [--resume]``."""

from __future__ import annotations

import os

from speechtl.cli import add_recipe_args


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train the recipe's model (runs under torchrun too)")
    add_recipe_args(p)
    p.add_argument("--resume", action="store_true", help="continue from the newest complete checkpoint")
    p.set_defaults(func=run)


def run(args) -> int:
    from speechtl.experiment import train
    from speechtl.recipe import load_recipe

    recipe = load_recipe(args.recipe, args.overrides)
    exp = train(recipe, resume=args.resume)
    if os.environ.get("RANK", "0") == "0":  # under torchrun only rank 0 reports
        print(f"model written to {exp / 'model.safetensors'}")
    return 0
