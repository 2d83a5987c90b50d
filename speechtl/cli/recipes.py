"""``speechtl recipes list | show NAME | copy [NAME...]``: the recipes shipped with the package.

An installed wheel has no checkout: ``copy`` writes the recipes (and the attribute
tables they name) into ``./recipes/``, so the README's commands
(``speechtl run recipes/tiny.yaml``) run as they are from any folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from speechtl.cli import command


def add_parser(sub) -> None:
    p = command(sub, "recipes", "the recipes shipped with speechtl: list them, show one, copy them to edit")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    ls = command(actions, "list", "every shipped recipe with its first comment line")
    ls.set_defaults(func=run_list)
    show = command(actions, "show", "print a shipped recipe")
    show.add_argument("name", help="recipe name, e.g. tiny or tiny.yaml")
    show.set_defaults(func=run_show)
    cp = command(actions, "copy", "copy shipped recipes (and the files they name) into a folder")
    cp.add_argument("names", nargs="*", help="recipe names (none: every recipe)")
    cp.add_argument("--to", default="recipes", help="destination folder; the README's commands expect ./recipes")
    cp.add_argument("--overwrite", action="store_true", help="replace files already there")
    cp.set_defaults(func=run_copy)


def shipped_recipes() -> dict[str, Path]:
    """``{name: path}`` of the recipes in the package, sorted by name."""
    from speechtl.resources import package_dir

    return {p.stem: p for p in sorted(package_dir("recipes").glob("*.yaml"), key=lambda p: p.stem)}


def find_recipe(name: str) -> Path:
    """The shipped recipe called ``name`` (``tiny``, ``tiny.yaml`` or ``recipes/tiny.yaml``).

    Raises:
        RecipeError: no recipe has that name (the message lists them).
    """
    from speechtl.errors import RecipeError, shorten

    recipes = shipped_recipes()
    stem = Path(name).name.removesuffix(".yaml")
    if stem not in recipes:
        raise RecipeError(f"no shipped recipe named {shorten(repr(name))}; shipped: {', '.join(recipes)}")
    return recipes[stem]


def summary(path: Path) -> str:
    """A recipe's first comment line (its purpose), without the ``#``."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
        if line.strip():
            break
    return ""


def run_list(args) -> int:
    recipes = shipped_recipes()
    width = max(map(len, recipes), default=0)
    for name, path in recipes.items():
        print(f"{name:<{width}}  {summary(path)}")
    return 0


def run_show(args) -> int:
    print(find_recipe(args.name).read_text(encoding="utf-8"), end="")
    return 0


def run_copy(args) -> int:
    from speechtl.errors import SpeechtlError

    paths = [find_recipe(n) for n in args.names] if args.names else list(shipped_recipes().values())
    dest = Path(args.to)
    files = [(p, dest / p.name) for p in paths]
    # recipes name their tables by checkout path (recipes/attributes/...): copy those folders beside them
    for folder in sorted({sub.name for p in paths for sub in p.parent.iterdir()
                          if sub.is_dir() and f"recipes/{sub.name}/" in p.read_text(encoding="utf-8")}):
        files += [(f, dest / folder / f.name) for f in sorted((paths[0].parent / folder).iterdir()) if f.is_file()]
    clash = [str(target) for _, target in files if target.exists()]
    if clash and not args.overwrite:
        raise SpeechtlError(f"{len(clash)} file(s) already exist, e.g. {clash[0]}; --overwrite replaces them")
    for source, target in files:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    print(f"copied {len(files)} file(s) to {dest}/")
    return 0
