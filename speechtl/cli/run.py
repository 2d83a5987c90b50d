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
    if getattr(recipe.data, "corpus", "") == "synthetic":
        print(next_steps(recipe.train.exp_dir, list(recipe.data.languages), list(recipe.data.synth.engines)))
    return 0


ENGINE_NAMES = {"espeak": "eSpeak NG", "flite": "Flite", "festival": "Festival", "piper": "Piper"}


def next_steps(exp_dir: str, languages: list[str], engines: list[str] = ("espeak",)) -> str:
    """What a model trained on the synthetic corpus (spoken by ``engines``, data.synth.engines) can and cannot
    hear, and what to run next."""
    model, first = f"{exp_dir}/model", languages[0]
    names = [ENGINE_NAMES.get(e, e) for e in engines]
    spoken = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"""
What this model can hear: {spoken}'s synthetic voices speaking {', '.join(languages)}, any word a lexicon
or G2P can spell in those languages (the test words above were never in training).
What it cannot (yet): real voices reliably (it has only heard {spoken}: expect far lower accuracy on
recordings of people), languages without a head, and anything but words of the list you give it.
Next:
  speechtl decode --model {model} --lang {first} --words words.txt rec.wav            # sentences from your word list
  speechtl decode --model {model} --lang {first} --words words.txt --isolated *.wav   # one word per recording (commands, digits)
  speechtl add-language --model {model} --lang sw --zero-shot -o exp/add-sw             # a language it never heard, no audio
  speechtl add-language --model {model} --lang {first} --replace-head --data cuts.jsonl.gz  # adapt to real recordings"""
