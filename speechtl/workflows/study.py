"""Studies: run a study file's cells, choose on dev, and summarise (``speechtl study STUDY.yaml``).

Steps: read and check the study file (:mod:`~speechtl.workflows.study_file`;
nothing runs when it is wrong); plan its cells (:mod:`~speechtl.workflows.study_cells`);
run the cells not yet finished (a rerun of a killed study picks up where it
stopped; with several jobs, the first cell of each data set-up runs alone); summarise from the raw records
(:mod:`~speechtl.workflows.study_summary`: dev selection, spread, paired
differences, goals) into ``summary.json``; render it
(:mod:`~speechtl.workflows.study_report`) into ``report.md``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from speechtl.workflows.study_cells import finished, plan, read_record, run_cells
from speechtl.workflows.study_file import Study, load_study
from speechtl.workflows.study_report import render_markdown
from speechtl.workflows.study_summary import summarise

log = logging.getLogger(__name__)


def default_output(study: Study) -> Path:
    """Where a study's records go unless told: ``exp/study/NAME``."""
    return Path("exp") / "study" / study.name


def run_study(path: str | Path, output: str | Path | None = None, jobs: int = 1, overrides: list[str] = (),
              report_only: bool = False) -> dict:
    """Run (or with ``report_only`` only summarise) a study; returns its summary (plus ``ran_now``, ``output``).

    Args:
        path: the study file.
        output: the folder of its records (default ``exp/study/NAME``).
        jobs: cells run at once, each in its own process.
        overrides: ``key=value`` applied to every cell after the study's own ``set``.
        report_only: run nothing; summarise the records there are (cells without one count as not run).

    Raises:
        RecipeError: the study file is wrong (nothing has run), or names a metric its reports lack.
    """
    study = load_study(path, list(overrides))
    out = Path(output) if output else default_output(study)
    cells = plan(study)
    todo = [] if report_only else [c for c in cells if not finished(out, c)]
    log.info("study %s: %d cells, %d finished, %d to run", study.name, len(cells), len(cells) - len(todo), len(todo))
    for i, record in enumerate(run_cells(study, out, todo, jobs), 1):
        log.info("[%d/%d] %s: %s (%.0f s)", i, len(todo), record["cell"], record["status"],
                 record.get("wall_seconds", 0))
    summary = summarise(study, cells, {c.id: read_record(out, c) for c in cells})
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False), encoding="utf-8")
    (out / "report.md").write_text(render_markdown(summary), encoding="utf-8")
    return {**summary, "ran_now": len(todo), "output": str(out)}
