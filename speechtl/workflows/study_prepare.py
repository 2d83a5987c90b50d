"""A study's prepared runs: recipes trained once per seed (or per rotation and seed) before the cells that name
their model.

A cell override ``transfer.source={prepare.source}`` needs the model of the
study's ``prepare.source`` recipe trained with the cell's seed (and, for an
entry with ``rotations:``, with the cell's rotation's overrides). Each such run
is a cell of its own (arm ``_prepare``, "rotation" the run's folder: ``NAME`` or
``NAME/ROTATION``), so it has the same record, log and experiment folders as any
cell (``cells/_prepare/NAME[/ROTATION]/seedN.json``,
``runs/_prepare/NAME[/ROTATION]/seedN/model``) and is skipped when its record
says ok and its model is still there. Only the (rotation and) seeds of the cells
about to run are prepared: a study whose cells are all finished trains nothing.
An entry with ``reuse: FOLDER`` first looks for the same run finished in that other study's output folder
(same record definition, model saved) and links it (:func:`reuse_run`) instead of training.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from speechtl.workflows.study_cells import Cell, finished, paths, read_record, run_cell, write_record
from speechtl.workflows.study_file import Study
from speechtl.workflows.study_prepare_paths import PREPARE_ARM, entry_of, model_saved, prepared_folder
from speechtl.workflows.study_stats import spread


def prepare_cell(study: Study, name: str, seed: int, rotation: str | None = None) -> Cell:
    """The run that prepares ``name`` for ``seed`` (and ``rotation``, for an entry with ``rotations:``): its
    recipe, its own set, that rotation's overrides, the command line's, the seed."""
    prep = study.prepare[name]
    own = prep.rotations[rotation] if rotation is not None else []
    return Cell(PREPARE_ARM, prepared_folder(name, rotation), seed, str(prep.recipe),
                [*prep.set, *own, *study.extra, f"train.seed={seed}"], list(prep.splits), steps=prep.steps)


def _runs(study: Study, name: str) -> list[Cell]:
    """Every run of prepared entry ``name``: rotation by rotation (an entry with ``rotations:``), seed by seed."""
    rotations = list(study.prepare[name].rotations) or [None]
    return [prepare_cell(study, name, seed, rotation) for rotation in rotations for seed in study.seeds]


def needed(study: Study, cells: list[Cell]) -> list[Cell]:
    """The prepared runs ``cells`` name (by their overrides), one per folder and seed, in study order."""
    wanted = {(folder, cell.seed) for cell in cells for folder in cell.prepared.values()}
    return [run for name in study.prepare for run in _runs(study, name) if (run.rotation, run.seed) in wanted]


def run_prepared(study: Study, out: Path, cells: list[Cell]) -> Iterator[dict]:
    """Train the prepared runs ``cells`` need that are not finished (or whose model is gone); yield each record.

    A failed run is recorded as any cell is; the cells that name it then fail, naming its log.
    """
    for cell in needed(study, cells):
        if not (finished(out, cell) and model_saved(paths(out, cell)["exp"] / "model")):
            reuse = study.prepare[entry_of(cell.rotation)].reuse
            yield (reuse is not None and reuse_run(out, reuse, cell)) or run_cell(study.name, out, cell)


def reuse_run(out: Path, other: Path, cell: Cell) -> dict | None:
    """Link the prepared run ``cell`` of another study's output folder ``other`` into ``out`` (a relative symlink
    to its experiment folder, its record copied with ``reused_from``) when it finished there with the same
    definition and its model is saved; None (train it here) otherwise. Nothing of ``out`` is overwritten but a
    stale link or record of this very run."""
    theirs, mine = paths(other, cell), paths(out, cell)
    record = read_record(other, cell)
    if not (record and record.get("status") == "ok" and model_saved(theirs["exp"] / "model")):
        return None
    if mine["exp"].is_symlink():
        mine["exp"].unlink()
    elif mine["exp"].exists():
        return None  # a run of this study's own (e.g. unfinished): trained again here, not replaced by a link
    mine["exp"].parent.mkdir(parents=True, exist_ok=True)
    mine["exp"].symlink_to(os.path.relpath(theirs["exp"].resolve(), mine["exp"].parent.resolve()),
                           target_is_directory=True)
    record = {**record, "reused_from": str(theirs["record"])}
    write_record(mine["record"], record)
    return record


def _entry(records: list[dict], recipe: str, overrides: list[str]) -> dict:
    """A prepared run's summary over its seeds' ``records``: seeds finished / failed, each split's figures."""
    ok = [r for r in records if r.get("status") == "ok"]
    figures: dict[str, list[float]] = {}
    for record in ok:
        for split, values in record["metrics"].items():
            for metric, value in values.items():
                figures.setdefault(f"{split}.{metric}", []).append(value)
    reused = sorted({str(Path(r["reused_from"]).parents[len(Path(r["cell"]).parts)]) for r in ok if r.get("reused_from")})
    return {"recipe": recipe, "set": overrides, "ok": len(ok), "failed": len(records) - len(ok),
            **({"reused": sum(bool(r.get("reused_from")) for r in ok), "reused_from": ", ".join(reused)} if reused else {}),
            "results": {m: spread(v) for m, v in sorted(figures.items())}}


def prepared_summary(study: Study, out: Path) -> dict:
    """Per prepared run (``NAME``, or ``NAME/ROTATION`` for one per rotation): its recipe, overrides, seeds
    finished / failed, and each split's figures (mean, std, n)."""
    summary = {}
    for name, prep in study.prepare.items():
        for rotation in list(prep.rotations) or [None]:
            records = [r for r in (read_record(out, prepare_cell(study, name, s, rotation)) for s in study.seeds) if r]
            entry = _entry(records, str(prep.recipe), [*prep.set, *prep.rotations.get(rotation, [])])
            summary[prepared_folder(name, rotation)] = {**entry, **({"rotation": rotation} if rotation else {})}
    return summary
