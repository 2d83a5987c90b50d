"""The ``speechtl`` command line: one subcommand per module in this package.

Errors a user can cause (:class:`~speechtl.errors.SpeechtlError`) print one
clear line and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from speechtl import __version__
from speechtl.errors import SpeechtlError

# subcommand modules; each defines add_parser(subparsers) and run(args)
COMMANDS = ["synth", "train", "evaluate", "run", "decode", "lexicon", "sweep", "plot", "prepare", "export",
            "add_language"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="speechtl", description=__doc__.splitlines()[0])
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


def add_recipe_args(parser: argparse.ArgumentParser) -> None:
    """The RECIPE argument and ``--set key=value`` overrides shared by recipe commands."""
    parser.add_argument("recipe", help="recipe YAML file (see recipes/)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a recipe value, e.g. --set train.max_steps=200 (repeatable)")
