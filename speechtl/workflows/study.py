"""Studies: run a study file's cells, choose on dev, and summarise (``speechtl study STUDY.yaml``).

Steps: read and check the study file (:mod:`~speechtl.workflows.study_file`;
nothing runs when it is wrong); plan its cells (:mod:`~speechtl.workflows.study_cells`);
train the prepared runs those cells name (:mod:`~speechtl.workflows.study_prepare`);
run the cells not yet finished (a rerun of a killed study picks up where it stopped; with several jobs, the first cell of each data set-up runs alone); summarise from the raw records
(:mod:`~speechtl.workflows.study_summary`: dev selection, spread, paired
differences, goals) into ``summary.json``; render it
(:mod:`~speechtl.workflows.study_report`) into ``report.md``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from speechtl.errors import RecipeError, shorten
from speechtl.workflows.study_cells import finished, plan, read_record, run_cells
from speechtl.workflows.study_file import Study, load_study
from speechtl.workflows.study_prepare import prepared_summary, run_prepared
from speechtl.workflows.study_report import render_markdown
from speechtl.workflows.study_summary import summarise

log = logging.getLogger(__name__)


def default_output(study: Study) -> Path:
    """Where a study's records go unless told: ``exp/study/NAME``."""
    return Path("exp") / "study" / study.name


def run_study(path: str | Path, output: str | Path | None = None, jobs: int = 1, overrides: list[str] = (),
              report_only: bool = False, arms: list[str] = (), rotations: list[str] = (),
              seeds: list[int] = ()) -> dict:
    """Run (or with ``report_only`` only summarise) a study; returns its summary (plus ``ran_now``, ``output``).

    Args:
        path: the study file.
        output: the folder of its records (default ``exp/study/NAME``).
        jobs: cells run at once, each in its own process.
        overrides: ``key=value`` applied to every cell after the study's own ``set``.
        report_only: run nothing; summarise the records there are (cells without one count as not run).
        arms: run only these arms' cells (e.g. two processes on different arms); the summary covers every arm.
        rotations: run only these rotations' cells (with ``arms``: one process per cell, each its own data set-up).
        seeds: run only these seeds' cells (e.g. every arm and rotation at one seed before the next seed).

    Raises:
        RecipeError: the study file is wrong (nothing has run), names a metric its reports lack, or
            ``arms`` / ``rotations`` / ``seeds`` names one it does not have.
    """
    study = load_study(path, list(overrides))
    for what, names, known in (("arm", arms, study.arms), ("rotation", rotations, study.rotations),
                               ("seed", seeds, study.seeds)):
        unknown = [n for n in names if n not in known]
        if unknown:
            raise RecipeError(f"{study.path}: no {what} {shorten(unknown[0])}; the {what}s are "
                              f"{', '.join(map(str, known))}")
    out = Path(output) if output else default_output(study)
    cells = plan(study)
    done = {c.id for c in cells if finished(out, c)}
    todo = [] if report_only else [c for c in cells if c.id not in done and (not arms or c.arm in arms)
                                   and (not rotations or c.rotation in rotations) and (not seeds or c.seed in seeds)]
    only = "".join(f" ({what} {', '.join(map(str, names))})" for what, names in
                   (("arms", arms), ("rotations", rotations), ("seeds", seeds)) if names)
    log.info("study %s: %d cells, %d finished, %d to run%s", study.name, len(cells), len(done), len(todo), only)
    for record in run_prepared(study, out, todo):
        log.info("prepared %s: %s (%.0f s)", record["cell"], record["status"], record.get("wall_seconds", 0))
    for i, record in enumerate(run_cells(study, out, todo, jobs), 1):
        log.info("[%d/%d] %s: %s (%.0f s)", i, len(todo), record["cell"], record["status"],
                 record.get("wall_seconds", 0))
    summary = summarise(study, cells, {c.id: read_record(out, c) for c in cells})
    if study.prepare:
        summary["prepare"] = prepared_summary(study, out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False), encoding="utf-8")
    (out / "report.md").write_text(render_markdown(summary), encoding="utf-8")
    return {**summary, "ran_now": len(todo), "output": str(out)}
