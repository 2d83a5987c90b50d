"""``speechtl languages [CODE...]``: every language eSpeak NG speaks, with what speechtl has for it."""

from __future__ import annotations

from speechtl.cli import command


def add_parser(sub) -> None:
    p = command(sub, "languages", "list every language (eSpeak NG's) with its voice, wordfreq list and lexicon")
    p.add_argument("codes", nargs="*", help="only these languages, with a sampled phoneme inventory")
    p.add_argument("--inventory", action="store_true",
                   help="sample every listed language's inventory (tone and length marks; slower)")
    p.set_defaults(func=run)


def _flag(value: bool | None, yes: str) -> str:
    return "?" if value is None else (yes if value else "-")


def run(args) -> int:
    from speechtl.text.language_info import language_info
    from speechtl.text.languages import LANGUAGES, get_language

    codes = [get_language(c).code for c in args.codes] or list(LANGUAGES)
    sample = args.inventory or bool(args.codes)
    print(f"{'code':<20} {'voice':<20} {'wordfreq':<8} {'lexicon':<7} {'spaces':<6} {'tone':<4} {'length':<6} name")
    for code in codes:
        info = language_info(code, inventory=sample)
        lang = info.language
        print(f"{code:<20} {lang.synth_voice:<20} {lang.wordfreq or '-':<8} {'yes' if info.lexicon else '-':<7} "
              f"{'yes' if lang.spaces else 'no':<6} {_flag(info.tone, 'yes'):<4} {_flag(info.length, 'yes'):<6} "
              f"{lang.name}")
        if args.codes and info.inventory:
            print(f"  inventory ({len(info.inventory)} symbols from frequent words): {' '.join(info.inventory)}")
    if not sample:
        print("(tone/length '?': not sampled; name codes or pass --inventory. wordfreq '-': set "
              "data.synth.text_files for that language)")
    return 0
