"""``speechtl sweep RECIPE --key transfer.layers.blocks --values 0 1 2 3``: one run per value.

Trains the recipe once per value (and per seed) with the one training loop and
collects each run's test result in one table (``EXP/sweep.json``): the layer
transfer sweep over k is one command.
"""

from __future__ import annotations

from speechtl.cli import add_recipe_args


def add_parser(sub) -> None:
    p = sub.add_parser("sweep", help="train a recipe once per value of one setting and tabulate the results")
    add_recipe_args(p)
    p.add_argument("--key", required=True, help="the dotted recipe key to vary, e.g. transfer.layers.blocks")
    p.add_argument("--values", nargs="+", required=True, help="values (YAML), e.g. 0 1 2 3")
    p.add_argument("--seeds", nargs="+", type=int, default=[0], help="train.seed values (default 0)")
    p.set_defaults(func=run)


def run(args) -> int:
    from speechtl.sweep import sweep

    table = sweep(args.recipe, args.key, args.values, args.seeds, args.overrides)
    print(table["table"])
    return 0
