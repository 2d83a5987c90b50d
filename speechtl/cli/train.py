"""``speechtl train RECIPE [--set k=v ...] [--resume | --overwrite]``: the training loop alone."""

from __future__ import annotations

import os

from speechtl.cli import training_command, training_overrides


def add_parser(sub) -> None:
    p = training_command(sub, "train", "train the recipe's model (runs under torchrun too)")
    p.set_defaults(func=run)


def run(args) -> int:
    from speechtl.tasks import load_recipe
    from speechtl.workflows.train import train

    recipe = load_recipe(args.recipe, training_overrides(args))
    exp = train(recipe, resume=args.resume, overwrite=args.overwrite)
    if os.environ.get("RANK", "0") == "0":  # under torchrun only rank 0 reports
        print(f"model written to {exp / 'model.safetensors'}")
    return 0
