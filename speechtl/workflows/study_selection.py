"""An arm's dev grid: the points tried, the criterion that chooses among them, and an optional constraint.

Written in a study file under ``select: {ARM: {...}}``::

    grid: {transfer.kl.weight: [10, 30], transfer.l2sp.weight: [0.1, 0.3]}   # every combination, in file order
    grid: [{train.max_steps: 150}, {train.max_steps: 300, data.augment: [gain:-20,20]}]   # or these points
    split: dev                     # the split every figure of the choice is read on; never test
    criterion: per                 # the metric that chooses (of the split's report)
    direction: lower               # which way of it is better
    constraint: {metric: mean_change, at_most: 0.01}   # optional; or at_least

**The constraint rule** (:data:`CONSTRAINT_RULE`, the only place it is written): the point with the best
mean criterion among the points whose mean constraint metric (over seeds, on the same split) meets the
bound; when none meets it, the point nearest to meeting it (the lowest constraint metric for
``at_most``, the highest for ``at_least``). Equal scores go to the first point in file order.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from speechtl.errors import shorten
from speechtl.workflows.study_lines import Lines, mapping, unknown_keys
from speechtl.workflows.study_stats import choose

DIRECTIONS = ("lower", "higher")
# reports of test data, never read to choose: the test split, and the target domain's test (``steps: run``)
TEST_SPLITS = ("test", "target")
KEYS = ("grid", "criterion", "split", "direction", "constraint")
BOUNDS = ("at_most", "at_least")
CONSTRAINT_RULE = ("the best mean criterion among the grid points whose mean constraint metric (over seeds, on the "
                   "selection split) meets the bound; when none meets it, the point nearest to meeting it (lowest "
                   "metric for at_most, highest for at_least); equal scores go to the first point in file order")


@dataclass(frozen=True)
class Constraint:
    """A bound a grid point must meet on the selection split to be chosen by the criterion."""

    metric: str  # a metric of the selection split's report, e.g. mean_change
    bound: float
    at_most: bool = True  # False: at least

    def met(self, value: float) -> bool:
        return value <= self.bound if self.at_most else value >= self.bound

    def text(self) -> str:
        return f"{self.metric} {'<=' if self.at_most else '>='} {self.bound:g}"

    def record(self) -> dict:
        return {"metric": self.metric, BOUNDS[0] if self.at_most else BOUNDS[1]: self.bound}


@dataclass
class Selection:
    """An arm's dev grid: the values to choose among and how the choice is made."""

    grid: dict[str, list] | list[dict[str, Any]]  # recipe key -> values tried (every combination), or the points
    criterion: str  # a metric of the task's report, e.g. per_mean
    split: str = "dev"  # the split the criterion is read on; never test
    direction: str = "lower"  # lower or higher is better
    constraint: Constraint | None = None

    def points(self) -> list[dict[str, Any]]:
        """Every point of the grid, in file order (a mapping's: every combination of its values)."""
        if isinstance(self.grid, list):
            return [dict(point) for point in self.grid]
        keys = list(self.grid)
        return [dict(zip(keys, values)) for values in itertools.product(*(self.grid[k] for k in keys))]

    def metrics(self) -> list[str]:
        """``SPLIT.NAME`` of every figure the choice reads: the criterion, then the constraint's."""
        return [f"{self.split}.{m}" for m in (self.criterion, *([self.constraint.metric] if self.constraint else []))]


def choose_point(sel: Selection, scores: dict[str, float], bounded: dict[str, float]) -> dict:
    """The grid point chosen by the criterion's ``scores`` and, with a constraint, the ``bounded`` figures.

    Args:
        scores: ``{point: mean criterion}`` (non-empty).
        bounded: ``{point: mean constraint metric}`` (unused without a constraint).

    Returns:
        ``{"chosen": point}``, with a constraint also ``"met"`` (the points meeting it) and ``"why"``.
    """
    higher = sel.direction == "higher"
    if sel.constraint is None:
        return {"chosen": choose(scores, higher)}
    bound = sel.constraint
    met = [point for point in scores if bound.met(bounded[point])]
    if met:
        return {"chosen": choose({p: scores[p] for p in met}, higher), "met": met,
                "why": f"the best {sel.criterion} ({sel.direction} is better) of the {len(met)} of {len(scores)} "
                       f"points with {bound.text()}"}
    return {"chosen": choose(bounded, not bound.at_most), "met": [],
            "why": f"no point has {bound.text()}: the one nearest to it "
                   f"({'lowest' if bound.at_most else 'highest'} {bound.metric})"}


def parse_selection(lines: Lines, data: Any, arm: str) -> Selection:
    """``select.ARM`` of a study file, checked (see the module docstring); errors name the line."""
    where = ("select", arm)
    data = mapping(lines, data, where)
    unknown_keys(lines, data, where, KEYS)
    sel = Selection(grid=_grid(lines, data.get("grid"), (*where, "grid")), criterion=data.get("criterion"),
                    split=data.get("split", "dev"), direction=data.get("direction", "lower"))
    if not isinstance(sel.criterion, str) or not sel.criterion:
        raise lines.error((*where, "criterion"), "expected the metric the choice reads, e.g. per_mean")
    if sel.split in TEST_SPLITS or not isinstance(sel.split, str):
        # the one place selection on test is refused: a choice made on test makes its test figure a lie
        raise lines.error((*where, "split"), f"{shorten(repr(sel.split))}: a setting is chosen on dev (or another "
                          f"held-out split), never on test data ({', '.join(TEST_SPLITS)})")
    if sel.direction not in DIRECTIONS:
        raise lines.error((*where, "direction"), f"expected lower or higher, got {shorten(repr(sel.direction))}")
    if "constraint" in data:
        sel.constraint = _constraint(lines, data["constraint"], (*where, "constraint"), sel.split)
    return sel


def _grid(lines: Lines, data: Any, where: tuple) -> dict[str, list] | list[dict[str, Any]]:
    """A mapping of keys to non-empty lists of values, or a non-empty list of points (non-empty mappings)."""
    if isinstance(data, list) and data:
        for i, point in enumerate(data):
            mapping(lines, point, (*where, i))
        return data
    for key, values in mapping(lines, data, where).items():
        if not isinstance(values, list) or not values:
            raise lines.error((*where, key), "expected a non-empty list of values")
    return data


def _constraint(lines: Lines, data: Any, where: tuple, split: str) -> Constraint:
    """``{metric: NAME, at_most: X}`` (or ``at_least``), read on the selection's ``split``."""
    data = mapping(lines, data, where)
    if "split" in data:
        raise lines.error((*where, "split"), f"a constraint is read on the selection's split ({shorten(split)}); "
                          "accepts metric, at_most, at_least")
    unknown_keys(lines, data, where, ("metric", *BOUNDS))
    metric = data.get("metric")
    if not isinstance(metric, str) or not metric:
        raise lines.error((*where, "metric"), f"expected the metric bounded, e.g. mean_change; got "
                          f"{shorten(repr(metric))}")
    head, _, rest = metric.partition(".")
    if rest and head in (split, *TEST_SPLITS):
        raise lines.error((*where, "metric"), f"{shorten(metric)}: name the metric alone, e.g. {shorten(rest)} (a "
                          f"constraint is read on the selection's split, {shorten(split)}; never on test)")
    given = [key for key in BOUNDS if key in data]
    if len(given) != 1:
        raise lines.error(where, "expected one bound: at_most or at_least")
    bound = data[given[0]]
    if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not math.isfinite(bound):
        raise lines.error((*where, given[0]), f"expected a number, got {shorten(repr(bound))}")
    return Constraint(metric, float(bound), given[0] == "at_most")
