"""The ``speechtl`` command line: one subcommand per module in this package.

Every command speaks one vocabulary: ``--model`` (a model file, checkpoint or
experiment directory), ``--lang``, ``-o/--output``, ``--device``, ``--threads``,
``--set key=value`` (recipe overrides), ``--resume`` / ``--overwrite`` (an
experiment directory that already holds a run).

:func:`main` is the one error boundary. An error the user's input caused (a
:class:`~speechtl.errors.SpeechtlError`, or a file the system cannot open or
write) prints one paragraph and exits with status 2; a bad option exits 2 with
argparse's usage line. Anything else is a bug in speechtl: it prints a short
report naming a log file that holds the full traceback, and exits with status 1.
Never a bare traceback.
"""

from __future__ import annotations

import argparse
import datetime
import errno
import importlib
import logging
import math
import os
import platform
import sys
import tempfile
import traceback
from pathlib import Path

from speechtl import __version__
from speechtl.errors import SpeechtlError, shorten

# subcommand modules; each defines add_parser(subparsers) and run(args)
# (add_parser must not import torch: `speechtl --help` stays fast; tests/cli/test_cli_output.py checks it)
COMMANDS = ["synth", "prepare", "train", "pretrain", "self_train", "evaluate", "run", "decode", "lexicon", "sweep",
            "plot", "export", "add_language", "languages", "serve", "score", "recipes",
            "study"]

DESCRIPTION = ("speechtl: transfer learning for speech recognition. Train multilingual phoneme models from "
               "recipes, decode words with your own lexicons, add languages and adapt to new domains.")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default after its help text."""


def add_logging_args(parser: argparse.ArgumentParser, default=False) -> None:
    """``-v``, ``-q`` and ``--log-file``: before the subcommand or after it.

    A subcommand's copies default to ``SUPPRESS`` so that they do not overwrite
    what was given before the subcommand.
    """
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-v", "--verbose", action="store_true", default=default, help="debug logging")
    group.add_argument("-q", "--quiet", action="store_true", default=default,
                       help="warnings and errors only; no progress bar when decoding")
    parser.add_argument("--log-file", default=None if default is False else default,
                        help="also write the log (at debug level with -v) to this file")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="speechtl", description=DESCRIPTION, formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"speechtl {__version__}")
    add_logging_args(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"speechtl.cli.{name}").add_parser(sub)
    return parser


_HANDLERS: list[logging.Handler] = []  # the handlers setup_logging added (a second main() in one process replaces them)


def setup_logging(args) -> None:
    """Log to stderr (and ``--log-file``) at the level ``-v`` / ``-q`` ask for.

    A program that set up logging itself (one that calls :func:`main`, or pytest) keeps its
    handlers: stderr logging is added only where the root logger has none.
    """
    root = logging.getLogger()
    for handler in _HANDLERS:
        root.removeHandler(handler)
        handler.close()
    _HANDLERS.clear()
    if not root.handlers:
        _HANDLERS.append(logging.StreamHandler())
        _HANDLERS[-1].setLevel(logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO)
    if args.log_file:
        _HANDLERS.append(logging.FileHandler(args.log_file, encoding="utf-8"))
        _HANDLERS[-1].setLevel(logging.DEBUG if args.verbose else logging.INFO)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    for handler in _HANDLERS:
        handler.setFormatter(fmt)
        root.addHandler(handler)
    if _HANDLERS:
        root.setLevel(min(h.level for h in _HANDLERS))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, --version, or a bad option (argparse printed why)
        return done.code if isinstance(done.code, int) else 2
    try:
        setup_logging(args)
    except OSError as err:
        print(f"speechtl {args.command}: error: --log-file {user_os_error(err)}", file=sys.stderr)
        return 2
    # read where models are loaded (worker processes too), and only for this command
    accept = getattr(args, "accept_unverified", False) and "SPEECHTL_ACCEPT_UNVERIFIED" not in os.environ
    if accept:
        os.environ["SPEECHTL_ACCEPT_UNVERIFIED"] = "1"
    try:
        return _run(args, argv)
    finally:
        if accept:
            os.environ.pop("SPEECHTL_ACCEPT_UNVERIFIED", None)


def _run(args, argv: list[str] | None) -> int:
    """Run the command; the one error boundary (see the module docstring)."""
    try:
        return int(args.func(args) or 0)
    except SpeechtlError as err:
        print(f"speechtl {args.command}: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # stdout closed early (`speechtl recipes list | head`): not an error worth a word
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit-time flush fails quietly
        return 1
    except OSError as err:
        if err.filename is None and err.errno not in SYSTEM_REFUSALS:  # not about the user's files: a bug
            return internal_error(args.command, argv)
        print(f"speechtl {args.command}: error: {user_os_error(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"speechtl {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception:  # noqa: BLE001 - the boundary: a report and a log, never a bare traceback
        return internal_error(args.command, argv)


# the machine's state, not a bug, even when the error names no file: a full disk, a read-only file system
SYSTEM_REFUSALS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM)


def user_os_error(err: OSError) -> str:
    """One line for a file the system refused: the path and the reason (missing folder, permissions...)."""
    if err.filename is None:
        return f"{err.strerror or err} (while writing this command's outputs; nothing half-written is kept)"
    path = shorten(err.filename, 200)
    reason = err.strerror or type(err).__name__
    target = Path(err.filename)
    if isinstance(err, FileNotFoundError) and not target.parent.exists():
        reason += f" (the folder {shorten(target.parent, 200)} does not exist)"
    if isinstance(err, (FileExistsError, NotADirectoryError)):
        blocker = next((p for p in (target, *target.parents) if p.is_file()), None)
        if blocker is not None:
            reason = f"Not a directory ({shorten(blocker, 200)} is a file, where a folder is needed)"
    return f"{path}: {reason}"


def crash_log_dir() -> Path:
    """Where internal-error reports go (the system's temporary folder)."""
    return Path(tempfile.gettempdir())


def internal_error(command: str, argv: list[str] | None) -> int:
    """Report the exception being handled as a speechtl bug: a short message, the traceback in a log file."""
    kind, err, _ = sys.exc_info()
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    report = (f"speechtl {__version__} internal error in `{command}`\n"
              f"argv: {sys.argv[:1] + list(sys.argv[1:] if argv is None else argv)}\n"
              f"python {platform.python_version()} on {platform.platform()}\n\n{traceback.format_exc()}")
    log_path = crash_log_dir() / f"speechtl-error-{stamp}-{os.getpid()}.log"
    try:
        log_path.write_text(report, encoding="utf-8")
        where = f"the full report is in {log_path}; please attach it to a bug report."
    except OSError:  # nowhere to keep it: show it
        where = f"the report could not be written to {log_path}, so here it is:\n{report}"
    print(f"speechtl {command}: internal error (a bug in speechtl, not in your input): "
          f"{kind.__name__}: {shorten(err, 300)}\n{where}", file=sys.stderr)
    return 1


def finite_float(text: str) -> float:
    """argparse type: a finite number (``nan`` and ``inf`` are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {shorten(repr(text))}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {shorten(repr(text))}")
    return value


def command(sub, name: str, help: str) -> argparse.ArgumentParser:
    """A subcommand parser that shows defaults in its help and takes ``-v`` / ``-q`` / ``--log-file`` too."""
    parser = sub.add_parser(name, help=help, description=help, formatter_class=HelpFormatter)
    add_logging_args(parser, default=argparse.SUPPRESS)
    return parser


def add_recipe_args(parser: argparse.ArgumentParser) -> None:
    """The RECIPE argument and ``--set key=value`` overrides shared by recipe commands."""
    parser.add_argument("recipe", help="recipe YAML file (see recipes/)")
    add_set_arg(parser)


def add_set_arg(parser: argparse.ArgumentParser, what: str = "the recipe") -> None:
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help=f"override a value of {what}, e.g. --set train.max_steps=200 (repeatable)")


def add_model_arg(parser: argparse.ArgumentParser, help: str = "model file (.safetensors/.json), checkpoint "
                                                                "or experiment directory", **kwargs) -> None:
    parser.add_argument("--model", required=True, help=help, **kwargs)
    parser.add_argument("--accept-unverified", action="store_true",
                        help="load a model whose model.json records no SHA-256 of its weights (hand-made files; "
                             "every model speechtl writes records one)")


def add_output_arg(parser: argparse.ArgumentParser, help: str, required: bool = False) -> None:
    parser.add_argument("-o", "--output", required=required, help=help)


def add_device_args(parser: argparse.ArgumentParser) -> None:
    """``--device`` and ``--threads``: where the network runs and how many CPU threads torch uses."""
    parser.add_argument("--device", default=None, choices=["auto", "cpu", "cuda"],
                        help="where the network runs (training: default train.device; otherwise cpu)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default, or "
                                                                "train.num_threads when training)")


def add_run_args(parser: argparse.ArgumentParser) -> None:
    """``--resume`` / ``--overwrite`` for commands that write an experiment directory."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--resume", action="store_true",
                       help="continue the run in the experiment directory from its newest complete checkpoint")
    group.add_argument("--overwrite", action="store_true",
                       help="replace a run already in the experiment directory")


def training_command(sub, name: str, help: str) -> argparse.ArgumentParser:
    """A subcommand that trains a recipe into its experiment directory: RECIPE, ``--set``,
    ``--resume`` / ``--overwrite``, ``--device`` and ``--threads``."""
    parser = command(sub, name, help)
    add_recipe_args(parser)
    add_run_args(parser)
    add_device_args(parser)
    return parser


def training_overrides(args) -> list[str]:
    """``--set`` overrides plus those ``--device`` and ``--threads`` stand for."""
    out = list(args.overrides)
    if args.device:
        out.append(f"train.device={args.device}")
    if args.threads:
        out.append(f"train.num_threads={args.threads}")
    return out


def set_threads(args) -> None:
    """Apply ``--threads`` to torch (commands that do not train)."""
    if args.threads > 0:
        import torch

        torch.set_num_threads(args.threads)
