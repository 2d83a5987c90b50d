"""``speechtl decode --model M [--lang L] [--lexicon F] [--words F] AUDIO...``: words with times.

AUDIO: files, folders (every audio file under them), Lhotse recordings/cuts manifests or Kaldi
``wav.scp`` lists. Short recordings are batched into one forward pass (``--batch-seconds``), in
``--workers`` processes. Output (``--format``): ``text`` (``FILE: words`` then one line per word
``start end word /phonemes/``), ``jsonl`` (one object per recording), ``ctm``, ``srt``, ``vtt`` or
``tsv`` (subtitle cues; whisper's TSV). ``--output-dir DIR`` writes one ``DIR/ID.EXT`` per recording,
as whisper does (``--format srt -o DIR`` too). A progress bar goes to stderr when it is a terminal
(not with ``--quiet``). ``--stream`` feeds each file to the streaming recogniser in ``--chunk-ms``
pieces and shows the partial words on stderr. A file that cannot be read is reported and skipped;
the exit status is then 2. ``-o FILE`` is written under a temporary name and renamed when
decoding ends, so an earlier FILE stays as it was if nothing could be decoded (or the command
fails), and an ``-o`` that is one of the inputs is refused before anything is opened.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from speechtl.cli import add_device_args, add_model_arg, add_output_arg, command, finite_float, set_threads
from speechtl.decoding.formats import FORMATS


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
    from speechtl.text.phonesets import PHONESETS

    p.add_argument("--phoneset", choices=PHONESETS, default="espeak",
                   help="--lexicon's phone set (CMUdict's ARPAbet, X-SAMPA, IPA: converted to the model's symbols)")
    p.add_argument("--isolated", action="store_true",
                   help="one word of the list per recording (commands, digits): the best-scoring word, never nothing")
    p.add_argument("--greedy", action="store_true", help="greedy phoneme output only, no word search")
    p.add_argument("--format", choices=FORMATS, default="text", help="output format")
    p.add_argument("--json", action="store_true", help="same as --format jsonl")
    add_output_arg(p, "write here instead of stdout (--format srt: a folder, one ID.srt per recording)")
    p.add_argument("--output-dir",
                   help="write one file per recording, DIR/ID.EXT (EXT: txt, jsonl, ctm, srt, vtt, tsv)")
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
    p.add_argument("--level-dbfs", type=finite_float, default=None, metavar="DBFS",
                   help="scale each recording so its speech sits at this RMS level (dBFS, e.g. -25) before its "
                        "features, reading only that recording (default: the model's features.level_dbfs, usually off)")
    add_device_args(p)
    p.add_argument("--int8", action="store_true",
                   help="int8 dynamic quantisation of the model's linear layers (CPU only): smaller and faster "
                        "on a CPU; its accuracy cost is measured in docs/results/ssl.md")
    p.set_defaults(func=run)


def _config(args, base):
    """The model's decode section with the options given; ranges checked as for a recipe."""
    from speechtl.config import from_dict, to_dict
    from speechtl.decoding.config import DecodeConfig

    changes = {"lm": args.lm, "lm_weight": args.lm_weight, "word_score": args.word_score,
               "beam_size": args.beam, "chunk_seconds": args.chunk_seconds, "isolated": args.isolated or None,
               "vad": None if args.vad is None else ("on" if args.vad else "off")}
    return from_dict(DecodeConfig, {**to_dict(base), **{k: v for k, v in changes.items() if v is not None}},
                     "decode")


class Output:
    """Where transcripts go, in the chosen format: one stream (stdout or ``-o FILE``, complete or not at all,
    see :class:`AtomicOutput`) or one file per recording."""

    def __init__(self, fmt: str, output: str | None, greedy: bool, many: bool, folder: str | None = None,
                 file_ids: frozenset = frozenset()) -> None:
        """``file_ids``: ids that are audio paths given as arguments; their files are named by the file's stem."""
        from speechtl.decoding.formats import DOCUMENTS
        from speechtl.errors import SpeechtlError
        from speechtl.outputs import AtomicOutput, output_error

        self.fmt, self.greedy, self.file_ids, self.written = fmt, greedy, file_ids, 0
        if folder and output:
            raise SpeechtlError("give -o FILE or --output-dir DIR, not both")
        if output and fmt == "srt":  # -o is a folder for srt (before --output-dir existed)
            folder = output
        self.folder = Path(folder) if folder else None
        if fmt in DOCUMENTS and many and self.folder is None:
            where = "-o FOLDER or --output-dir DIR" if fmt == "srt" else "--output-dir DIR"
            raise SpeechtlError(f"--format {fmt} with several recordings needs {where} (one ID.{fmt} each)")
        if self.folder:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise output_error(err, self.folder) from None
        self.file = AtomicOutput(output) if output and not self.folder else None

    def write(self, uid: str, transcript) -> None:
        from speechtl.decoding.formats import EXTENSIONS, render
        from speechtl.outputs import write_text

        self.written += 1
        text = render(self.fmt, uid, transcript, self.greedy)
        if self.folder:
            name = Path(uid).stem if uid in self.file_ids else uid.replace("/", "_")
            write_text(self.folder / f"{name}.{EXTENSIONS[self.fmt]}", text)
            return
        if self.file is not None:
            self.file.write(text)
        else:
            sys.stdout.write(text)
            sys.stdout.flush()

    def close(self, complete: bool = True) -> None:
        """Put the file in place; with nothing decoded (or ``complete`` false) an earlier file stays as it was."""
        if self.file is None:
            return
        if complete and self.written:
            self.file.commit()
        else:
            self.file.discard()
            print(f"speechtl decode: note: nothing written to {self.file.shown} (it stays as it was)",
                  file=sys.stderr)


def _refuse_inputs_as_output(args, inputs=()) -> None:
    """``-o`` may not be the model, a lexicon, a word list, a language model or a recording."""
    from speechtl.outputs import refuse_output_among_inputs

    if args.output:
        model = Path(args.model)
        named = [args.model, model.with_suffix(".json"), model.with_suffix(".safetensors"), *args.audio,
                 args.lexicon, args.words, args.lm, *(path for _, path in inputs)]
        refuse_output_among_inputs(args.output, [p for p in named if p])


def _check_counts(args) -> None:
    from speechtl.errors import SpeechtlError

    if args.workers < 1 or args.batch_seconds < 0 or args.chunk_ms < 10:
        raise SpeechtlError("--workers must be >= 1, --batch-seconds >= 0 and --chunk-ms >= 10")
    if args.stream and args.greedy:
        raise SpeechtlError("--stream decodes words; leave out --greedy")
    if args.int8 and args.workers > 1:
        raise SpeechtlError("--int8 decodes in this process; leave out --workers")


def run(args) -> int:
    from speechtl.data.inputs import audio_inputs
    from speechtl.decoding.batch import BatchSettings, decode_files, decode_parallel
    from speechtl.decoding.config import stored_decode_config
    from speechtl.decoding.recognizer import Recognizer
    from speechtl.errors import AudioError
    from speechtl.models.io import load_model_and_meta
    from speechtl.text.lexicon import read_word_list

    _check_counts(args)
    _refuse_inputs_as_output(args)  # before anything is opened
    set_threads(args)
    device = args.device or "cpu"
    model, meta = load_model_and_meta(args.model, device)
    if args.int8:
        from speechtl.models.quantize import quantize_int8

        model = quantize_int8(model, device)
    config = _config(args, stored_decode_config(meta, args.model))
    recognizer = Recognizer(model, config, device, args.level_dbfs)
    from speechtl.text.languages import head_code

    language = recognizer.language(head_code(args.lang, model.languages) if args.lang else None)  # EN -> en
    words = read_word_list(args.words) if args.words else None
    lexicon = args.lexicon
    if lexicon and args.phoneset != "espeak":  # converted once, into this head's own symbols
        from speechtl.text.lexicon_import import read_lexicon

        lexicon = read_lexicon(lexicon, args.phoneset, model.inventories[language].phonemes)
    recognizer.prepare(language, lexicon, words, args.shipped, greedy=args.greedy)  # the lexicon checked (and its
    # notes logged) before any audio is touched; --greedy reads none
    inputs = audio_inputs(args.audio)
    _refuse_inputs_as_output(args, inputs)  # the recordings of folders and manifests too
    if args.one_speaker:
        _adapt(recognizer, inputs)
    out = Output("jsonl" if args.json else args.format, args.output, args.greedy, len(inputs) > 1, args.output_dir,
                 frozenset(uid for uid, path in inputs if uid == path))
    kwargs = dict(language=language, lexicon=lexicon, words=words, shipped=args.shipped, greedy=args.greedy)
    if args.stream:
        results = ((uid, _stream_one(recognizer, path, args.chunk_ms / 1000, kwargs)) for uid, path in inputs)
    elif args.workers > 1:
        stats = recognizer.speaker_stats
        del recognizer, model
        results = decode_parallel(args.model, inputs, args.workers, config, device, max(1, args.threads),
                                  speaker_stats=stats, level_dbfs=args.level_dbfs,
                                  settings=BatchSettings(args.batch_seconds), **kwargs)
    else:
        results = decode_files(recognizer, inputs, settings=BatchSettings(args.batch_seconds), **kwargs)
    status = 0
    unreadable = 0
    complete = False
    try:
        for uid, result in _progress(results, len(inputs), args):
            if isinstance(result, AudioError):
                print(f"speechtl decode: error: {result}", file=sys.stderr)
                status = 2
                unreadable += 1
                continue
            for note in result.notes:
                print(f"speechtl decode: note: {result.source}: {note}", file=sys.stderr)
            out.write(uid, result)
        complete = True
    finally:
        out.close(complete)
    if unreadable:
        print(f"speechtl decode: skipped {unreadable} of {len(inputs)} recordings that could not be read "
              "(named above)", file=sys.stderr)
    return status


def _progress(results, total: int, args):
    """A tqdm bar on stderr over the recordings: off with --quiet, and when stderr is not a terminal."""
    from tqdm import tqdm

    return tqdm(results, total=total, desc="decoding", unit="file", file=sys.stderr, leave=False,
                disable=True if getattr(args, "quiet", False) or args.stream else None)


def _adapt(recognizer, inputs: list[tuple[str, str]]) -> None:
    """--one-speaker: the joint statistics of every recording, for a per-speaker CMVN model."""
    if not recognizer.normaliser.by_speaker:
        print("speechtl decode: note: --one-speaker changes nothing: the model normalises with features.cmvn: "
              f"{recognizer.normaliser.mode}",
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
