"""``speechtl sweep RECIPE --key transfer.layers.blocks --values 0 1 2 3``: one run per value, scored on dev.

Trains the recipe once per value (and per seed) with the one training loop and
collects each run's dev figures in one table (``EXP/sweep.json``): the layer
transfer sweep over k is one command. Settings are chosen on dev, never on test.
"""

from __future__ import annotations

from speechtl.cli import add_device_args, add_recipe_args, command, training_overrides


def add_parser(sub) -> None:
    p = command(sub, "sweep", "train a recipe once per value of one setting and seed; tabulate the dev figures")
    add_recipe_args(p)
    p.add_argument("--key", required=True, help="the dotted recipe key to vary, e.g. transfer.layers.blocks")
    p.add_argument("--values", nargs="+", required=True, help="values (YAML), e.g. 0 1 2 3")
    p.add_argument("--seeds", nargs="+", type=int, default=[0], help="train.seed values")
    add_device_args(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from speechtl.workflows.sweep import sweep

    table = sweep(args.recipe, args.key, args.values, args.seeds, training_overrides(args))
    print(table["table"])
    return 0
