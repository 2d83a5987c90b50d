"""``speechtl add-language --model BASE --lang L --data RECIPE_OR_MANIFEST --strategy S``."""

from __future__ import annotations

from speechtl.cli import (add_device_args, add_model_arg, add_output_arg, add_set_arg, command, finite_float,
                          training_overrides)
from speechtl.workflows.add_language_options import REPLAY_MINUTES, STRATEGIES


def add_parser(sub) -> None:
    p = command(sub, "add-language", "add a language head to a trained model; report what the old languages forget")
    add_model_arg(p, help="the trained multilingual base model (file, checkpoint or experiment directory)")
    p.add_argument("--lang", required=True, help="code of the new language")
    p.add_argument("--data",
                   help="a recipe whose data section holds the language, or a Lhotse manifest of its training audio "
                        "(required unless --zero-shot)")
    p.add_argument("--zero-shot", action="store_true",
                   help="no audio: compose the head from the language's phoneme inventory (articulatory attributes "
                        "when the model has them, averaged with the trained heads' nearest phonemes, blended by "
                        "distance; without them, those nearest phonemes alone) and write the model to -o")
    p.add_argument("--lexicon", help="--zero-shot: take the inventory from this lexicon "
                                     "(default: eSpeak NG's pronunciations of the language's frequent words)")
    p.add_argument("--from", dest="source", metavar="HEAD",
                   help="--zero-shot: take every nearest-phoneme row from this head of the model (default: every "
                        "head's nearest phoneme, blended by articulatory distance)")
    p.add_argument("--any-head", action="store_true",
                   help="--zero-shot: each phoneme's nearest-phoneme row from its nearest in any head (ties to the "
                        "closest head), so several heads contribute")
    p.add_argument("--text-file", help="--zero-shot: frequent words from this word list or text file "
                                       "(for languages wordfreq lacks)")
    p.add_argument("--test-data", help="with a manifest as --data: a Lhotse manifest of its test audio")
    p.add_argument("--strategy", choices=STRATEGIES, default="conservative",
                   help="scratch: a new model on the new data alone; finetune: the whole encoder adapts; "
                        "layer-transfer: front end and first --freeze-blocks blocks frozen; conservative: "
                        "finetune plus L2-SP to the base weights and KL keeping the old heads' outputs")
    p.add_argument("--minutes", type=finite_float, default=0.0, help="use only this many minutes of training audio (0: all)")
    p.add_argument("--replay-minutes", type=finite_float, default=REPLAY_MINUTES,
                   help="minutes of each base language's own training audio trained beside the new data, so the "
                        "encoder keeps serving them (default: %(default)s; 0: none; not for scratch)")
    p.add_argument("--freeze-blocks", type=int, default=-1,
                   help="layer-transfer: encoder blocks frozen (-1: half of them)")
    add_output_arg(p, "experiment directory (None: exp/add-LANG-STRATEGY)")
    p.add_argument("--replace-head", action="store_true", help="retrain a language the base model already has")
    p.add_argument("--isolated", action="store_true",
                   help="one word per recording (commands, digits): the new language is decoded by the best word "
                        "of its word list (a manifest's distinct transcripts), never an empty transcript, and the "
                        "report gives its word accuracy with each test recording decoded alone")
    p.add_argument("--splits", nargs="+", default=[], metavar="SPLIT",
                   help="also score these splits (e.g. dev) as test is: the new language and what the old languages "
                        "forget on each, in the report's splits section (a choice of settings reads dev, never test)")
    p.add_argument("--overwrite", action="store_true", help="replace a run already in the experiment directory")
    add_set_arg(p, "the adaptation run's recipe")
    add_device_args(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from speechtl.errors import RecipeError
    from speechtl.text.languages import get_language
    from speechtl.tasks.speech.zero_shot_language import zero_shot_language
    from speechtl.workflows.add_language import add_language

    if args.zero_shot:
        lang = get_language(args.lang).code
        result = zero_shot_language(args.model, lang, args.output or f"exp/add-{lang}-zero-shot",
                                    args.lexicon, args.text_file, replace_head=args.replace_head,
                                    from_head=args.source, any_head=args.any_head)
        ranking = ", ".join(f"{h} {d:.2f}" for h, d in result["ranking"][:4])
        print(f"{lang}: closest trained heads by sound (frequency-weighted feature distance): {ranking}"
              + (f"; --from {result['closest']}: every row from that head" if args.source else ""))
        blend = result["choice"] == "blend"
        for phoneme, source in result["mapped"].items():
            other, _, symbol = source.rpartition(":") if ":" in source else ("", "", source)
            where = f"{other}'s {symbol!r}" if other else repr(symbol)
            print(f"  {phoneme!r}: the closest trained head ({result['closest']}) lacks it; "
                  f"its nearest-phone part is {'mostly ' if blend else ''}{where}'s row")
        rows = "every head's, blended by distance" if blend else f"{result['closest']}'s"
        how = (f"{result['method']}, {result['mix']:g} composed + {1 - result['mix']:g} nearest phonemes: "
               f"{rows}" if result["mix"] else f"{result['method']}, nearest phonemes: {rows}")
        print(f"{lang}: head composed ({how}) over {len(result['inventory'])} phonemes from "
              f"{result['words']} words: {' '.join(result['inventory'])}")
        print(f"model written to {result['model']}.safetensors")
        return 0
    if not args.data:
        raise RecipeError("add-language: --data is required (or --zero-shot for a head without audio)")

    result = add_language(args.model, args.lang, args.data, args.strategy, args.output, args.test_data,
                          args.minutes, args.freeze_blocks, training_overrides(args), replace_head=args.replace_head,
                          overwrite=args.overwrite,
                          replay_minutes=args.replay_minutes, isolated=args.isolated, splits=args.splits)
    print(result.report["table"])
    for split, report in result.report.get("splits", {}).items():
        print(f"on {split}:\n{report['table']}")
    print(f"model written to {result.exp_dir / 'model.safetensors'}; report in {result.exp_dir / 'forgetting.json'}")
    return 0
