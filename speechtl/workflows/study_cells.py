"""A study's cells: one training run per arm x rotation x seed (x grid point), scored on the splits it needs.

A cell is a normal ``speechtl train`` (or, with ``steps: run``, ``speechtl run``)
of its recipe with the cell's overrides, then ``speechtl eval`` on each split the
study reads (the same functions those commands call); with ``steps: add-language``
it is ``speechtl add-language`` (:mod:`~speechtl.workflows.study_add_language`); with
``steps: eval`` only the ``speechtl eval`` of a given model (:mod:`~speechtl.workflows.study_eval`).
Each cell writes, under the study's output folder:

* ``cells/ARM/ROTATION/seedN[/POINT].json``: the raw record (command, overrides,
  seed, rotation, grid point, metrics per split, wall time, status). A cell whose
  record says ``ok`` is finished and is skipped when the study runs again (a
  failed one is tried again, as is one whose overrides the study file changed);
* ``logs/...log``: everything the cell logged (the traceback when it failed);
* ``runs/...``: its experiment directory (model, checkpoints, eval reports).

With ``jobs`` > 1 the cells run in that many fresh processes at once.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import logging
import multiprocessing
import re
import shlex
import time
import traceback
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from speechtl.config import to_dict
from speechtl.errors import RecipeError, shorten
from speechtl.tasks import load_recipe, task_of
from speechtl.workflows import study_add_language, study_eval
from speechtl.workflows.run import run
from speechtl.workflows.study_file import Study, grid_overrides
from speechtl.workflows.study_prepare_paths import (PREPARE_ARM, model_in, model_saved, prepared_folders,
                                                  prepared_names, resolve)
from speechtl.workflows.train import train

log = logging.getLogger(__name__)

DATA_SECTIONS = ("data", "features")  # recipe sections that decide the prepared corpus and its stored features


@dataclass
class Cell:
    """One run of a study."""

    arm: str
    rotation: str
    seed: int
    recipe: str  # the recipe trained (the study's, or the arm's own)
    overrides: list[str]  # on top of the base recipe, in order: study set, rotation, arm, grid point, seed
    splits: list[str]  # scored on these
    point: dict = field(default_factory=dict)  # the arm's grid values for this run ({}: no grid)
    point_name: str = ""  # the grid point as a folder name
    steps: str = "train"  # train: `speechtl train` then eval per split; run: `speechtl run` (self-training, target
    # domain); add-language; eval: `speechtl eval` of a model per split
    prepared: dict[str, str] = field(default_factory=dict)  # {prepare.NAME} it names -> that run's folder (NAME,
    # or NAME/ROTATION for a run per rotation)

    @property
    def id(self) -> str:
        return "/".join([self.arm, self.rotation, f"seed{self.seed}", *([self.point_name] if self.point_name else [])])


def _point_name(index: int, point: dict) -> str:
    """A readable folder name for a grid point, e.g. ``0-train.lr=0.001``."""
    text = ",".join(f"{k}={json.dumps(v)}" for k, v in point.items())
    return f"{index}-" + re.sub(r"[^A-Za-z0-9_.=,+-]", "_", text)[:80]


def plan(study: Study) -> list[Cell]:
    """Every cell of the study, arm by arm, rotation by rotation, seed by seed."""
    cells = []
    for arm, arm_sets in study.arms.items():
        sel = study.select.get(arm)
        points = list(enumerate(sel.points())) if sel else [(None, {})]
        for rotation, rotation_sets in study.rotations.items():
            for seed in study.seeds:
                for index, point in points:
                    overrides = [*study.set, *rotation_sets, *arm_sets, *grid_overrides(point), f"train.seed={seed}"]
                    cells.append(Cell(arm, rotation, seed, str(study.recipe_of(arm)), overrides, study.splits(arm),
                                      point, _point_name(index, point) if index is not None else "", study.steps,
                                      prepared_folders(study.prepare, overrides, rotation)))
    return cells


def paths(out: Path, cell: Cell) -> dict[str, Path]:
    """Where a cell's record, log and experiment directory go."""
    return {"record": out / "cells" / f"{cell.id}.json", "log": out / "logs" / f"{cell.id}.log",
            "exp": out / "runs" / cell.id}


def read_record(out: Path, cell: Cell) -> dict | None:
    """The cell's raw record, or None when it has none (or one made with other overrides: a changed study)."""
    path = paths(out, cell)["record"]
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    same = all(record.get(key) == getattr(cell, key) for key in ("recipe", "overrides", "splits", "steps"))
    return record if same else None


def finished(out: Path, cell: Cell) -> bool:
    """A finished cell: its record exists, was made with the same overrides, and says ok."""
    record = read_record(out, cell)
    return record is not None and record.get("status") == "ok"


def score_run(recipe, splits: list[str], progress: bool = False, steps: str = "train") -> dict[str, dict[str, float]]:
    """Train ``recipe`` (replacing an earlier, unfinished run) and score the model on each split.

    Args:
        steps: ``train`` (the training loop alone) or ``run`` (every step of ``speechtl run``: self-training
            when the recipe asks; its final reports, e.g. speech's ``test`` and ``target``, are splits too).

    Returns:
        ``{split: {metric: value}}`` from the task's report (also written beside the model as ``eval_SPLIT.json``).
    """
    task = task_of(recipe)
    reports = run(recipe, overwrite=True, progress=progress) if steps == "run" else {}
    exp = Path(recipe.train.exp_dir) if steps == "run" else train(recipe, overwrite=True, progress=progress)
    return {split: task.metrics(reports[split] if split in reports else task.evaluate(
        exp / "model", split, output=exp / f"eval_{split}.json", progress=False)) for split in splits}


def command(cell: Cell, exp: Path, overrides: list[str]) -> str:
    """The shell commands a cell equals (what a person would type to rerun it alone; ``overrides`` resolved)."""
    if cell.steps == study_add_language.STEP:
        return study_add_language.command(cell.recipe, overrides, exp, cell.splits)
    if cell.steps == study_eval.STEP:
        return study_eval.command(cell.recipe, overrides, exp, cell.splits)
    sets = " ".join(f"--set {shlex.quote(o)}" for o in [*overrides, f"train.exp_dir={exp}"])
    evals = " && ".join(f"speechtl eval --model {shlex.quote(str(exp))} --split {s}" for s in cell.splits)
    return f"speechtl {cell.steps} {shlex.quote(cell.recipe)} {sets} --overwrite && {evals}"


@contextlib.contextmanager
def _logging_to(path: Path) -> Iterator[None]:
    """Send every log record of the block to ``path`` (the cell's log)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()


def write_record(path: Path, record: dict) -> None:
    """Write a record whole or not at all (a study killed mid-write leaves no half record)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=1, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)


def _check_prepared(out: Path, cell: Cell) -> None:
    """Refuse a cell whose ``{prepare.NAME}`` model is missing (its prepared run failed), naming that run's log."""
    for name in prepared_names(cell.overrides):
        folder = cell.prepared.get(name, name)  # as resolve() reads it
        model = model_in(out, folder, cell.seed)
        if not model_saved(model):
            log_path = out / "logs" / PREPARE_ARM / folder / f"seed{cell.seed}.log"
            which = f"rotation {cell.rotation}, seed" if folder != name else "seed"
            raise RecipeError(f"prepared model {shorten(name)} ({which} {cell.seed}) is missing: {shorten(model, 200)} "
                              f"(its run failed or did not run; see {shorten(log_path, 200)})")


def run_cell(study_name: str, out: Path, cell: Cell) -> dict:
    """Train and score one cell; write and return its record. A failure is recorded, never raised."""
    where = paths(out, cell)
    overrides = resolve(cell.overrides, out, cell.seed, cell.prepared)  # {prepare.NAME} -> that run's model
    record = {"study": study_name, "cell": cell.id, **asdict(cell), "exp_dir": str(where["exp"]),
              "log": str(where["log"]), "command": command(cell, where["exp"], overrides)}
    start = time.perf_counter()
    with _logging_to(where["log"]):
        try:
            _check_prepared(out, cell)
            if cell.steps == study_add_language.STEP:
                record.update(status="ok", **study_add_language.run_add_language(cell.recipe, overrides, where["exp"],
                                                                                 cell.splits))
            elif cell.steps == study_eval.STEP:
                record.update(status="ok", **study_eval.run_eval(cell.recipe, overrides, where["exp"], cell.splits))
            else:
                recipe = load_recipe(cell.recipe, [*overrides, f"train.exp_dir={where['exp']}"])
                record.update(status="ok", metrics=score_run(recipe, cell.splits, steps=cell.steps))
        except Exception as err:  # noqa: BLE001 - a failed cell is recorded and the study goes on
            record.update(status="failed", error=f"{type(err).__name__}: {shorten(err, 300)}")
            log.error("cell %s failed: %s (the traceback is in %s)", cell.id, record["error"], where["log"])
            with where["log"].open("a", encoding="utf-8") as file:  # the traceback in the log, not on the console
                file.write(traceback.format_exc())
    record["wall_seconds"] = round(time.perf_counter() - start, 3)
    write_record(where["record"], record)
    return record


def first_of_each_data(cells: list[Cell]) -> list[Cell]:
    """The first cell of each distinct data set-up (the recipe's ``DATA_SECTIONS``)."""
    seen, firsts = set(), []
    for cell in cells:
        if cell.steps == study_add_language.STEP:  # the new language's data, not the recipe's every language
            key = study_add_language.data_setup(cell.recipe, cell.overrides)
        else:  # an eval cell's eval.* options are no recipe keys
            overrides = study_eval.split_options(cell.overrides)[1] if cell.steps == study_eval.STEP else cell.overrides
            recipe = to_dict(load_recipe(cell.recipe, overrides))
            key = json.dumps([recipe.get(section) for section in DATA_SECTIONS], sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            firsts.append(cell)
    return firsts


def run_cells(study: Study, out: Path, cells: list[Cell], jobs: int = 1) -> Iterator[dict]:
    """Run ``cells`` (one after another, or ``jobs`` fresh processes at once); yield each record as it ends.

    With ``jobs`` > 1 the first cell of each distinct data set-up runs alone first: it prepares the corpus
    and stores the features that the other cells then share (two runs making them at once would race).
    """
    alone = cells if jobs <= 1 else first_of_each_data(cells)
    for cell in alone:
        yield run_cell(study.name, out, cell)
    rest = [cell for cell in cells if all(cell is not first for first in alone)]
    if not rest:
        return
    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter per cell: no state leaks between cells
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=spawn, max_tasks_per_child=1) as pool:
        futures = {pool.submit(run_cell, study.name, out, cell): cell for cell in rest}
        for future in concurrent.futures.as_completed(futures):
            try:
                yield future.result()
            except Exception as err:  # noqa: BLE001 - the process died (killed, out of memory): record it
                cell = futures[future]
                record = {"study": study.name, "cell": cell.id, **asdict(cell), "status": "failed",
                          "log": str(paths(out, cell)["log"]), "error": f"{type(err).__name__}: {shorten(err, 300)}"}
                write_record(paths(out, cell)["record"], record)
                yield record
