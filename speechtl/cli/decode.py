"""``speechtl decode --model M [--lang L] [--lexicon F] [--words F] AUDIO...``: words with times.

AUDIO: files, folders (every audio file under them), Lhotse recordings/cuts manifests or Kaldi
``wav.scp`` lists. Short recordings are batched into one forward pass (``--batch-seconds``), in
``--workers`` processes. Output (``--format``): ``text`` (``FILE: words`` then one line per word
``start end word /phonemes/``), ``jsonl`` (one object per recording), ``ctm`` or ``srt`` (with
``-o DIR`` one ``ID.srt`` per recording). ``--stream`` feeds each file to the streaming recogniser
in ``--chunk-ms`` pieces and shows the partial words on stderr. A file that cannot be read is
reported and skipped; the exit status is then 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from speechtl.cli import add_device_args, add_model_arg, add_output_arg, command, finite_float, set_threads


def add_parser(sub) -> None:
    p = command(sub, "decode", "recognise words in audio files with a lexicon (or greedy phonemes)")
    p.add_argument("audio", nargs="+", help="audio files (any format soundfile reads, any rate, any channels), "
                                            "folders of them, Lhotse manifests or Kaldi wav.scp files")
    add_model_arg(p)
    p.add_argument("--lang", help="language head (optional when the model has one)")
    p.add_argument("--lexicon", help="lexicon file: 'word p1 p2 ...' per line, phonemes of the model's inventory")
    p.add_argument("--words", help="word list, one per line; words the lexicon lacks get G2P pronunciations "
                                   "(with --lexicon: only these words are recognised)")
    p.add_argument("--shipped", action="store_true",
                   help="also use the language's shipped lexicon (default when neither --lexicon nor --words)")
    p.add_argument("--greedy", action="store_true", help="greedy phoneme output only, no word search")
    p.add_argument("--format", choices=["text", "jsonl", "ctm", "srt"], default="text", help="output format")
    p.add_argument("--json", action="store_true", help="same as --format jsonl")
    add_output_arg(p, "write here instead of stdout (--format srt: a folder, one ID.srt per recording)")
    p.add_argument("--lm", help="KenLM word language model (ARPA or binary)")
    p.add_argument("--lm-weight", type=finite_float, help="language model weight (None: the model's decode section)")
    p.add_argument("--word-score", type=finite_float,
                   help="score added per word; negative penalises insertions (None: the model's decode section)")
    p.add_argument("--beam", type=int, help="beam size (None: the model's decode section)")
    p.add_argument("--chunk-seconds", type=finite_float,
                   help="decode longer audio in pieces of this length (None: the model's decode section)")
    p.add_argument("--vad", action=argparse.BooleanOptionalAction, default=None,
                   help="cut recordings at speech boundaries found by voice activity detection (Silero VAD) "
                        "and decode each segment; default: on for recordings over 30 s (the model's decode.vad)")
    p.add_argument("--batch-seconds", type=finite_float, default=60.0,
                   help="padded seconds of short recordings per forward pass (0: one at a time)")
    p.add_argument("--workers", type=int, default=1, help="decoding processes (each loads the model)")
    p.add_argument("--one-speaker", action="store_true",
                   help="the recordings are of one speaker and microphone: a model with per-speaker CMVN "
                        "(features.cmvn: speaker) normalises them by their joint statistics, read in a first pass, "
                        "instead of each by its own")
    p.add_argument("--stream", action="store_true",
                   help="streaming recogniser (TDNN models): partial words on stderr while each file is fed")
    p.add_argument("--chunk-ms", type=int, default=200, help="--stream: milliseconds of audio per piece")
    add_device_args(p)
    p.set_defaults(func=run)


def _config(args, base):
    """The model's decode section with the options given; ranges checked as for a recipe."""
    from speechtl.config import from_dict, to_dict
    from speechtl.decoding.config import DecodeConfig

    changes = {"lm": args.lm, "lm_weight": args.lm_weight, "word_score": args.word_score,
               "beam_size": args.beam, "chunk_seconds": args.chunk_seconds,
               "vad": None if args.vad is None else ("on" if args.vad else "off")}
    return from_dict(DecodeConfig, {**to_dict(base), **{k: v for k, v in changes.items() if v is not None}},
                     "decode")


class Output:
    """Where transcripts go, in the chosen format."""

    def __init__(self, fmt: str, output: str | None, greedy: bool, many: bool) -> None:
        from speechtl.errors import SpeechtlError

        self.fmt, self.greedy = fmt, greedy
        self.folder = Path(output) if output and fmt == "srt" else None
        if fmt == "srt" and many and self.folder is None:
            raise SpeechtlError("--format srt with several recordings needs -o FOLDER (one ID.srt each)")
        if self.folder:
            self.folder.mkdir(parents=True, exist_ok=True)
        self.stream = open(output, "w", encoding="utf-8") if output and not self.folder else sys.stdout

    def write(self, uid: str, transcript) -> None:
        from speechtl.decoding import formats

        if self.fmt == "srt":
            text = formats.srt(transcript)
            if self.folder:
                path = self.folder / f"{uid.replace('/', '_')}.srt"
                path.write_text(text, encoding="utf-8")
                return
        else:
            text = {"text": lambda: formats.text_lines(transcript, self.greedy),
                    "jsonl": lambda: formats.jsonl_line(uid, transcript),
                    "ctm": lambda: formats.ctm_lines(uid, transcript)}[self.fmt]()
        self.stream.write(text)
        self.stream.flush()

    def close(self) -> None:
        if self.stream is not sys.stdout:
            self.stream.close()


def _check_counts(args) -> None:
    from speechtl.errors import SpeechtlError

    if args.workers < 1 or args.batch_seconds < 0 or args.chunk_ms < 10:
        raise SpeechtlError("--workers must be >= 1, --batch-seconds >= 0 and --chunk-ms >= 10")
    if args.stream and args.greedy:
        raise SpeechtlError("--stream decodes words; leave out --greedy")


def run(args) -> int:
    from speechtl.data.inputs import audio_inputs
    from speechtl.decoding.batch import BatchSettings, decode_files, decode_parallel
    from speechtl.decoding.recognizer import Recognizer, stored_decode_config
    from speechtl.errors import AudioError
    from speechtl.models.io import load_model_and_meta
    from speechtl.text.lexicon import read_word_list

    _check_counts(args)
    set_threads(args)
    device = args.device or "cpu"
    model, meta = load_model_and_meta(args.model, device)
    config = _config(args, stored_decode_config(meta, args.model))
    recognizer = Recognizer(model, config, device)
    language = recognizer.language(args.lang)
    words = read_word_list(args.words) if args.words else None
    if not args.greedy:  # check the lexicon before touching audio (its notes are logged)
        recognizer.prepare(language, args.lexicon, words, args.shipped)
    inputs = audio_inputs(args.audio)
    if args.one_speaker:
        _adapt(recognizer, inputs)
    out = Output("jsonl" if args.json else args.format, args.output, args.greedy, len(inputs) > 1)
    kwargs = dict(language=language, lexicon=args.lexicon, words=words, shipped=args.shipped, greedy=args.greedy)
    if args.stream:
        results = ((uid, _stream_one(recognizer, path, args.chunk_ms / 1000, kwargs)) for uid, path in inputs)
    elif args.workers > 1:
        stats = recognizer.speaker_stats
        del recognizer, model
        results = decode_parallel(args.model, inputs, args.workers, config, device, max(1, args.threads),
                                  speaker_stats=stats, settings=BatchSettings(args.batch_seconds), **kwargs)
    else:
        results = decode_files(recognizer, inputs, settings=BatchSettings(args.batch_seconds), **kwargs)
    status = 0
    unreadable = 0
    try:
        for uid, result in results:
            if isinstance(result, AudioError):
                print(f"speechtl decode: error: {result}", file=sys.stderr)
                status = 2
                unreadable += 1
                continue
            for note in result.notes:
                print(f"speechtl decode: note: {result.source}: {note}", file=sys.stderr)
            out.write(uid, result)
    finally:
        out.close()
    if unreadable:
        print(f"speechtl decode: skipped {unreadable} of {len(inputs)} recordings that could not be read "
              "(named above)", file=sys.stderr)
    return status


def _adapt(recognizer, inputs: list[tuple[str, str]]) -> None:
    """--one-speaker: the joint statistics of every recording, for a per-speaker CMVN model."""
    cmvn = recognizer.features.cmvn
    if cmvn != "speaker":
        print(f"speechtl decode: note: --one-speaker changes nothing: the model normalises with features.cmvn: {cmvn}",
              file=sys.stderr)
        return
    unreadable = recognizer.adapt(path for _, path in inputs)  # named again when decoded
    print(f"speechtl decode: note: normalised as one speaker by the statistics of "
          f"{len(inputs) - len(unreadable)} recordings", file=sys.stderr)


def _stream_one(recognizer, path: str, chunk_seconds: float, kwargs: dict):
    """The final transcript of one file fed to a stream, partials shown on stderr as they come."""
    from speechtl.decoding.streaming import Partial, stream_file
    from speechtl.errors import AudioError

    kwargs = {k: v for k, v in kwargs.items() if k != "greedy"}
    shown = ""
    try:
        for result in stream_file(recognizer, path, chunk_seconds, **kwargs):
            if not isinstance(result, Partial):
                return result
            if result.text != shown:
                print(f"  partial {result.seconds:6.2f} s: {result.text}", file=sys.stderr, flush=True)
                shown = result.text
    except AudioError as err:
        return err
