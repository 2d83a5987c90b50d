"""A study's prepared runs: recipes trained once per seed before the cells that name their model.

A cell override ``transfer.source={prepare.source}`` needs the model of the
study's ``prepare.source`` recipe trained with the cell's seed. Each such run is
a cell of its own (arm ``_prepare``, "rotation" the prepared run's name), so it
has the same record, log and experiment folders as any cell
(``cells/_prepare/NAME/seedN.json``, ``runs/_prepare/NAME/seedN/model``) and is
skipped when its record says ok and its model is still there. Only the seeds of
the cells about to run are prepared: a study whose cells are all finished
trains nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from speechtl.workflows.study_cells import Cell, finished, read_record, run_cell
from speechtl.workflows.study_file import PREPARE_ARM, Study, model_saved, prepared_model, prepared_names
from speechtl.workflows.study_stats import spread


def prepare_cell(study: Study, name: str, seed: int) -> Cell:
    """The run that prepares ``name`` for ``seed``: its recipe, its own set, the command line's, the seed."""
    prep = study.prepare[name]
    return Cell(PREPARE_ARM, name, seed, str(prep.recipe), [*prep.set, *study.extra, f"train.seed={seed}"],
                list(prep.splits))


def needed(study: Study, cells: list[Cell]) -> list[Cell]:
    """The prepared runs ``cells`` name (by their overrides), one per name and seed, in study order."""
    wanted = {(name, cell.seed) for cell in cells for name in prepared_names(cell.overrides)}
    return [prepare_cell(study, name, seed) for name in study.prepare for seed in study.seeds if (name, seed) in wanted]


def run_prepared(study: Study, out: Path, cells: list[Cell]) -> Iterator[dict]:
    """Train the prepared runs ``cells`` need that are not finished (or whose model is gone); yield each record.

    A failed run is recorded as any cell is; the cells that name it then fail, naming its log.
    """
    for cell in needed(study, cells):
        if not (finished(out, cell) and model_saved(prepared_model(out, cell.rotation, cell.seed))):
            yield run_cell(study.name, out, cell)


def prepared_summary(study: Study, out: Path) -> dict:
    """Per prepared run: its recipe, overrides, seeds finished / failed, and each split's figures (mean, std, n)."""
    summary = {}
    for name, prep in study.prepare.items():
        records = [r for r in (read_record(out, prepare_cell(study, name, s)) for s in study.seeds) if r]
        ok = [r for r in records if r.get("status") == "ok"]
        figures: dict[str, list[float]] = {}
        for record in ok:
            for split, values in record["metrics"].items():
                for metric, value in values.items():
                    figures.setdefault(f"{split}.{metric}", []).append(value)
        summary[name] = {"recipe": str(prep.recipe), "set": prep.set, "ok": len(ok), "failed": len(records) - len(ok),
                         "results": {m: spread(v) for m, v in sorted(figures.items())}}
    return summary
