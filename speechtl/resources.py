"""Files shipped inside the package: lexicons, recipes, built-in models.

They are package data (``speechtl/lexicons/``, ``speechtl/recipes/``,
``speechtl/models/builtin/``), found through :mod:`importlib.resources`, so an
installed wheel finds them as a source checkout does. ``speechtl/recipes`` is a
link to the checkout's top-level ``recipes/`` (the folder the README's commands
name); the wheel holds the files themselves.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from speechtl.errors import SpeechtlError


def package_dir(name: str) -> Path:
    """The folder ``speechtl/{name}`` of the installed package.

    speechtl installs as plain files (never from a zip), so the resource is a real
    folder that file readers and ``shutil`` take as they are.

    Raises:
        SpeechtlError: the folder is missing, i.e. the package was installed without
            its package data (a broken build).
    """
    path = Path(str(resources.files("speechtl").joinpath(name)))
    if not path.is_dir():
        raise SpeechtlError(f"speechtl/{name} is missing from the installed package at {path.parent} "
                            "(a build without its package data); reinstall speechtl")
    return path


BUILTIN = "builtin:"  # model paths that name a shipped model: builtin:NAME


def builtin_model(spec: str, root: Path | None = None) -> Path:
    """The folder of the model shipped as ``speechtl/models/builtin/NAME`` (``spec``: ``builtin:NAME``).

    A shipped model is a Hugging Face Hub-style folder: ``model.json`` (config), ``model.safetensors``
    and a model card ``README.md``.

    Args:
        root: where to look (None: the installed package's ``models/builtin``).

    Raises:
        CheckpointError: no shipped model has that name (the message lists those that are shipped).
    """
    from speechtl.errors import CheckpointError, shorten

    name = spec.removeprefix(BUILTIN)
    if root is None:
        root = Path(str(resources.files("speechtl").joinpath("models", "builtin")))
    shipped = sorted(p.name for p in root.iterdir() if (p / "model.json").is_file()) if root.is_dir() else []
    if name not in shipped:
        raise CheckpointError(f"no builtin model named {shorten(repr(name))}; shipped: "
                              f"{', '.join(shipped) or 'none in this version of speechtl'}")
    return root / name
