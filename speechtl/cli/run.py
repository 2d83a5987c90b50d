"""``speechtl run RECIPE``: the whole recipe: synthesise, train, evaluate (PER, and WER with a lexicon)."""

from __future__ import annotations

from speechtl.cli import add_recipe_args


def add_parser(sub) -> None:
    p = sub.add_parser("run", help="synthesise the corpus, train, and evaluate on test")
    add_recipe_args(p)
    p.add_argument("--resume", action="store_true")
    p.set_defaults(func=run)


def run(args) -> int:
    from speechtl.experiment import evaluate, train
    from speechtl.recipe import load_recipe

    recipe = load_recipe(args.recipe, args.overrides)
    exp = train(recipe, resume=args.resume)
    report = evaluate(exp / "model", "test")
    title = "phoneme error rate (greedy)"
    if "wer" in report:
        title += f" and word error rate (lexicon of {max(report['wer_lexicon'].values())} words)"
    print(f"\n{title} on the test split (unseen speakers, words never heard in training), {exp}:")
    print(report["table"])
    return 0
