"""``speechtl pretrain RECIPE [--set k=v ...] [--resume | --overwrite]``: BEST-RQ on unlabelled audio."""

from __future__ import annotations

from speechtl.cli import training_command, training_overrides


def add_parser(sub) -> None:
    p = training_command(sub, "pretrain", "pre-train the recipe's encoder on the unlabelled audio of "
                                          "pretrain.audio (BEST-RQ); recipes start from it with transfer.source")
    p.set_defaults(func=run)


def run(args) -> int:
    from speechtl.tasks import load_recipe
    from speechtl.workflows.pretrain import pretrain

    recipe = load_recipe(args.recipe, training_overrides(args))
    exp = pretrain(recipe, resume=args.resume, overwrite=args.overwrite)
    print(f"pre-trained model written to {exp / 'model.safetensors'}; start a recipe from it with "
          f"--set transfer.source={exp / 'model'}")
    return 0
