"""The statistics of a study: spread over runs, paired differences, and the one tie rule.

**The tie rule** (the only place it is written): a difference is a tie when it
lies within the spread, i.e. ``|mean - reference| <= std`` where ``std`` is the
sample standard deviation of the same values. For two arms the values are the
paired differences over matched seeds and rotations (reference 0); for a goal
they are the arm's own runs (reference: the goal). Fewer than 2 values have no
spread, so they give no verdict.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

TIE_RULE = ("a difference is a tie when it lies within the spread: |mean - reference| <= sample std of the "
            "same values (paired differences over matched seeds and rotations, reference 0; or an arm's runs, "
            "reference its goal); fewer than 2 values give no verdict")


def spread(values: Sequence[float]) -> dict:
    """``{"mean", "std", "n"}`` of ``values``; ``std`` is the sample standard deviation (None below 2 values)."""
    values = list(values)
    if not values:
        return {"mean": None, "std": None, "n": 0}
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else None,
            "n": len(values)}


def verdict(stats: dict, reference: float = 0.0, higher_is_better: bool = True) -> str:
    """``better`` / ``worse`` than ``reference``, ``tie`` (within the spread), or ``no verdict`` (n < 2).

    Args:
        stats: a :func:`spread` result.
        reference: 0 for a paired difference, the goal for an arm's runs.
        higher_is_better: which way of the metric is good.
    """
    if stats["n"] < 2 or stats["std"] is None:
        return "no verdict"
    gap = stats["mean"] - reference
    if abs(gap) <= stats["std"]:
        return "tie"
    return "better" if (gap > 0) == higher_is_better else "worse"


def paired(a: dict, b: dict) -> dict:
    """``a - b`` over the keys (e.g. ``(rotation, seed)``) both have; :func:`spread` of the differences plus them.

    Args:
        a, b: ``{key: value}`` of two arms' runs of one metric.
    """
    keys = [k for k in a if k in b]
    diffs = [a[k] - b[k] for k in keys]
    return {**spread(diffs), "values": diffs}


def choose(scores: dict[str, float], higher_is_better: bool) -> str:
    """The key with the best score; the first in order on equal scores (so a rerun chooses the same).

    Scores equal up to float rounding are equal: means of the same errors summed in another order (e.g. 71 + 39
    and 73 + 37 errors over two seeds) differ in the last bit, which must not decide against file order.
    """
    best = max if higher_is_better else min
    target = best(scores.values())
    return next(k for k, v in scores.items() if math.isclose(v, target, rel_tol=1e-9, abs_tol=1e-12))
