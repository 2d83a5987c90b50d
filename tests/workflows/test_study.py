"""``speechtl study``: study files checked before any run, dev-only selection, the tie rule, resuming, failures."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from speechtl.cli import main as cli
from speechtl.config import to_dict
from speechtl.errors import RecipeError
from speechtl.workflows import study_cells
from speechtl.workflows.study import run_study
from speechtl.workflows.study_cells import Cell, plan
from speechtl.workflows.study_file import Selection, Study, load_study
from speechtl.workflows.study_report import render_markdown
from speechtl.workflows.study_stats import paired, spread, verdict
from speechtl.workflows.study_summary import select
from tests.conftest import TINY_STUDY

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "recipes" / "tiny.yaml"


# --- the tie rule and the statistics, on hand-built numbers -------------------------------------------------------

def test_spread_is_mean_sample_std_and_n():
    stats = spread([1.0, 2.0, 3.0])
    assert stats == {"mean": 2.0, "std": 1.0, "n": 3}  # sample std (n - 1): population std would be 0.816
    assert spread([5.0]) == {"mean": 5.0, "std": None, "n": 1} and spread([])["n"] == 0


def test_a_difference_within_the_spread_is_a_tie():
    # paired differences 0.1, 0.3, 0.2: mean 0.2, std 0.1 -> outside the spread -> better (higher is better)
    diff = paired({("r", 0): 1.1, ("r", 1): 1.3, ("r", 2): 1.2}, {("r", 0): 1.0, ("r", 1): 1.0, ("r", 2): 1.0})
    assert diff["values"] == pytest.approx([0.1, 0.3, 0.2]) and diff["n"] == 3
    assert verdict(diff, 0.0, higher_is_better=True) == "better"
    assert verdict(diff, 0.0, higher_is_better=False) == "worse"
    # differences -0.1, 0.3, 0.1: mean 0.1, std 0.2 -> a tie either way
    tie = spread([-0.1, 0.3, 0.1])
    assert verdict(tie, 0.0, True) == verdict(tie, 0.0, False) == "tie"
    # the edge: |mean| == std is a tie; just outside is not
    assert verdict({"mean": 0.5, "std": 0.5, "n": 2}) == "tie"
    assert verdict({"mean": 0.51, "std": 0.5, "n": 2}) == "better"
    assert verdict({"mean": 0.9, "std": None, "n": 1}) == "no verdict"
    # against a goal: runs 0.80 +- 0.05 with goal 0.9 (lower is better) -> met; goal 0.82 -> a tie
    runs = spread([0.75, 0.80, 0.85])
    assert verdict(runs, 0.9, higher_is_better=False) == "better"
    assert verdict(runs, 0.82, higher_is_better=False) == "tie"


def test_paired_differences_use_only_matched_runs():
    diff = paired({("a", 0): 3.0, ("a", 1): 5.0, ("b", 0): 9.0}, {("a", 0): 1.0, ("a", 1): 2.0})
    assert diff["values"] == [2.0, 3.0] and diff["n"] == 2


def test_a_figure_that_does_not_apply_is_left_out_and_a_missing_one_is_refused():
    """A scratch model forgets nothing (its report says None): no figure for it, no pair; a typo still raises."""
    from speechtl.workflows.study_summary import summarise

    study = Study(path=Path("s.yaml"), name="s", recipe=TINY, seeds=[0, 1], arms={"ft": [], "scratch": []},
                  rotations={"all": []}, metrics={"test.per": "lower", "test.mean_change": "lower"},
                  baseline="ft", significant=True)
    cells = [Cell(arm, "all", seed, str(TINY), [], ["test"]) for arm in study.arms for seed in study.seeds]
    change = {"ft": 0.01, "scratch": None}
    records = {c.id: {"cell": c.id, "status": "ok", "metrics": {"test": {"per": 0.2 + c.seed / 10,
                                                                         "mean_change": change[c.arm]}}}
               for c in cells}
    summary = summarise(study, cells, records)
    assert summary["results"]["scratch"]["all"]["test.mean_change"] == {"mean": None, "std": None, "n": 0}
    assert summary["results"]["scratch"]["all"]["test.per"]["n"] == 2
    assert summary["results"]["ft"]["all"]["test.mean_change"]["mean"] == pytest.approx(0.01)
    pair = summary["paired"]["scratch - ft"]
    assert pair["test.mean_change"]["n"] == 0 and pair["test.per"]["n"] == 2
    assert "| scratch | 0.250 ± 0.071 (n=2) | – |" in render_markdown(summary)
    del records["ft/all/seed0"]["metrics"]["test"]["mean_change"]
    with pytest.raises(RecipeError, match="metric test.mean_change: the test report of cell ft/all/seed0 has per"):
        summarise(study, cells, records)


def test_selection_reads_the_dev_figures_only():
    """Dev favours point 0, test favours point 1: the choice is point 0, and the record says dev."""
    study = Study(path=Path("s.yaml"), name="s", recipe=TINY, seeds=[0, 1], arms={"a": []}, rotations={"all": []},
                  metrics={"test.per_mean": "lower"},
                  select={"a": Selection(grid={"train.lr": [0.1, 0.2]}, criterion="per_mean")})
    done = []
    for point, dev, test in (("0-lr", 0.3, 0.9), ("1-lr", 0.5, 0.1)):
        for seed in (0, 1):
            cell = Cell("a", "all", seed, str(TINY), [], ["dev", "test"], {"train.lr": 0.1 if point == "0-lr" else 0.2}, point)
            done.append((cell, {"cell": cell.id, "metrics": {"dev": {"per_mean": dev + seed / 100},
                                                               "test": {"per_mean": test}}}))
    choice = select(study, "a", "all", done)
    assert choice["chosen"] == "0-lr" and choice["setting"] == {"train.lr": 0.1}
    assert choice["split"] == "dev" and choice["scores"] == pytest.approx({"0-lr": 0.305, "1-lr": 0.505})
    higher = Study(**{**study.__dict__, "select": {"a": Selection({"train.lr": [0.1, 0.2]}, "per_mean",
                                                                  direction="higher")}})
    assert select(higher, "a", "all", done)["chosen"] == "1-lr"


# --- bad study files: refused before any run, naming the line -----------------------------------------------------

GOOD = TINY_STUDY


@pytest.mark.parametrize("change, line, words", [
    ("select:\n  a: {grid: {train.lr: [0.1, 0.2]}, criterion: per_mean, split: test}\n", 9, "never on test"),
    ("select:\n  a:\n    grid: {train.lr: [0.1, 0.2]}\n    criterion: per_mean\n    split: target\n", 12,
     "never on test data"),
    ("select:\n  c: {grid: {train.lr: [0.1]}, criterion: per_mean}\n", 9, "unknown arm"),
    ("compare: {baseline: nope}\n", 8, "unknown arm"),
    ("arms_typo: 1\n", 8, "unknown key"),
    ("goals: {test.wer_mean: 0.5}\n", 8, "not one of the study's metrics"),
    ("select:\n  b: {grid: {model.nope: [1]}, criterion: per_mean}\n", 9, "model.nope: unknown key"),
    ("select:\n  b: {grid: {train.lr: [fast]}, criterion: per_mean}\n", 9, "train.lr: expected float"),
])
def test_bad_study_files_are_refused_naming_the_line(tmp_path, change, line, words):
    path = tmp_path / "study.yaml"
    path.write_text(GOOD + change)
    with pytest.raises(RecipeError, match=rf"study.yaml:{line}: .*{words}"):
        load_study(path)


def test_an_unknown_override_key_names_its_arm_line(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text(GOOD.replace("b: [model.dim=32]", "b: [model.dimm=32]"))
    with pytest.raises(RecipeError, match=r"study.yaml:6: arms.b: .*model.dimm: unknown key"):
        load_study(path)
    path.write_text(GOOD.replace("b: [model.dim=32]", "b: [model.dim=wide]"))
    with pytest.raises(RecipeError, match=r"study.yaml:6: .*model.dim: expected int"):
        load_study(path)
    path.write_text(GOOD.replace("b: [model.dim=32]", "b: [train.seed=3]"))
    with pytest.raises(RecipeError, match=r"study.yaml:6: .*set by the study"):
        load_study(path)


def test_an_arm_may_train_its_own_recipe(tmp_path):
    path = tmp_path / "study.yaml"
    other = REPO / "recipes" / "tiny-multitask.yaml"
    path.write_text(GOOD.replace("b: [model.dim=32]", f"b: {{recipe: {other}, set: [model.dim=32]}}"))
    cells = plan(load_study(path))
    assert {c.arm: c.recipe for c in cells} == {"a": str(TINY), "b": str(other)}
    assert [c.overrides[0] for c in cells if c.arm == "b"] == ["model.dim=32", "model.dim=32"]
    path.write_text(GOOD.replace("b: [model.dim=32]", "b: {recipe: nope.yaml}"))
    with pytest.raises(RecipeError, match=r"study.yaml:6: arms.b.recipe: no such recipe file nope.yaml"):
        load_study(path)


def test_one_seed_cannot_back_a_significant_comparison(tmp_path, capsys):
    path = tmp_path / "study.yaml"
    path.write_text(GOOD.replace("seeds: [0, 1]", "seeds: [0]") + "compare: {baseline: a, significant: true}\n")
    assert cli(["study", str(path), "-o", str(tmp_path / "out")]) == 2
    assert "study.yaml:8: compare.significant: a comparison called significant needs at least 2 seeds" in \
        capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # refused before any run
    path.write_text(GOOD.replace("seeds: [0, 1]", "seeds: [0]") + "compare: {baseline: a, significant: false}\n")
    assert len(plan(load_study(path))) == 2  # the same comparison, not called significant, is allowed


def test_parallel_cells_wait_for_the_first_cell_of_each_data_set_up():
    """With --jobs > 1 the first cell per corpus/front end runs alone (shared stored features are made once)."""
    from speechtl.workflows.study_cells import first_of_each_data

    cells = plan(load_study(REPO / "studies" / "tiny.yaml"))
    firsts = first_of_each_data(cells)
    assert len(cells) == 36 and [c.rotation for c in firsts] == ["without-es", "without-de", "without-en"]


def test_the_shipped_study_files_load_and_a_typo_in_their_metrics_is_refused(tmp_path):
    for path in sorted((REPO / "studies").glob("*.yaml")):
        study = load_study(path)
        assert all(sel.split != "test" for sel in study.select.values()), path
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        typo = f"{next(iter(study.metrics))}x"  # every kind of study (train, run, eval, add-language) refuses it
        data["metrics"] = {**data["metrics"], typo: "lower"}
        copy = tmp_path / path.name
        copy.write_text(yaml.safe_dump(data, sort_keys=False))
        with pytest.raises(RecipeError, match=rf"{path.name}:\d+: metrics.{re.escape(typo)}: metric "):
            load_study(copy)


# --- a study that runs ---------------------------------------------------------------------------------------------

def _corpus_overrides(tiny_corpus) -> list[str]:
    """Point the tiny recipe at the session's tiny corpus (same settings, so nothing is synthesised again)."""
    return [f"data.root={tiny_corpus.root}", f"data.synth={json.dumps(to_dict(tiny_corpus.synth))}"]


class Killed(BaseException):
    """A kill (not an error a cell records: nothing catches it)."""


FAST = f"""name: fast
recipe: {TINY}
set: [train.max_steps=4, train.checkpoint_every=4, train.num_threads=1, model.dim=32, model.layers=2]
seeds: [0, 1]
arms:
  tdnn: []
  tuned: []
  broken: [transfer.source=/nonexistent/model]
select:
  tuned: {{grid: {{train.lr: [0.0001, 0.003]}}, criterion: per_mean}}
metrics: {{test.per_mean: lower}}
goals: {{test.per_mean: 0.5}}
compare: {{baseline: tdnn, significant: true}}
"""


def test_a_study_runs_selects_on_dev_counts_failures_and_resumes(tiny_corpus, tmp_path, monkeypatch):
    path, out = tmp_path / "fast.yaml", tmp_path / "out"
    path.write_text(FAST)
    calls = []
    real = study_cells.run_cell

    def killed_at_the_fourth_cell(*args):
        calls.append(args[-1].id)
        if len(calls) == 4 and kill:
            raise Killed  # as if the study were killed while this cell ran
        return real(*args)

    kill = True

    monkeypatch.setattr(study_cells, "run_cell", killed_at_the_fourth_cell)
    with pytest.raises(Killed):
        run_study(path, out, overrides=_corpus_overrides(tiny_corpus))
    first = sorted((out / "cells").rglob("*.json"))
    assert len(first) == 3
    stamps = {p: p.stat().st_mtime_ns for p in first}
    calls.clear()
    kill = False
    summary = run_study(path, out, overrides=_corpus_overrides(tiny_corpus))
    assert len(calls) == 8 - 3 and not set(calls) & {str(p.relative_to(out / "cells"))[:-5] for p in first}
    assert all(p.stat().st_mtime_ns == stamps[p] for p in first)  # finished cells were not run again

    cells = summary["cells"]
    assert (cells["planned"], cells["ok"], cells["failed"], cells["not_run"]) == (8, 6, 2, 0)
    assert {f["cell"] for f in cells["failures"]} == {"broken/all/seed0", "broken/all/seed1"}
    assert all(Path(f["log"]).is_file() and "nonexistent" in Path(f["log"]).read_text() for f in cells["failures"])
    assert summary["results"]["tdnn"]["all"]["test.per_mean"]["n"] == 2
    assert summary["results"]["broken"]["all"]["test.per_mean"]["n"] == 0

    # the choice is the dev argmin, recomputed from the raw records; the test figures were never the criterion
    choice = summary["selection"]["tuned"]["all"]
    assert (choice["split"], choice["criterion"], choice["direction"]) == ("dev", "per_mean", "lower")
    records = [json.loads(p.read_text()) for p in (out / "cells" / "tuned").rglob("*.json")]
    dev = {}
    for r in records:
        dev.setdefault(r["point_name"], []).append(r["metrics"]["dev"]["per_mean"])
    assert choice["scores"] == pytest.approx({k: sum(v) / len(v) for k, v in dev.items()})
    assert choice["chosen"] == min(choice["scores"], key=choice["scores"].get)
    chosen_test = [r["metrics"]["test"]["per_mean"] for r in records if r["point_name"] == choice["chosen"]]
    assert summary["results"]["tuned"]["all"]["test.per_mean"]["mean"] == pytest.approx(sum(chosen_test) / 2)
    record = records[0]
    assert record["command"].startswith("speechtl train") and "train.seed=" in record["command"]
    assert record["wall_seconds"] > 0 and record["seed"] in (0, 1) and record["rotation"] == "all"

    # paired differences over matched seeds, verdict by the tie rule; the report shows them and the failures
    diff = summary["paired"]["tuned - tdnn"]["test.per_mean"]
    assert diff["n"] == 2 and diff["verdict"] == verdict(diff, 0.0, higher_is_better=False)
    report = render_markdown(summary)
    assert "| tuned |" in report and "chosen on dev by per_mean" in report and "2 failed" in report
    assert report == (out / "report.md").read_text()


def test_the_report_breaks_the_headline_metric_down_by_rotation():
    from speechtl.workflows.study_summary import summarise

    study = Study(path=Path("s.yaml"), name="s", recipe=TINY, seeds=[0, 1], arms={"a": [], "b": []},
                  rotations={"r1": [], "r2": []}, metrics={"test.per": "lower", "dev.per": "lower"})
    cells = [Cell(arm, rot, seed, str(TINY), [], ["test", "dev"]) for arm in study.arms for rot in study.rotations
             for seed in study.seeds]
    per = {("a", "r1"): 0.1, ("a", "r2"): 0.3, ("b", "r1"): 0.2, ("b", "r2"): 0.4}
    records = {c.id: {"cell": c.id, "status": "ok", "metrics": {s: {"per": per[c.arm, c.rotation] + c.seed / 100}
                                                                for s in ("test", "dev")}}
               for c in cells}
    records["b/r2/seed1"] = None  # not run
    report = render_markdown(summarise(study, cells, records))
    assert "| test.per by rotation | r1 | r2 |" in report  # the first metric only
    assert "| a | 0.105 ± 0.007 (n=2) | 0.305 ± 0.007 (n=2) |" in report and "| b | 0.205 ± 0.007 (n=2) | 0.400 (n=1) |" in report
    one = Study(path=Path("s.yaml"), name="s", recipe=TINY, seeds=[0, 1], arms={"a": []}, rotations={"all": []},
                metrics={"test.per": "lower"})
    cells = [Cell("a", "all", seed, str(TINY), [], ["test"]) for seed in one.seeds]
    assert "by rotation" not in render_markdown(summarise(one, cells, {c.id: {"cell": c.id, "status": "ok", "metrics": {
        "test": {"per": 0.1}}} for c in cells}))


def test_report_only_runs_nothing(tmp_path, capsys):
    path = tmp_path / "study.yaml"
    path.write_text(GOOD)
    assert cli(["study", str(path), "-o", str(tmp_path / "out"), "--report"]) == 0
    printed = capsys.readouterr().out
    assert "Cells: 4 planned, 0 finished, 0 failed, 4 not run." in printed and "| a | – |" in printed
    assert not (tmp_path / "out" / "cells").exists()


def test_arms_rotations_and_seeds_run_only_the_named_cells_and_refuse_unknown_names(tmp_path, monkeypatch):
    path = tmp_path / "study.yaml"
    path.write_text(GOOD)
    ran = []

    def fake_run_cells(study, out, cells, jobs=1):
        ran.extend(cell.id for cell in cells)
        return iter(())

    monkeypatch.setattr("speechtl.workflows.study.run_cells", fake_run_cells)
    summary = run_study(path, tmp_path / "out", arms=["b"])
    assert ran == ["b/all/seed0", "b/all/seed1"] and summary["ran_now"] == 2
    assert summary["cells"]["planned"] == 4  # the summary still covers arm a (not run)
    with pytest.raises(RecipeError, match="no arm c; the arms are a, b"):
        run_study(path, tmp_path / "out", arms=["c"])
    ran.clear()
    path.write_text(GOOD + "rotations:\n  r1: []\n  r2: []\n")
    run_study(path, tmp_path / "out", arms=["a"], rotations=["r2"])
    assert ran == ["a/r2/seed0", "a/r2/seed1"]
    with pytest.raises(RecipeError, match="no rotation r3; the rotations are r1, r2"):
        run_study(path, tmp_path / "out", rotations=["r3"])
    ran.clear()
    run_study(path, tmp_path / "out", seeds=[1])  # every arm and rotation at seed 1 only
    assert ran == ["a/r1/seed1", "a/r2/seed1", "b/r1/seed1", "b/r2/seed1"]
    with pytest.raises(RecipeError, match="no seed 7; the seeds are 0, 1"):
        run_study(path, tmp_path / "out", seeds=[7])


@pytest.mark.slow
def test_the_tiny_study_three_arms_three_seeds_three_rotations(tiny_corpus, tmp_path):
    """studies/tiny.yaml as shipped (fewer steps): 36 cells, each arm n = 9, the tdnn arm's rate chosen per rotation."""
    overrides = [*_corpus_overrides(tiny_corpus), "train.max_steps=4", "train.checkpoint_every=4"]
    summary = run_study(REPO / "studies" / "tiny.yaml", tmp_path / "out", jobs=2, overrides=overrides)
    assert summary["cells"] == {"planned": 36, "ok": 36, "failed": 0, "not_run": 0, "failures": []}
    for arm in ("tdnn", "tdnn-small", "blstm"):
        assert summary["results"][arm]["all"]["test.per_mean"]["n"] == 9
        assert all(summary["results"][arm][rot]["test.wer_mean"]["n"] == 3 for rot in summary["rotations"])
    assert set(summary["selection"]["tdnn"]) == {"without-es", "without-de", "without-en"}
    assert all(c["split"] == "dev" for c in summary["selection"]["tdnn"].values())
    assert set(summary["paired"]) == {"tdnn-small - tdnn", "blstm - tdnn"}
    assert run_study(REPO / "studies" / "tiny.yaml", tmp_path / "out", overrides=overrides)["ran_now"] == 0


@pytest.mark.slow
def test_a_study_killed_with_sigkill_resumes(tiny_corpus, tmp_path):
    """``kill -9`` while a cell trains: the rerun keeps the finished cells and redoes the killed one."""
    import os
    import signal
    import subprocess
    import sys
    import time

    path, out = tmp_path / "fast.yaml", tmp_path / "out"
    path.write_text(FAST.replace("  broken: [transfer.source=/nonexistent/model]\n", ""))
    args = [sys.executable, "-m", "speechtl", "study", str(path), "-o", str(out),
            *(x for o in _corpus_overrides(tiny_corpus) for x in ("--set", o))]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while len(list((out / "cells").rglob("*.json"))) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = {p: p.stat().st_mtime_ns for p in (out / "cells").rglob("*.json")}
    assert 2 <= len(done) < 6
    summary = run_study(path, out, overrides=_corpus_overrides(tiny_corpus))
    assert summary["ran_now"] == 6 - len(done) and summary["cells"]["ok"] == 6
    assert all(p.stat().st_mtime_ns == stamp for p, stamp in done.items())
