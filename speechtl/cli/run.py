"""``speechtl run RECIPE``: the whole recipe: prepare, train, self-train, plot, evaluate."""

from __future__ import annotations

from speechtl.cli import training_command, training_overrides


def add_parser(sub) -> None:
    p = training_command(sub, "run", "run a whole recipe: prepare its data, train, self-train and plot when "
                                     "it asks, evaluate on test")
    p.set_defaults(func=run)


def run(args) -> int:
    from speechtl.tasks import load_recipe
    from speechtl.workflows.run import run as run_recipe

    recipe = load_recipe(args.recipe, training_overrides(args))
    reports = run_recipe(recipe, resume=args.resume, overwrite=args.overwrite)
    for name, report in reports.items():
        title = f"{name}: {report.get('domain', 'source')} domain, split {report.get('split', 'test')}"
        if "wer_lexicon" in report:
            title += f"; WER with a lexicon of {max(report['wer_lexicon'].values())} words"
        print(f"\n{title} ({recipe.train.exp_dir}):")
        print(report["table"])
    return 0
