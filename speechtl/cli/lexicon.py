"""``speechtl lexicon build | merge | check``: make, combine and validate pronunciation lexicons."""

from __future__ import annotations

import sys

from speechtl.cli import add_model_arg, add_output_arg, command


def add_parser(sub) -> None:
    p = command(sub, "lexicon", "build a lexicon with G2P, merge over a shipped one, check against a model")
    cmds = p.add_subparsers(dest="action", required=True, metavar="ACTION")

    b = command(cmds, "build", "pronounce a word list with eSpeak NG G2P")
    b.add_argument("words", help="word list, one word per line")
    b.add_argument("--lang", required=True, help="language code (en, de, fr, ...)")
    add_output_arg(b, "lexicon file to write", required=True)
    b.add_argument("--no-context", action="store_true",
                   help="isolated pronunciations only (default: also eSpeak's in-context variants)")
    b.set_defaults(func=run_build)

    m = command(cmds, "merge", "merge a user lexicon over the shipped one (user entries win)")
    m.add_argument("user", nargs="+", help="user lexicon(s); later files win over earlier ones")
    m.add_argument("--lang", help="merge over this language's shipped lexicon")
    m.add_argument("--base-lexicon", help="merge over this lexicon file instead of a shipped one")
    _add_phoneset_arg(m, "the user lexicons' phone set; the merged lexicon is written in IPA")
    add_output_arg(m, "lexicon file to write", required=True)
    m.set_defaults(func=run_merge)

    c = command(cmds, "check", "check a lexicon's phonemes against a model's inventory")
    c.add_argument("lexicon", help="lexicon file")
    add_model_arg(c)
    c.add_argument("--lang", required=True, help="the language head to check against")
    _add_phoneset_arg(c, "the lexicon's phone set")
    c.add_argument("--strict", action="store_true",
                   help="refuse phonemes the head lacks instead of mapping them to the nearest by features")
    c.set_defaults(func=run_check)


def _add_phoneset_arg(p, help: str) -> None:
    from speechtl.text.phonesets import PHONESETS

    p.add_argument("--phoneset", choices=PHONESETS, default="espeak",
                   help=f"{help}: eSpeak NG's IPA as the models write it, IPA from another source "
                        "(stress marks and tie bars dropped), X-SAMPA or ARPAbet (converted to IPA)")


def run_build(args) -> int:
    from speechtl.errors import shorten
    from speechtl.text.g2p_lexicon import g2p_lexicon
    from speechtl.text.languages import get_language
    from speechtl.text.lexicon import read_word_list

    lang = get_language(args.lang).code  # "EN", " en" -> "en"
    words = read_word_list(args.words)
    lexicon, missing = g2p_lexicon(words, lang, context=not args.no_context)
    lexicon.write(args.output)
    for word in missing:
        print(f"speechtl lexicon: {args.words}: g2p({lang}) cannot pronounce {shorten(word, 60)!r} natively "
              "(another language's rules, or several words); left out", file=sys.stderr)
    print(f"{args.output}: {len(lexicon)} words, {sum(1 for _ in lexicon.items())} pronunciations"
          + (f"; {len(missing)} words left out" if missing else ""))
    return 0


def run_merge(args) -> int:
    from speechtl.errors import LexiconError
    from speechtl.text.g2p_lexicon import shipped_lexicon
    from speechtl.text.languages import get_language
    from speechtl.text.lexicon import Lexicon
    from speechtl.text.lexicon_import import read_lexicon

    if bool(args.lang) == bool(args.base_lexicon):
        raise LexiconError("give exactly one of --lang (merge over the shipped lexicon) or --base-lexicon FILE")
    merged = Lexicon.read(args.base_lexicon) if args.base_lexicon else shipped_lexicon(get_language(args.lang).code)
    known = merged.symbols()  # ARPAbet sequences are joined into the base's own symbols
    for path in args.user:
        merged = merged.merge(read_lexicon(path, args.phoneset, known))
    merged.write(args.output)
    print(f"{args.output}: {len(merged)} words")
    return 0


def run_check(args) -> int:
    from speechtl.models.io import load_model
    from speechtl.text.languages import head_code
    from speechtl.text.lexicon_import import read_lexicon

    model = load_model(args.model)
    args.lang = head_code(args.lang, model.languages)
    model.heads.head(args.lang)  # LanguageError when the model has no such head
    inventory = model.inventories[args.lang]
    lexicon = read_lexicon(args.lexicon, args.phoneset, inventory.phonemes)
    note = f" ({lexicon.duplicates} repeated lines ignored)" if lexicon.duplicates else ""
    if args.strict:
        lexicon.validate(inventory, args.lang)
        print(f"{args.lexicon}: {len(lexicon)} words, all phonemes known to the {args.lang} head{note}")
        return 0
    _, mappings = lexicon.map_to(inventory, args.lang)
    for mapping in mappings:
        print(f"  mapped {mapping.describe()}")
    mapped = f"{len(mappings)} phonemes the {args.lang} head lacks mapped to the nearest by articulatory features " \
             "(listed above; --strict refuses them)" if mappings else f"all phonemes known to the {args.lang} head"
    print(f"{args.lexicon}: {len(lexicon)} words, {mapped}{note}")
    return 0

