"""A study's prepared runs as data: the ``{prepare.NAME}`` placeholder and where each prepared model lies.

A prepared run NAME is trained once per seed (its folder is ``NAME``) or, when its
``prepare:`` entry has ``rotations:``, once per rotation and seed (folder
``NAME/ROTATION``). Under a study's output folder its model is
``runs/_prepare/FOLDER/seedN/model``, its record ``cells/_prepare/FOLDER/seedN.json``
and its log ``logs/_prepare/FOLDER/seedN.log`` (it is a cell of arm ``_prepare``
whose "rotation" is the folder).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

PLACEHOLDER = re.compile(r"\{prepare\.([^{}]*)\}")  # in an override: the model a prepared run trained
PREPARE_ARM = "_prepare"  # prepared runs are cells of this arm (no arm name starts with _), one "rotation" per folder


@dataclass
class Prepare:
    """A recipe a study trains once per seed (or per rotation and seed) before its cells, e.g. their source model."""

    recipe: Path
    set: list[str] = field(default_factory=list)
    splits: list[str] = field(default_factory=list)  # scored on these (reported beside the arms)
    rotations: dict[str, list[str]] = field(default_factory=dict)  # ROTATION -> overrides ({}: one run per seed)
    steps: str = "train"  # `speechtl train`, or `speechtl run` (its self-training rounds, its final reports)
    reuse: Path | None = None  # another study's output folder whose identical prepared runs are linked, not retrained

    def folder(self, name: str, rotation: str) -> str:
        """The folder of its run that a cell of ``rotation`` uses."""
        return prepared_folder(name, rotation if self.rotations else None)


def prepared_folder(name: str, rotation: str | None = None) -> str:
    """``NAME`` (a run per seed) or ``NAME/ROTATION`` (a run per rotation and seed)."""
    return name if rotation is None else f"{name}/{rotation}"


def entry_of(folder: str) -> str:
    """The prepare entry NAME of a prepared run's folder (``NAME`` or ``NAME/ROTATION``: :func:`prepared_folder`)."""
    return folder.split("/", 1)[0]


def model_in(out: Path, folder: str, seed: int) -> Path:
    """The model of the prepared run in ``folder`` for ``seed`` under a study's output ``out``."""
    return Path(out) / "runs" / PREPARE_ARM / folder / f"seed{seed}" / "model"


def prepared_model(out: Path, name: str, seed: int, rotation: str | None = None) -> Path:
    """The model of prepared run ``name`` for ``seed`` (and ``rotation``, for a run per rotation): the path
    ``--model`` takes."""
    return model_in(out, prepared_folder(name, rotation), seed)


def model_saved(model: Path) -> bool:
    """Whether a trained model was saved at ``model`` (``MODEL.json`` beside its weights)."""
    return model.with_name(model.name + ".json").is_file()


def prepared_names(overrides: list[str]) -> list[str]:
    """The prepared runs ``overrides`` name, in order, each once."""
    return list(dict.fromkeys(m.group(1) for o in overrides for m in PLACEHOLDER.finditer(o)))


def prepared_folders(prepare: dict[str, Prepare], overrides: list[str], rotation: str) -> dict[str, str]:
    """The folder of each prepared run that ``overrides`` (a cell of ``rotation``) name: ``{NAME: FOLDER}``."""
    return {name: prepare[name].folder(name, rotation) for name in prepared_names(overrides) if name in prepare}


def resolve(overrides: list[str], out: Path, seed: int, folders: dict[str, str] | None = None) -> list[str]:
    """Overrides with each ``{prepare.NAME}`` replaced by that prepared run's model for ``seed``; ``folders``
    (:func:`prepared_folders`) says which runs are per rotation (a name not in it: its run per seed)."""
    folders = folders or {}
    return [PLACEHOLDER.sub(lambda m: str(model_in(out, folders.get(m.group(1), m.group(1)), seed)), o)
            for o in overrides]
