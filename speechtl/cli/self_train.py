"""``speechtl self-train RECIPE``: pseudo-label the target domain and train again, in rounds."""

from __future__ import annotations

import json

from speechtl.cli import add_device_args, add_recipe_args, command, training_overrides


def add_parser(sub) -> None:
    p = command(sub, "self-train", "self-train a trained recipe's model on its unlabelled target-domain audio "
                                   "(transfer.self_training rounds)")
    add_recipe_args(p)
    p.add_argument("--resume", action="store_true", help="keep the rounds already finished; continue the rest")
    add_device_args(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    from speechtl.tasks import load_recipe
    from speechtl.workflows.self_train import self_train

    recipe = load_recipe(args.recipe, training_overrides(args))
    summary = self_train(recipe, Path(recipe.train.exp_dir), resume=args.resume)
    print(json.dumps(summary["rounds"], indent=1))
    print(f"model written to {summary['model']}")
    return 0
