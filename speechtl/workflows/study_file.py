"""Study files: a comparison as data (arms, seeds, rotations, the dev grid each choice reads, metrics, goals).

A study names a base recipe and crosses its **arms** (named lists of ``--set``
overrides: the settings compared) with its **seeds** (``train.seed``) and
**rotations** (named lists of overrides that change the data, e.g. which
speakers or languages are held out). An arm may carry a **dev grid**: values of
some keys to choose among, by a criterion metric read on a selection split that
is never ``test``. Example (``studies/tiny.yaml``)::

    name: tiny-encoders
    recipe: recipes/tiny.yaml
    steps: train                           # or run: self-training, target-domain reports (target.NAME);
                                           # or add-language (study_add_language: add-language.OPTION=...);
                                           # or eval: score a model, train nothing (study_eval: eval.model=...)
    set: [train.max_steps=5]               # every cell
    seeds: [0, 1, 2]
    rotations:
      without-es: ["data.languages=[en, de]"]
    arms:
      tdnn: [model.encoder=tdnn]
      blstm: [model.encoder=blstm, model.dim=64]
      other: {recipe: recipes/tiny-multitask.yaml, set: [model.dim=64]}   # an arm on its own recipe
    select:                                # optional, per arm (study_selection: a list of points, a constraint)
      tdnn: {grid: {train.lr: [0.001, 0.003]}, split: dev, criterion: per_mean, direction: lower}
    metrics: {test.per_mean: lower}        # SPLIT.METRIC: which way is better
    goals: {test.per_mean: 0.9}            # optional: a target per metric
    compare: {baseline: tdnn, significant: true}

A study may **prepare** models before its cells: ``prepare: {NAME: {recipe: PATH, set: [...],
splits: [test]}}`` trains that recipe once per seed the cells need (``train.seed`` = the cell's
seed; the command line's ``--set`` applies too), scored on ``splits``, and a cell's override
names the model as ``{prepare.NAME}``, e.g. ``"transfer.source={prepare.source}"`` (the
fine-tuning study's source model). Prepared runs are kept and skipped when the study runs again. An entry
with ``rotations: {ROTATION: [overrides]}`` (exactly the study's rotations) is trained once per rotation and
seed, with that rotation's overrides, and a cell's ``{prepare.NAME}`` is its own rotation's model. An entry's
``steps: run`` makes it a ``speechtl run`` (self-training rounds, the target domain's report) instead of a
``speechtl train``. An entry's ``reuse: FOLDER`` (another study's ``-o`` folder, relative to where the study
runs) links that study's run of the same entry name, rotation and seed instead of training it again, when its
record says ok with the very same recipe, overrides, splits and steps and its model is there (otherwise it is
trained as usual); the linked record names where it came from.

Everything is checked before any run, and an error names the file and line:
an unknown key, an override the recipe schema refuses (type-checked as
``--set`` is), an arm named in ``select`` or ``compare`` that does not exist,
selection on ``test`` (or a constraint read there), fewer than 2 seeds for a comparison called significant, a
``{prepare.NAME}`` that names no prepared model, the options of add-language and eval cells (an unknown
``eval.OPTION``, one in a study of another kind, an eval study without ``eval.model``), and a metric, criterion
or constraint some cell cannot report (:mod:`~speechtl.workflows.study_metrics`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from speechtl.config import load_yaml
from speechtl.errors import RecipeError, shorten
from speechtl.tasks import load_recipe
from speechtl.workflows import study_eval
from speechtl.workflows.study_add_language import PREFIX, STEP as ADD_LANGUAGE, check_options, split_options
from speechtl.workflows.study_lines import Lines, mapping, unknown_keys
from speechtl.workflows.study_metrics import check_figures, check_splits
# prepared_model: where a prepared run's model lies, also imported from here
from speechtl.workflows.study_prepare_paths import Prepare, prepared_model, prepared_names, resolve
from speechtl.workflows.study_selection import DIRECTIONS, Selection, parse_selection

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$")  # arm and rotation names become folder names
OWNED = ("train.seed", "train.exp_dir")  # the study sets these for every cell
TOP_KEYS = ("name", "recipe", "steps", "set", "seeds", "rotations", "arms", "select", "metrics", "goals", "compare",
            "prepare")
# what a cell runs: the training loop alone, every step of `speechtl run`, `speechtl add-language`, or
# `speechtl eval` of a model (no training)
STEPS = ("train", "run", ADD_LANGUAGE, study_eval.STEP)
PREPARE_STEPS = ("train", "run")  # what a prepared run is: it trains a model


@dataclass
class Study:
    """A parsed, checked study file."""

    path: Path
    name: str
    recipe: Path
    seeds: list[int]
    arms: dict[str, list[str]]
    rotations: dict[str, list[str]]
    metrics: dict[str, str]  # SPLIT.METRIC -> lower / higher
    select: dict[str, Selection] = field(default_factory=dict)
    goals: dict[str, float] = field(default_factory=dict)
    set: list[str] = field(default_factory=list)
    baseline: str | None = None
    significant: bool = False
    arm_recipes: dict[str, Path] = field(default_factory=dict)  # arms that name their own recipe
    steps: str = "train"  # one of STEPS
    prepare: dict[str, Prepare] = field(default_factory=dict)
    extra: list[str] = field(default_factory=list)  # the command line's overrides (also in set): prepared runs too

    def recipe_of(self, arm: str) -> Path:
        """The recipe an arm's cells train: its own, or the study's."""
        return self.arm_recipes.get(arm, self.recipe)

    def splits(self, arm: str) -> list[str]:
        """The splits a cell of ``arm`` is scored on: its selection split first, then the metrics'."""
        wanted = [self.select[arm].split] if arm in self.select else []
        wanted += [m.split(".", 1)[0] for m in self.metrics]
        return list(dict.fromkeys(wanted))

    def figures(self, arm: str) -> list[tuple[str, tuple]]:
        """Every ``SPLIT.NAME`` read of a cell of ``arm``, with the study file key asking for it: the metrics,
        then its dev grid's criterion and constraint (checked by :mod:`~speechtl.workflows.study_metrics`)."""
        chosen = self.select[arm].metrics() if arm in self.select else []
        return [*((m, ("metrics", m)) for m in self.metrics),
                *zip(chosen, (("select", arm, "criterion"), ("select", arm, "constraint")))]


def grid_overrides(point: dict[str, Any]) -> list[str]:
    """``key=value`` overrides for one grid point (values written as JSON, which YAML reads back)."""
    return [f"{key}={json.dumps(value)}" for key, value in point.items()]


def _overrides(lines: Lines, data: Any, where: tuple) -> list[str]:
    """A list of ``key=value`` strings; the keys the study owns refused."""
    if data is None:
        return []
    if not isinstance(data, list) or not all(isinstance(x, str) and "=" in x for x in data):
        raise lines.error(where, f"expected a list of key=value overrides, got {shorten(repr(data))}")
    for i, item in enumerate(data):
        if item.split("=", 1)[0].strip() in OWNED:
            raise lines.error((*where, i), f"{', '.join(OWNED)} are set by the study for every cell")
        try:
            split_options([item], check=True)  # an add-language option: known, of its type and range
            study_eval.split_options([item], check=True)  # an eval option: known, the model there
        except RecipeError as err:
            raise lines.error((*where, i), str(err)) from None
    return data


def _named(lines: Lines, data: dict, key: str, required: bool = True) -> dict[str, list[str]]:
    if key not in data and not required:
        return {"all": []}
    out = {}
    for name, value in mapping(lines, data.get(key), (key,)).items():
        if not isinstance(name, str) or not NAME.match(name):
            raise lines.error((key, name), "a name of letters, digits and _ . + - (it becomes a folder name)")
        out[name] = _overrides(lines, value, (key, name))
    return out


def _metrics(lines: Lines, data: dict) -> dict[str, str]:
    metrics = mapping(lines, data.get("metrics"), ("metrics",))
    for name, direction in metrics.items():
        if not isinstance(name, str) or "." not in name:
            raise lines.error(("metrics", name), "a metric is SPLIT.NAME, e.g. test.per_mean")
        if direction not in DIRECTIONS:
            raise lines.error(("metrics", name), f"expected lower or higher, got {shorten(repr(direction))}")
    return metrics


def _check_recipes(lines: Lines, study: Study) -> None:
    """Type-check every override against the recipe schema, as ``--set`` is, and every cell's options and the
    figures the study reads of it (:mod:`~speechtl.workflows.study_metrics`); the error names the line."""
    def check(overrides: list[str], where: tuple, recipe: Path = study.recipe,
              cell: tuple[str, str] | None = None) -> None:
        """``cell``: ``overrides`` are a whole cell's (``(arm, rotation)``), so its options and figures are checked."""
        for name in prepared_names([*study.set, *overrides]):
            if name not in study.prepare:
                raise lines.error(where, f"{{prepare.{shorten(name)}}}: no such prepared run; the study prepares "
                                  f"{', '.join(study.prepare) or 'nothing (add a prepare: section)'}")
        try:
            options, rest = split_options([*study.set, *overrides])
            scoring, rest = study_eval.split_options(rest)
            for given, step, prefix in ((options, ADD_LANGUAGE, PREFIX), (scoring, study_eval.STEP, study_eval.PREFIX)):
                if given and study.steps != step:
                    raise RecipeError(f"{prefix}{next(iter(given))}: an {step} option; needs steps: {step}")
            if study.steps == ADD_LANGUAGE and cell is not None:  # a whole cell's options: the base, the language...
                check_options(options)
            if study.steps == study_eval.STEP and cell is not None:  # the model it scores
                study_eval.check_options(scoring)
            loaded = load_recipe(recipe, resolve(rest, Path("OUT"), 0))
        except RecipeError as err:
            raise lines.error(where, str(err)) from None
        if cell is not None:  # what the study reads of the cell: can it report that?
            arm, rotation = cell
            check_figures(lines, study.steps, study.figures(arm), loaded, options,
                          f"arm {arm}" + (f", rotation {rotation}" if len(study.rotations) > 1 else ""))

    check([], ("set",))
    for name, prep in study.prepare.items():
        _check_prepare(lines, study, name, prep)
    for name, overrides in study.rotations.items():
        check(overrides, ("rotations", name))
    for name, overrides in study.arms.items():
        recipe = study.recipe_of(name)
        check(overrides, ("arms", name), recipe)
        for rotation, rot in study.rotations.items():
            check([*rot, *overrides], ("arms", name), recipe, None if name in study.select else (name, rotation))
            for point in study.select[name].points() if name in study.select else []:
                check([*rot, *overrides, *grid_overrides(point)], ("select", name, "grid"), recipe, (name, rotation))


def _check_prepare(lines: Lines, study: Study, name: str, prep: Prepare) -> None:
    """Type-check a prepared run's overrides (its ``set``, then with each rotation's) and its splits, naming the line."""
    runs = [((), [])] + [(("rotations", rotation), overrides) for rotation, overrides in prep.rotations.items()]
    for where, overrides in runs:
        try:
            loaded = load_recipe(prep.recipe, [*prep.set, *overrides, *study.extra])
        except RecipeError as err:
            raise lines.error(("prepare", name, *where), str(err)) from None
        try:
            check_splits(prep.splits, loaded, prep.steps)
        except RecipeError as err:
            raise lines.error(("prepare", name, "splits"), str(err)) from None


def _recipe_path(lines: Lines, value: Any, study_path: Path, where: tuple = ("recipe",)) -> Path:
    """A recipe: relative to the working directory (as recipes' own paths are), else to the study file."""
    if not isinstance(value, str) or not value:
        raise lines.error(where, "expected the path of a recipe, e.g. recipes/tiny.yaml")
    for candidate in (Path(value), study_path.parent / value):
        if candidate.is_file():
            return candidate
    raise lines.error(where, f"no such recipe file {shorten(value)}")


def _arms(lines: Lines, data: dict, study_path: Path) -> tuple[dict[str, list[str]], dict[str, Path]]:
    """Arms as ``NAME: [overrides]``, or ``NAME: {recipe: PATH, set: [overrides]}`` for an arm on its own recipe."""
    plain = {k: ([] if isinstance(v, dict) else v) for k, v in mapping(lines, data.get("arms"), ("arms",)).items()}
    arms = _named(lines, {"arms": plain}, "arms")
    recipes = {}
    for name, value in data["arms"].items():
        if isinstance(value, dict):
            unknown = set(value) - {"recipe", "set"}
            if unknown:
                raise lines.error(("arms", name, sorted(map(str, unknown))[0]), "unknown key; accepts recipe, set")
            recipes[name] = _recipe_path(lines, value.get("recipe"), study_path, ("arms", name, "recipe"))
            arms[name] = _overrides(lines, value.get("set"), ("arms", name, "set"))
    return arms, recipes


def load_study(path: str | Path, extra: list[str] = ()) -> Study:
    """Read and check a study file; ``extra`` overrides apply to every cell (the command line's ``--set``).

    Raises:
        RecipeError: anything wrong, naming the file and line (see the module docstring).
    """
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f"{shorten(path, 200)}: no such study file")
    data = load_yaml(path)
    lines = Lines(path, path.read_text(encoding="utf-8"))
    for key in data:
        if key not in TOP_KEYS:
            raise lines.error((key,), f"unknown key; a study accepts: {', '.join(TOP_KEYS)}")
    seeds = data.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(type(s) is int for s in seeds) or len(set(seeds)) < len(seeds):
        raise lines.error(("seeds",), f"expected a list of distinct integers, got {shorten(repr(seeds))}")
    arms, arm_recipes = _arms(lines, data, path)
    study = Study(path=path, name=str(data.get("name") or path.stem), recipe=_recipe_path(lines, data.get("recipe"), path),
                  seeds=seeds, arms=arms, rotations=_named(lines, data, "rotations", False), arm_recipes=arm_recipes,
                  metrics=_metrics(lines, data), set=[*_overrides(lines, data.get("set"), ("set",)), *extra])
    for arm, sel in (data.get("select") or {}).items():
        if arm not in study.arms:
            raise lines.error(("select", arm), f"unknown arm; the arms are {', '.join(study.arms)}")
        study.select[arm] = parse_selection(lines, sel, arm)
    for metric, goal in (data.get("goals") or {}).items():
        if metric not in study.metrics:
            raise lines.error(("goals", metric), f"not one of the study's metrics ({', '.join(study.metrics)})")
        if isinstance(goal, bool) or not isinstance(goal, (int, float)):
            raise lines.error(("goals", metric), f"expected a number, got {shorten(repr(goal))}")
        study.goals[metric] = float(goal)
    study.extra = study_eval.split_options(split_options(list(extra))[1])[1]  # for prepared runs: the command
    # line's recipe overrides
    study.prepare = _prepare(lines, data.get("prepare"), path, list(study.rotations))
    study.steps = data.get("steps", "train")
    if study.steps not in STEPS:
        raise lines.error(("steps",), f"expected train, run (every step of speechtl run: self-training, the "
                          f"target domain's test), {study_eval.STEP} (score a model, train nothing) or "
                          f"{ADD_LANGUAGE}, got {shorten(repr(study.steps))}")
    _compare(lines, data.get("compare"), study)
    _check_recipes(lines, study)
    return study


def _prepare(lines: Lines, data: Any, study_path: Path, rotations: list[str]) -> dict[str, Prepare]:
    """``prepare: {NAME: {recipe: PATH, set: [overrides], splits: [SPLIT, ...], rotations: {ROTATION: [...]},
    steps: train|run, reuse: FOLDER}}``."""
    if data is None:
        return {}
    out = {}
    for name, value in mapping(lines, data, ("prepare",)).items():
        where = ("prepare", name)
        if not isinstance(name, str) or not NAME.match(name):
            raise lines.error(where, "a name of letters, digits and _ . + - (it becomes a folder name)")
        value = mapping(lines, value, where)
        unknown_keys(lines, value, where, ("recipe", "set", "splits", "rotations", "steps", "reuse"))
        if value.get("steps", "train") not in PREPARE_STEPS:
            raise lines.error((*where, "steps"), f"expected train or run (every step of speechtl run: self-training, "
                              f"the target domain's test), got {shorten(repr(value['steps']))}")
        splits = value.get("splits", [])
        if not isinstance(splits, list) or not all(isinstance(x, str) and x for x in splits):
            raise lines.error((*where, "splits"), f"expected a list of split names, got {shorten(repr(splits))}")
        reuse = value.get("reuse")
        if reuse is not None and not (isinstance(reuse, str) and reuse):
            raise lines.error((*where, "reuse"), f"expected another study's output folder, got {shorten(repr(reuse))}")
        out[name] = Prepare(_recipe_path(lines, value.get("recipe"), study_path, (*where, "recipe")),
                            _overrides(lines, value.get("set"), (*where, "set")), splits,
                            _prepare_rotations(lines, value, where, rotations), value.get("steps", "train"),
                            Path(reuse) if reuse else None)
    return out


def _prepare_rotations(lines: Lines, entry: dict, where: tuple, rotations: list[str]) -> dict[str, list[str]]:
    """A prepared run's ``rotations: {ROTATION: [overrides]}`` (a run per rotation and seed): exactly the
    study's rotations, each with its overrides; ``{}`` without the key (a run per seed)."""
    if "rotations" not in entry:
        return {}
    where = (*where, "rotations")
    given = mapping(lines, entry["rotations"], where)
    for rotation in given:
        if rotation not in rotations:
            raise lines.error((*where, rotation), f"not a rotation of the study; its rotations are "
                              f"{', '.join(rotations)}")
    missing = [rotation for rotation in rotations if rotation not in given]
    if missing:
        raise lines.error(where, f"no overrides for rotation {', '.join(missing)}: a prepared run per rotation "
                          f"names every rotation of the study ({', '.join(rotations)}; [] for none)")
    return {rotation: _overrides(lines, given[rotation], (*where, rotation)) for rotation in rotations}


def _compare(lines: Lines, data: Any, study: Study) -> None:
    """``compare: {baseline: ARM, significant: bool}``: paired differences against a baseline arm."""
    if data is None:
        return
    data = mapping(lines, data, ("compare",))
    unknown = set(data) - {"baseline", "significant"}
    if unknown:
        raise lines.error(("compare", sorted(map(str, unknown))[0]), "unknown key; accepts baseline, significant")
    if data.get("baseline") not in study.arms:
        raise lines.error(("compare", "baseline"), f"unknown arm {shorten(repr(data.get('baseline')))}; the arms "
                          f"are {', '.join(study.arms)}")
    study.baseline = data["baseline"]
    study.significant = data.get("significant", False)
    if not isinstance(study.significant, bool):
        raise lines.error(("compare", "significant"), "expected true or false")
    if study.significant and len(study.seeds) < 2:
        raise lines.error(("compare", "significant"), f"a comparison called significant needs at least 2 seeds "
                          f"(the spread it is judged against); this study has {len(study.seeds)}")
    if len(study.arms) < 2:
        raise lines.error(("compare",), "a comparison needs at least 2 arms")
