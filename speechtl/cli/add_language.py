"""``speechtl add-language --base CKPT --lang L --data RECIPE_OR_MANIFEST --strategy S``."""

from __future__ import annotations

from speechtl.add_language import STRATEGIES


def add_parser(sub) -> None:
    p = sub.add_parser("add-language", help="add a language head to a trained model; report forgetting")
    p.add_argument("--base", required=True, help="the trained multilingual model (file or experiment dir)")
    p.add_argument("--lang", required=True, help="ISO 639-1 code of the new language")
    p.add_argument("--data", required=True,
                   help="a recipe whose data section holds the language, or a Lhotse manifest of its training audio")
    p.add_argument("--test-data", help="with a manifest as --data: a Lhotse manifest of its test audio")
    p.add_argument("--strategy", choices=STRATEGIES, default="conservative")
    p.add_argument("--minutes", type=float, default=0.0, help="use only this many minutes of training audio")
    p.add_argument("--freeze-blocks", type=int, default=-1,
                   help="layer-transfer: encoder blocks frozen (default: half)")
    p.add_argument("--out", help="experiment directory (default exp/add-LANG-STRATEGY)")
    p.add_argument("--overwrite", action="store_true", help="retrain a language the base model already has")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe value of the adaptation run, e.g. --set train.max_steps=300")
    p.set_defaults(func=run)


def run(args) -> int:
    from speechtl.add_language import add_language

    result = add_language(args.base, args.lang, args.data, args.strategy, args.out, args.test_data,
                          args.minutes, args.freeze_blocks, args.overrides, args.overwrite)
    print(result.report["table"])
    print(f"model written to {result.exp_dir / 'model.safetensors'}; report in {result.exp_dir / 'forgetting.json'}")
    return 0
