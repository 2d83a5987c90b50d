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
COMMANDS = ["synth", "prepare", "train", "pretrain", "self_train", "evaluate", "run", "decode", "lexicon", "sweep", "plot",
            "export", "add_language", "languages", "serve", "study"]

DESCRIPTION = ("speechtl: transfer learning for speech recognition. Train multilingual phoneme models from "
               "recipes, decode words with your own lexicons, add languages and adapt to new domains.")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default after its help text."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="speechtl", description=DESCRIPTION, formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"speechtl {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"speechtl.cli.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, --version, or a bad option (argparse printed why)
        return done.code if isinstance(done.code, int) else 2
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    try:
        return int(args.func(args) or 0)
    except SpeechtlError as err:
        print(f"speechtl {args.command}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        if err.filename is None:  # not about a path the user named: treat as a bug
            return internal_error(args.command, argv)
        print(f"speechtl {args.command}: error: {user_os_error(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"speechtl {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception:  # noqa: BLE001 - the boundary: a report and a log, never a bare traceback
        return internal_error(args.command, argv)


def user_os_error(err: OSError) -> str:
    """One line for a file the system refused: the path and the reason (missing folder, permissions...)."""
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
    """A subcommand parser that shows defaults in its help."""
    return sub.add_parser(name, help=help, description=help, formatter_class=HelpFormatter)


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
