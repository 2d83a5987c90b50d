"""``speechtl eval MODEL [--split test] [--domain target]``: per-language phoneme error rate."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("eval", help="per-language PER of a model on a corpus split")
    p.add_argument("model", help="model file (.safetensors/.json), checkpoint or experiment directory")
    p.add_argument("--split", default=None, choices=["train", "dev", "test"],
                   help="default: test (source), data.target.test_split (target)")
    p.add_argument("--domain", default="source", choices=["source", "target"],
                   help="target: the recipe's target domain (data.target corpus and channel), with labels")
    p.add_argument("--recipe", help="evaluate on this recipe's corpus instead of the model's own")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a value of --recipe")
    p.add_argument("--output", help="JSON report path (default: eval_SPLIT.json beside the model)")
    p.set_defaults(func=run)


def run(args) -> int:
    from speechtl.experiment import evaluate
    from speechtl.recipe import load_recipe

    recipe = load_recipe(args.recipe, args.overrides) if args.recipe else None
    report = evaluate(args.model, args.split, recipe=recipe, output=args.output, domain=args.domain)
    print(report["table"])
    return 0
