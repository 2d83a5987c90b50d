"""The ``speechtl`` command line: one subcommand per module in this package.

Every command speaks one vocabulary: ``--model`` (a model file, checkpoint or
experiment directory), ``--lang``, ``-o/--output``, ``--device``, ``--threads``,
``--set key=value`` (recipe overrides), ``--resume`` / ``--overwrite`` (an
experiment directory that already holds a run). Errors a user can cause
(:class:`~speechtl.errors.SpeechtlError`) print one clear line and exit with
status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from speechtl import __version__
from speechtl.errors import SpeechtlError

# subcommand modules; each defines add_parser(subparsers) and run(args)
COMMANDS = ["synth", "prepare", "train", "self_train", "evaluate", "run", "decode", "lexicon", "sweep", "plot",
            "export", "add_language", "serve"]

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
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    try:
        return int(args.func(args) or 0)
    except SpeechtlError as err:
        print(f"speechtl {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"speechtl {args.command}: interrupted", file=sys.stderr)
        return 130


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
