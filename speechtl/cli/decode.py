"""``speechtl decode --model M [--lang L] [--lexicon F] [--words F] AUDIO...``: words with times.

Text output, per file: ``FILE: words`` then one line per word
``start end word /phonemes/``; ``--json`` prints one JSON object per file.
A file that cannot be read is reported and skipped; the exit status is then 2.
"""

from __future__ import annotations

import json
import sys

from speechtl.cli import add_device_args, add_model_arg, command, finite_float, set_threads


def add_parser(sub) -> None:
    p = command(sub, "decode", "recognise words in audio files with a lexicon (or greedy phonemes)")
    p.add_argument("audio", nargs="+", help="audio files (any format soundfile reads, any rate, any channels)")
    add_model_arg(p)
    p.add_argument("--lang", help="language head (optional when the model has one)")
    p.add_argument("--lexicon", help="lexicon file: 'word p1 p2 ...' per line, phonemes of the model's inventory")
    p.add_argument("--words", help="word list, one per line; words the lexicon lacks get G2P pronunciations "
                                   "(with --lexicon: only these words are recognised)")
    p.add_argument("--shipped", action="store_true",
                   help="also use the language's shipped lexicon (default when neither --lexicon nor --words)")
    p.add_argument("--greedy", action="store_true", help="greedy phoneme output only, no word search")
    p.add_argument("--json", action="store_true", help="one JSON object per file")
    p.add_argument("--lm", help="KenLM word language model (ARPA or binary)")
    p.add_argument("--lm-weight", type=finite_float, help="language model weight (None: the model's decode section)")
    p.add_argument("--word-score", type=finite_float,
                   help="score added per word; negative penalises insertions (None: the model's decode section)")
    p.add_argument("--beam", type=int, help="beam size (None: the model's decode section)")
    p.add_argument("--chunk-seconds", type=finite_float,
                   help="decode longer audio in pieces of this length (None: the model's decode section)")
    add_device_args(p)
    p.set_defaults(func=run)


def _config(args, base):
    """The model's decode section with the options given; ranges checked as for a recipe."""
    from speechtl.config import from_dict, to_dict
    from speechtl.decoding.config import DecodeConfig

    changes = {"lm": args.lm, "lm_weight": args.lm_weight, "word_score": args.word_score,
               "beam_size": args.beam, "chunk_seconds": args.chunk_seconds}
    return from_dict(DecodeConfig, {**to_dict(base), **{k: v for k, v in changes.items() if v is not None}},
                     "decode")


def format_text(result, greedy: bool) -> str:
    if greedy:
        return f"{result.source}: {result.phonemes}"
    lines = [f"{result.source}: {result.text}"]
    lines += [f"  {w.start:8.2f} {w.end:8.2f}  {w.word}  /{' '.join(w.phonemes)}/" for w in result.words]
    return "\n".join(lines)


def run(args) -> int:
    from speechtl.decoding.recognizer import Recognizer, stored_decode_config
    from speechtl.errors import AudioError
    from speechtl.models.io import load_model_and_meta
    from speechtl.text.lexicon import read_word_list

    set_threads(args)
    device = args.device or "cpu"
    model, meta = load_model_and_meta(args.model, device)
    recognizer = Recognizer(model, _config(args, stored_decode_config(meta, args.model)), device)
    language = recognizer.language(args.lang)
    words = read_word_list(args.words) if args.words else None
    if not args.greedy:  # check the lexicon before touching audio (its notes are logged)
        recognizer.prepare(language, args.lexicon, words, args.shipped)
    status = 0
    for path in args.audio:
        try:
            result = recognizer.transcribe(path, language, args.lexicon, words, greedy=args.greedy,
                                           shipped=args.shipped)
        except AudioError as err:
            print(f"speechtl decode: error: {err}", file=sys.stderr)
            status = 2
            continue
        for note in result.notes:
            print(f"speechtl decode: note: {path}: {note}", file=sys.stderr)
        print(json.dumps(result.as_dict(), ensure_ascii=False) if args.json else format_text(result, args.greedy),
              flush=True)
    return status
