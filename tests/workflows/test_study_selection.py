"""Dev grids with a constraint (the best criterion among the points meeting a bound), grids as lists of points."""

from __future__ import annotations

from pathlib import Path

import pytest

from speechtl.errors import RecipeError
from speechtl.workflows.study_cells import Cell, plan
from speechtl.workflows.study_file import Study, load_study
from speechtl.workflows.study_report import render_markdown
from speechtl.workflows.study_selection import Constraint, Selection, choose_point
from speechtl.workflows.study_summary import select, summarise
from tests.conftest import TINY_STUDY

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "recipes" / "tiny.yaml"
ACCURACY = Selection({"k": [1, 2, 3]}, "word_accuracy", direction="higher",
                     constraint=Constraint("mean_change", 0.01))


# --- the rule, on hand-built figures ------------------------------------------------------------------------------

def test_the_best_criterion_among_the_points_that_meet_the_bound():
    # point a has the best accuracy but forgets too much; of b and c (both within), c is more accurate
    choice = choose_point(ACCURACY, {"a": 0.9, "b": 0.5, "c": 0.7}, {"a": 0.02, "b": 0.001, "c": 0.01})
    assert choice["chosen"] == "c" and choice["met"] == ["b", "c"]  # the bound itself is met (<=)
    assert "best word_accuracy (higher is better) of the 2 of 3 points with mean_change <= 0.01" in choice["why"]
    # no constraint: the best accuracy whatever it forgets
    assert choose_point(Selection({"k": [1]}, "word_accuracy", direction="higher"),
                        {"a": 0.9, "b": 0.5}, {})["chosen"] == "a"


def test_scores_equal_up_to_float_rounding_go_to_the_first_point():
    # mean WER of (73 + 37) and (71 + 39) errors in 91 words: equal, but summed in another order they differ
    # in the last bit (as a short-list-word-score dev grid did); the first point in file order wins
    first, second = (73 / 91 + 37 / 91) / 2, (71 / 91 + 39 / 91) / 2
    assert first != second and first > second
    plain = Selection({"k": [1]}, "wer_en")
    assert choose_point(plain, {"first": first, "second": second}, {})["chosen"] == "first"
    assert choose_point(plain, {"first": first, "second": second - 0.01}, {})["chosen"] == "second"


def test_when_no_point_meets_the_bound_the_one_nearest_to_it_is_chosen():
    choice = choose_point(ACCURACY, {"a": 0.9, "b": 0.5, "c": 0.7}, {"a": 0.03, "b": 0.012, "c": 0.02})
    assert choice["chosen"] == "b" and choice["met"] == []  # the least forgetting, not the most accurate
    assert "no point has mean_change <= 0.01: the one nearest to it (lowest mean_change)" in choice["why"]
    # at_least: the highest is nearest; a lower-is-better criterion among those that meet it
    floor = Selection({"k": [1]}, "per", constraint=Constraint("word_accuracy", 0.6, at_most=False))
    assert choose_point(floor, {"a": 0.2, "b": 0.3}, {"a": 0.4, "b": 0.5})["chosen"] == "b"
    assert choose_point(floor, {"a": 0.2, "b": 0.3, "c": 0.1}, {"a": 0.6, "b": 0.7, "c": 0.5})["chosen"] == "a"
    # equal scores: the first point in file order, so a rerun chooses the same
    assert choose_point(ACCURACY, {"a": 0.5, "b": 0.5}, {"a": 0.0, "b": 0.0})["chosen"] == "a"


def _study(selection: Selection) -> Study:
    return Study(path=Path("s.yaml"), name="s", recipe=TINY, seeds=[0, 1], arms={"a": []}, rotations={"all": []},
                 metrics={"test.word_accuracy": "higher"}, select={"a": selection})


def _done(figures: dict[str, tuple[float, float, float]]) -> list[tuple[Cell, dict]]:
    """Two seeds per point: dev accuracy, dev mean change (seed 1 adds 0.002 to both), test accuracy."""
    done = []
    for index, (point, (accuracy, change, test)) in enumerate(figures.items()):
        for seed in (0, 1):
            cell = Cell("a", "all", seed, str(TINY), [], ["dev", "test"], {"k": index + 1}, point)
            done.append((cell, {"cell": cell.id, "status": "ok", "metrics": {
                "dev": {"word_accuracy": accuracy + seed * 0.002, "mean_change": change + seed * 0.002},
                "test": {"word_accuracy": test, "mean_change": 0.0}}}))
    return done


def test_the_summary_records_what_met_the_constraint_and_why_from_dev_alone():
    # test favours point a (it would win on test accuracy and on test forgetting): dev decides
    done = _done({"0-a": (0.9, 0.019, 0.99), "1-b": (0.5, 0.004, 0.1), "2-c": (0.7, 0.009, 0.2)})
    choice = select(_study(ACCURACY), "a", "all", done)
    assert choice["chosen"] == "2-c" and choice["setting"] == {"k": 3}
    assert choice["scores"] == pytest.approx({"0-a": 0.901, "1-b": 0.501, "2-c": 0.701})
    bound = choice["constraint"]
    assert (bound["metric"], bound["at_most"]) == ("mean_change", 0.01) and bound["met"] == ["1-b", "2-c"]
    assert bound["values"] == pytest.approx({"0-a": 0.02, "1-b": 0.005, "2-c": 0.01})  # means over the 2 seeds
    assert "of the 2 of 3 points" in choice["why"] and "nearest" in bound["rule"]
    summary = summarise(_study(ACCURACY), [c for c, _ in done], {c.id: r for c, r in done})
    assert summary["results"]["a"]["all"]["test.word_accuracy"]["mean"] == pytest.approx(0.2)  # point c's runs
    report = render_markdown(summary)
    assert ("chosen on dev by word_accuracy (higher is better) among the points with mean_change <= 0.01 (else "
            "the one nearest to it), per rotation: all: k=3 (2 of 3 points met it)") in report


def test_a_missing_constraint_figure_is_named():
    done = _done({"0-a": (0.9, 0.0, 0.9)})
    study = _study(Selection({"k": [1]}, "word_accuracy", constraint=Constraint("max_change", 0.01)))
    with pytest.raises(RecipeError, match="metric dev.max_change: the dev report of cell a/all/seed0/0-a has "
                                          "mean_change, word_accuracy"):
        select(study, "a", "all", done)


# --- in a study file: checked before any run, naming the line --------------------------------------------------------

GOOD = TINY_STUDY + """select:
  a:
    grid: {train.lr: [0.1, 0.2]}
    criterion: per_mean
    constraint: {metric: wer_mean, at_most: 0.5}
"""


def _load(folder: Path, text: str) -> Study:
    path = folder / "study.yaml"
    path.write_text(text)
    return load_study(path)


def test_a_constraint_is_read_from_the_study_file(tmp_path):
    sel = _load(tmp_path, GOOD).select["a"]
    assert sel.constraint == Constraint("wer_mean", 0.5, at_most=True) and sel.metrics() == ["dev.per_mean",
                                                                                             "dev.wer_mean"]
    assert _load(tmp_path, GOOD.replace("at_most: 0.5", "at_least: 1")).select["a"].constraint.at_most is False


@pytest.mark.parametrize("change, line, words", [
    (("at_most: 0.5", "at_most: 0.5, else: lowest"), 12, r"select.a.constraint.else: unknown key; accepts metric, "
                                                         "at_most, at_least"),
    (("at_most: 0.5", "at_most: 0.5, at_least: 0.1"), 12, "select.a.constraint: expected one bound"),
    ((", at_most: 0.5", ""), 12, "select.a.constraint: expected one bound: at_most or at_least"),
    (("at_most: 0.5", "at_most: half"), 12, r"select.a.constraint.at_most: expected a number, got 'half'"),
    (("at_most: 0.5", "at_most: .nan"), 12, r"select.a.constraint.at_most: expected a number"),
    (("metric: wer_mean", "metric: test.wer_mean"), 12, r"select.a.constraint.metric: test.wer_mean: name the "
                                                        r"metric alone, e.g. wer_mean \(a constraint is read on the "
                                                        r"selection's split, dev; never on test\)"),
    (("metric: wer_mean", "metric: dev.wer_mean"), 12, "select.a.constraint.metric: dev.wer_mean: name the metric "
                                                       "alone"),
    (("metric: wer_mean", "split: test, metric: wer_mean"), 12, r"select.a.constraint.split: a constraint is read "
                                                                r"on the selection's split \(dev\)"),
    (("metric: wer_mean", "metric: ''"), 12, "select.a.constraint.metric: expected the metric bounded"),
    (("constraint: {metric: wer_mean, at_most: 0.5}", "constraint: 0.5"), 12, "select.a.constraint: expected a "
                                                                              "non-empty mapping"),
    (("criterion: per_mean", "critrion: per_mean"), 11, r"select.a.critrion: unknown key; accepts grid, criterion, "
                                                         "split, direction, constraint"),
    (("{train.lr: [0.1, 0.2]}", "[{train.lr: 0.1}, {}]"), 10, r"select.a.grid\[1\]: expected a non-empty mapping"),
    (("{train.lr: [0.1, 0.2]}", "[{train.lr: fast}]"), 10, "select.a.grid: .*train.lr: expected float"),
])
def test_bad_constraints_and_grids_are_refused_naming_the_line(tmp_path, change, line, words):
    with pytest.raises(RecipeError, match=rf"study.yaml:{line}: {words}"):
        _load(tmp_path, GOOD.replace(*change, 1))


def test_a_grid_may_list_its_points(tmp_path):
    """The points tried, as written (not every combination): e.g. 3 configs of 2 keys."""
    study = _load(tmp_path, GOOD.replace("{train.lr: [0.1, 0.2]}", "[{train.lr: 0.1}, {train.lr: 0.2, "
                                        "train.max_steps: 7}, {model.dim: 16}]"))
    cells = [c for c in plan(study) if c.arm == "a" and c.seed == 0]
    assert [c.point for c in cells] == [{"train.lr": 0.1}, {"train.lr": 0.2, "train.max_steps": 7},
                                        {"model.dim": 16}]
    assert cells[1].overrides[-3:] == ["train.lr=0.2", "train.max_steps=7", "train.seed=0"]
    assert len({c.point_name for c in cells}) == 3
