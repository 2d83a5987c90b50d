"""A study's summary from its raw cell records: dev selection, spread per arm, paired differences, goals.

Selection reads only the selection split's figures (``select.ARM.split``, never
test): for each arm with a grid and each rotation, the grid point with the best
mean criterion over seeds is chosen (with a constraint, among the points that meet it:
:mod:`~speechtl.workflows.study_selection`), and only its cells count for the arm. The
summary records, per choice, the split and criterion read, every point's score, and which
points met the constraint and why the chosen one was.
Failed cells are left out of every figure and counted, with their logs.
"""

from __future__ import annotations

from speechtl.errors import RecipeError, shorten
from speechtl.workflows.study_cells import Cell
from speechtl.workflows.study_file import Study
from speechtl.workflows.study_selection import CONSTRAINT_RULE, choose_point
from speechtl.workflows.study_stats import TIE_RULE, paired, spread, verdict

GOAL_WORDS = {"better": "met", "worse": "not met", "tie": "tie (within the spread)", "no verdict": "no verdict (n < 2)"}


def _value(study: Study, record: dict, metric: str) -> float | None:
    """``SPLIT.NAME`` of a finished cell's record; None where the cell's report says it does not apply (e.g. the
    old languages' forgetting of a scratch model, which has none of them): left out of the figures.

    Raises:
        RecipeError: the split's report has no such metric (a typo in the study file): names what it has.
    """
    split, name = metric.split(".", 1)
    figures = record["metrics"].get(split, {})
    if name not in figures:
        raise RecipeError(f"{study.path}: metric {shorten(metric)}: the {shorten(split)} report of cell "
                          f"{record['cell']} has {', '.join(sorted(figures)) or 'no figures'}")
    return figures[name]


def select(study: Study, arm: str, rotation: str, done: list[tuple[Cell, dict]]) -> dict:
    """Choose the arm's grid point for one rotation from the selection split alone.

    Args:
        done: the arm's finished cells of this rotation with their records.

    Returns:
        ``{"split", "criterion", "direction", "scores": {point: mean}, "chosen": point name, "setting": {key: value}}``
        (``chosen`` None when no point has a finished cell); with a constraint also ``"constraint"`` (its
        metric and bound, each point's mean figure, the points that met it, the rule) and ``"why"``.
    """
    sel = study.select[arm]
    by_point: dict[str, list[list[float]]] = {}
    settings = {}
    for cell, record in done:
        # the selection split's figures only: the record's other splits (test) are never looked at here
        by_point.setdefault(cell.point_name, []).append([_value(study, record, m) for m in sel.metrics()])
        settings[cell.point_name] = cell.point
    means = {name: [sum(column) / len(column) for column in zip(*runs)] for name, runs in by_point.items()}
    scores = {name: figures[0] for name, figures in means.items()}
    choice = choose_point(sel, scores, {name: figures[-1] for name, figures in means.items()}) if scores else {}
    out = {"split": sel.split, "criterion": sel.criterion, "direction": sel.direction, "scores": scores,
           "seeds_per_point": {name: len(v) for name, v in by_point.items()},
           "chosen": choice.get("chosen"), "setting": settings.get(choice.get("chosen"))}
    if sel.constraint:
        out["constraint"] = {**sel.constraint.record(), "values": {name: f[-1] for name, f in means.items()},
                             "met": choice.get("met", []), "rule": CONSTRAINT_RULE}
        out["why"] = choice.get("why", "no point has a finished cell")
    return out


def _runs(study: Study, cells: list[Cell], records: dict[str, dict | None]) -> tuple[dict, dict]:
    """The runs each arm counts (its chosen grid points) keyed by (rotation, seed), and the selections made."""
    runs: dict[str, dict[tuple[str, int], dict]] = {arm: {} for arm in study.arms}
    selections: dict[str, dict] = {}
    for arm in study.arms:
        for rotation in study.rotations:
            done = [(c, records[c.id]) for c in cells if c.arm == arm and c.rotation == rotation
                    and (records[c.id] or {}).get("status") == "ok"]
            if arm in study.select:
                choice = select(study, arm, rotation, done)
                selections.setdefault(arm, {})[rotation] = choice
                done = [(c, r) for c, r in done if c.point_name == choice["chosen"]]
            runs[arm].update({(c.rotation, c.seed): r for c, r in done})
    return runs, selections


def _arm_figures(study: Study, runs: dict) -> dict:
    """Per arm: per rotation and over all rotations (``all``), each metric's mean, sample std and n."""
    out = {}
    for arm, mine in runs.items():
        out[arm] = {}
        for rotation in [*study.rotations, "all"]:
            kept = [r for (rot, _), r in mine.items() if rotation in ("all", rot)]
            out[arm][rotation] = {m: spread([v for r in kept if (v := _value(study, r, m)) is not None])
                                  for m in study.metrics}
    return out


def _applicable(study: Study, runs: dict, metric: str) -> dict:
    """``{(rotation, seed): value}`` of ``metric`` over an arm's runs, those where it does not apply left out."""
    return {k: v for k, r in runs.items() if (v := _value(study, r, metric)) is not None}


def _paired(study: Study, runs: dict) -> dict:
    """Each arm minus the baseline over matched (rotation, seed) runs; verdicts when the study claims significance."""
    if study.baseline is None:
        return {}
    base = runs[study.baseline]
    out = {}
    for arm in study.arms:
        if arm == study.baseline:
            continue
        out[f"{arm} - {study.baseline}"] = per_metric = {}
        for metric, direction in study.metrics.items():
            diff = paired(_applicable(study, runs[arm], metric), _applicable(study, base, metric))
            diff["verdict"] = (verdict(diff, 0.0, direction == "higher") if study.significant
                               else "not claimed (compare.significant is false)")
            per_metric[metric] = diff
    return out


def _goals(study: Study, figures: dict) -> dict:
    """Per arm and metric with a goal: met / not met / tie, by the tie rule on the arm's runs."""
    return {arm: {m: {"goal": goal, "verdict": GOAL_WORDS[verdict(figures[arm]["all"][m], goal,
                                                                   study.metrics[m] == "higher")]}
                  for m, goal in study.goals.items()} for arm in study.arms}


def summarise(study: Study, cells: list[Cell], records: dict[str, dict | None]) -> dict:
    """The study's summary (``summary.json``) from its cells' records (None: a cell not run)."""
    runs, selections = _runs(study, cells, records)
    figures = _arm_figures(study, runs)
    failed = [{"cell": c.id, "log": records[c.id].get("log"), "error": records[c.id].get("error")}
              for c in cells if (records[c.id] or {}).get("status") == "failed"]
    return {"study": study.name, "file": str(study.path), "recipe": str(study.recipe),
            "arm_recipes": {arm: str(path) for arm, path in study.arm_recipes.items()}, "seeds": study.seeds,
            "arms": study.arms, "rotations": study.rotations, "set": study.set, "metrics": study.metrics,
            "tie_rule": TIE_RULE,
            "cells": {"planned": len(cells), "ok": sum((r or {}).get("status") == "ok" for r in records.values()),
                      "failed": len(failed), "not_run": sum(r is None for r in records.values()),
                      "failures": failed},
            "selection": selections, "results": figures, "baseline": study.baseline,
            "significant": study.significant, "paired": _paired(study, runs), "goals": _goals(study, figures)}
