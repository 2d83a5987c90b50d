"""``speechtl score --ref REF --hyp HYP``: WER and CER (or PER) of a hypothesis file, icefall-style details.

REF and HYP: ``id words...`` per line (Kaldi ``text``), JSON lines (``id`` and ``text``, or
``phonemes`` with ``--unit phoneme``; ``speechtl decode --format jsonl`` writes them) or NIST CTM.
Writes ``recogs-NAME.txt`` and ``errs-NAME.txt`` to ``-o`` (default: HYP's folder).
"""

from __future__ import annotations

from pathlib import Path

from speechtl.cli import command


def add_parser(sub) -> None:
    p = command(sub, "score", "score a hypothesis file against references: error rates, alignments, confusions")
    add_pair_args(p)
    p.add_argument("-o", "--output", help="folder for errs-NAME.txt and recogs-NAME.txt (None: HYP's folder)")
    p.add_argument("--name", help="NAME in the file names (None: HYP's file name without suffix)")
    p.add_argument("--top", type=int, default=10, help="how many of the most frequent substitutions to print")
    p.set_defaults(func=run)


def add_pair_args(p) -> None:
    """``--ref``, ``--hyp`` and ``--unit`` (shared with ``speechtl plot confusions``)."""
    p.add_argument("--ref", required=True, help="reference transcripts (text, JSON lines or CTM)")
    p.add_argument("--hyp", required=True, help="hypotheses, same ids (text, JSON lines or CTM)")
    p.add_argument("--unit", choices=["word", "phoneme"], default="word",
                   help="word: WER and CER; phoneme: PER over space-separated phonemes (JSON lines: 'phonemes')")


def scored(args):
    """Read, pair and score ``--ref`` against ``--hyp``."""
    from speechtl.decoding.scoring import score
    from speechtl.decoding.transcript_files import file_format, paired, read_transcripts

    field = "phonemes" if args.unit == "phoneme" else "text"
    refs, hyps = read_transcripts(args.ref, field), read_transcripts(args.hyp, field)
    triples = paired(refs, hyps, args.ref, args.hyp, empty_ok=file_format(args.hyp) == "ctm")
    return score(triples, args.unit)


def run(args) -> int:
    from speechtl.decoding.scoring import summary_lines, write_errs, write_recogs
    from speechtl.errors import SpeechtlError

    if args.top < 0:
        raise SpeechtlError(f"--top must be >= 0, got {args.top}")
    result = scored(args)
    print("\n".join(summary_lines(result, args.unit)))
    if result.substitutions and args.top:
        print(f"most frequent substitutions (of {sum(result.substitutions.values())}):")
        for (ref, hyp), n in result.substitutions.most_common(args.top):
            print(f"  {n:6d}  {ref} -> {hyp}")
    folder = Path(args.output) if args.output else Path(args.hyp).parent
    name = args.name or Path(args.hyp).stem
    errs = write_errs(result, folder / f"errs-{name}.txt", args.unit)
    recogs = write_recogs(result, folder / f"recogs-{name}.txt")
    print(f"wrote {errs} and {recogs}")
    return 0
