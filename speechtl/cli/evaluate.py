"""``speechtl eval --model M [--split test] [--domain target]``: a model's report on a split."""

from __future__ import annotations

from speechtl.cli import add_device_args, add_model_arg, add_output_arg, add_set_arg, command, set_threads


def add_parser(sub) -> None:
    p = command(sub, "eval", "evaluate a model on a split (speech: PER and WER per language; images: accuracy)")
    add_model_arg(p)
    p.add_argument("--split", default=None, choices=["train", "dev", "test"],
                   help="the split scored (None: test; speech --domain target: data.target.test_split)")
    p.add_argument("--domain", default="source", choices=["source", "target"],
                   help="speech: target scores the recipe's target domain (data.target corpus and channel)")
    p.add_argument("--recipe", help="evaluate on this recipe's data instead of the model's own (decoded with the "
                                    "model's decode settings, those set with --set decode.KEY=... replaced)")
    add_set_arg(p, "--recipe")
    add_output_arg(p, "JSON report path (None: eval_SPLIT.json beside the model)")
    add_device_args(p)
    p.add_argument("--int8", action="store_true",
                   help="speech: score the model with int8 dynamic quantisation of its linear layers (CPU only), "
                        "as benchmarks/int8_per_cost.py measures")
    p.set_defaults(func=run)


def run(args) -> int:
    from speechtl.tasks import load_recipe
    from speechtl.workflows.evaluate import decode_options, evaluate

    set_threads(args)
    recipe = load_recipe(args.recipe, args.overrides) if args.recipe else None
    options = {"int8": True} if args.int8 else {}
    if recipe is not None:  # --set decode.KEY=...: on top of the model's own decode settings
        options.update(decode_options(recipe, args.overrides))
    report = evaluate(args.model, args.split, recipe=recipe, output=args.output, domain=args.domain,
                      device=args.device or "cpu", **options)
    print(report["table"])
    return 0
