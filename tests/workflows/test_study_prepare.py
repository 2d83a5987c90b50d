"""``prepare:`` in a study: a recipe trained once per seed (or per rotation and seed) before the cells that name its
model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from speechtl.config import to_dict
from speechtl.errors import RecipeError
from speechtl.workflows.study import run_study
from speechtl.workflows.study_cells import plan
from speechtl.workflows.study_file import load_study, prepared_model, resolve

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "recipes" / "tiny.yaml"
SMALL = "[train.max_steps=4, train.checkpoint_every=4, train.num_threads=1, model.dim=32, model.layers=2]"

STUDY = f"""name: prep
recipe: {TINY}
prepare:
  src: {{recipe: {TINY}, set: {SMALL}, splits: [dev]}}
set: {SMALL}
seeds: [0, 1]
arms:
  scratch: []
  from-src: ["transfer.source={{prepare.src}}"]
metrics: {{test.per_mean: lower}}
"""


def _corpus(tiny_corpus) -> list[str]:
    """The command line's overrides: the session's tiny corpus (they reach the prepared runs too)."""
    return [f"data.root={tiny_corpus.root}", f"data.synth={json.dumps(to_dict(tiny_corpus.synth))}"]


def test_prepared_runs_train_once_per_seed_feed_the_cells_and_resume(tiny_corpus, tmp_path):
    path, out = tmp_path / "prep.yaml", tmp_path / "out"
    path.write_text(STUDY)
    summary = run_study(path, out, overrides=_corpus(tiny_corpus))
    assert summary["cells"]["ok"] == 4 and summary["ran_now"] == 4
    for seed in (0, 1):
        model = prepared_model(out, "src", seed)
        assert model.with_name("model.json").is_file()
        # the cell trained from that seed's prepared model: its saved recipe and its command name it
        run = out / "runs" / "from-src" / "all" / f"seed{seed}"
        assert f"source: {model}" in (run / "recipe.yaml").read_text()
        record = json.loads((out / "cells" / "from-src" / "all" / f"seed{seed}.json").read_text())
        assert f"transfer.source={model}" in record["command"]
        assert record["overrides"][-2] == "transfer.source={prepare.src}"  # the record keeps the study's text
    scratch = (out / "runs" / "scratch" / "all" / "seed0" / "recipe.yaml").read_text()
    assert "runs/_prepare" not in scratch
    prep = summary["prepare"]["src"]
    assert (prep["ok"], prep["failed"], prep["results"]["dev.per_mean"]["n"]) == (2, 0, 2)
    assert "Prepared before the cells:\n- src: " in (out / "report.md").read_text()

    records = sorted((out / "cells" / "_prepare").rglob("*.json"))
    stamps = {p: p.stat().st_mtime_ns for p in records}
    assert run_study(path, out, overrides=_corpus(tiny_corpus))["ran_now"] == 0
    assert {p: p.stat().st_mtime_ns for p in records} == stamps  # nothing trained again, prepared runs included

    # seed 1's prepared model is gone and one of its cells must run again: only that seed is prepared again
    shutil.rmtree(out / "runs" / "_prepare" / "src" / "seed1")
    (out / "cells" / "from-src" / "all" / "seed1.json").unlink()
    assert run_study(path, out, overrides=_corpus(tiny_corpus))["ran_now"] == 1
    seed0, seed1 = records
    assert seed0.stat().st_mtime_ns == stamps[seed0] and seed1.stat().st_mtime_ns > stamps[seed1]
    assert prepared_model(out, "src", 1).with_name("model.json").is_file()


def test_a_failed_prepared_run_fails_the_cells_that_name_it(tiny_corpus, tmp_path):
    path, out = tmp_path / "prep.yaml", tmp_path / "out"
    path.write_text(STUDY.replace("set: " + SMALL + ", splits", "set: [transfer.source=/nonexistent/model], splits")
                    .replace("seeds: [0, 1]", "seeds: [0]").replace("  scratch: []\n", "  other: [model.dim=16]\n"))
    summary = run_study(path, out, arms=["from-src"], overrides=_corpus(tiny_corpus))
    assert summary["prepare"]["src"]["failed"] == 1 and summary["cells"]["failed"] == 1
    failure = summary["cells"]["failures"][0]
    assert failure["cell"] == "from-src/all/seed0"
    assert "prepared model src (seed 0) is missing" in failure["error"] and "_prepare/src/seed0.log" in failure["error"]
    assert "nonexistent" in (out / "logs" / "_prepare" / "src" / "seed0.log").read_text()
    assert not (out / "runs" / "other").exists()  # --arms: the other arm's cells (and nothing for them) ran


@pytest.mark.parametrize("change, line, words", [
    (("{prepare.src}", "{prepare.sorce}"), 9, r"arms.from-src: \{prepare.sorce\}: no such prepared run; the study "
                                              r"prepares src"),
    (("splits: [dev]", "splits: [dev], epochs: 3"), 4, "prepare.src.epochs: unknown key; accepts recipe, set, splits"),
    (("splits: [dev]", "splits: [dev], steps: eval"), 4, "prepare.src.steps: expected train or run"),
    (("splits: [dev]", "splits: dev"), 4, "prepare.src.splits: expected a list of split names"),
    (("splits: [dev]", "splits: [dev], reuse: [a]"), 4, "prepare.src.reuse: expected another study's output folder"),
    (("set: [train.max_steps=4,", "set: [train.max_stepz=4,"), 4, "prepare.src: .*train.max_stepz: unknown key"),
])
def test_bad_prepare_sections_are_refused_naming_the_line(tmp_path, change, line, words):
    path = tmp_path / "study.yaml"
    path.write_text(STUDY.replace(*change, 1))
    with pytest.raises(RecipeError, match=rf"study.yaml:{line}: {words}"):
        load_study(path)


def test_a_prepared_run_with_steps_run_is_a_speechtl_run(tiny_corpus, tmp_path):
    path, out = tmp_path / "prep.yaml", tmp_path / "out"
    path.write_text(STUDY.replace("splits: [dev]}", "splits: [test], steps: run}").replace("seeds: [0, 1]", "seeds: [0]"))
    summary = run_study(path, out, arms=["from-src"], overrides=_corpus(tiny_corpus))
    record = json.loads((out / "cells" / "_prepare" / "src" / "seed0.json").read_text())
    assert record["status"] == "ok" and record["steps"] == "run" and record["command"].startswith("speechtl run ")
    assert summary["prepare"]["src"]["results"]["test.per_mean"]["n"] == 1 and summary["cells"]["ok"] == 1
    assert run_study(path, out, arms=["from-src"], overrides=_corpus(tiny_corpus))["ran_now"] == 0


def test_a_placeholder_without_a_prepare_section_is_refused(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text(STUDY.replace(f"prepare:\n  src: {{recipe: {TINY}, set: {SMALL}, splits: [dev]}}\n", ""))
    with pytest.raises(RecipeError, match=r"study.yaml:7: arms.from-src: .*the study prepares nothing"):
        load_study(path)


# a prepared run per rotation: r1 and r2 train their source for a different number of steps
ROTATED = f"""name: prep-rot
recipe: {TINY}
prepare:
  src:
    recipe: {TINY}
    set: {SMALL}
    splits: [dev]
    rotations:
      r1: [train.max_steps=2]
      r2: [train.max_steps=3]
set: {SMALL}
seeds: [0, 1]
rotations:
  r1: []
  r2: []
arms:
  from-src: ["transfer.source={{prepare.src}}"]
metrics: {{test.per_mean: lower}}
"""


def test_a_prepared_run_per_rotation_feeds_that_rotations_cells_and_resumes(tiny_corpus, tmp_path):
    path, out = tmp_path / "prep.yaml", tmp_path / "out"
    path.write_text(ROTATED)
    summary = run_study(path, out, overrides=_corpus(tiny_corpus))
    assert summary["cells"]["ok"] == 4 and summary["ran_now"] == 4
    assert not (out / "runs" / "_prepare" / "src" / "seed0").exists()  # no run per seed alone
    models = {(rot, seed): prepared_model(out, "src", seed, rot) for rot in ("r1", "r2") for seed in (0, 1)}
    for (rot, seed), model in models.items():
        assert model == out / "runs" / "_prepare" / "src" / rot / f"seed{seed}" / "model"
        steps = {"r1": 2, "r2": 3}[rot]  # the entry's set, then that rotation's overrides
        assert f"max_steps: {steps}\n" in model.with_name("recipe.yaml").read_text()
        record = json.loads((out / "cells" / "from-src" / rot / f"seed{seed}.json").read_text())
        others = [str(m) for key, m in models.items() if key != (rot, seed)]
        assert f"transfer.source={model}" in record["command"] and not any(o in record["command"] for o in others)
        assert f"source: {model}" in (out / "runs" / "from-src" / rot / f"seed{seed}" / "recipe.yaml").read_text()
        prep = json.loads((out / "cells" / "_prepare" / "src" / rot / f"seed{seed}.json").read_text())
        assert prep["status"] == "ok" and f"train.max_steps={steps}" in prep["overrides"]
    weights = [models[rot, 0].with_name("model.safetensors").read_bytes() for rot in ("r1", "r2")]
    assert weights[0] != weights[1]  # two rotations, two different source models
    assert {k: (v["ok"], v.get("rotation")) for k, v in summary["prepare"].items()} == {"src/r1": (2, "r1"),
                                                                                      "src/r2": (2, "r2")}
    assert "- src/r2: " in (out / "report.md").read_text() and "(rotation r2, once per seed, 2 finished)" in (
        out / "report.md").read_text()

    records = sorted((out / "cells" / "_prepare").rglob("*.json"))
    stamps = {p: p.stat().st_mtime_ns for p in records}
    assert len(records) == 4 and run_study(path, out, overrides=_corpus(tiny_corpus))["ran_now"] == 0
    assert {p: p.stat().st_mtime_ns for p in records} == stamps  # nothing trained again


def test_rotations_prepare_only_their_own_and_a_failed_one_fails_only_its_cells(tiny_corpus, tmp_path):
    path, out = tmp_path / "prep.yaml", tmp_path / "out"
    path.write_text(ROTATED.replace("r1: [train.max_steps=2]", "r1: [transfer.source=/nonexistent/model]")
                    .replace("seeds: [0, 1]", "seeds: [0]"))
    summary = run_study(path, out, rotations=["r2"], overrides=_corpus(tiny_corpus))
    assert summary["cells"]["ok"] == 1 and summary["ran_now"] == 1
    assert (out / "cells" / "_prepare" / "src" / "r2" / "seed0.json").is_file()
    assert not (out / "cells" / "_prepare" / "src" / "r1").exists() and not (out / "logs" / "_prepare" / "src" / "r1").exists()
    r2 = out / "cells" / "_prepare" / "src" / "r2" / "seed0.json"
    stamp = r2.stat().st_mtime_ns

    summary = run_study(path, out, rotations=["r1"], overrides=_corpus(tiny_corpus))
    assert summary["prepare"]["src/r1"]["failed"] == 1 and summary["prepare"]["src/r2"]["ok"] == 1
    assert summary["cells"]["failed"] == 1 and summary["cells"]["ok"] == 1
    failure = summary["cells"]["failures"][0]
    assert failure["cell"] == "from-src/r1/seed0"
    assert "prepared model src (rotation r1, seed 0) is missing" in failure["error"]
    assert "_prepare/src/r1/seed0.log" in failure["error"]
    assert "nonexistent" in (out / "logs" / "_prepare" / "src" / "r1" / "seed0.log").read_text()
    assert r2.stat().st_mtime_ns == stamp  # r2's prepared run is not touched


@pytest.mark.parametrize("change, line, words", [
    (("      r2: [train.max_steps=3]\n", ""), 8, "prepare.src.rotations: no overrides for rotation r2"),
    (("      r2: [train.max_steps=3]\n", "      r2: [train.max_steps=3]\n      r3: []\n"), 11,
     "prepare.src.rotations.r3: not a rotation of the study; its rotations are r1, r2"),
    (("r2: [train.max_steps=3]", "r2: [train.max_stepz=3]"), 10, "prepare.src.rotations.r2: .*train.max_stepz: "
                                                                  "unknown key"),
    (("r2: [train.max_steps=3]", "r2: [train.max_steps=three]"), 10, "prepare.src.rotations.r2: .*max_steps"),
    (("r2: [train.max_steps=3]", "r2: [train.seed=3]"), 10, r"prepare.src.rotations.r2\[0\]: train.seed"),
    (("r2: [train.max_steps=3]", "r2: 3"), 10, "prepare.src.rotations.r2: expected a list of key=value"),
])
def test_bad_prepare_rotations_are_refused_naming_the_line(tmp_path, change, line, words):
    path = tmp_path / "study.yaml"
    path.write_text(ROTATED.replace(*change, 1))
    with pytest.raises(RecipeError, match=rf"study.yaml:{line}: {words}"):
        load_study(path)


def test_every_prepared_run_without_rotations_keeps_its_folder(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text(STUDY)
    cell = next(c for c in plan(load_study(path)) if c.arm == "from-src")
    assert resolve(cell.overrides, tmp_path, 1, cell.prepared)[-2] == f"transfer.source={prepared_model(tmp_path, 'src', 1)}"
    assert prepared_model(tmp_path, "src", 1) == tmp_path / "runs" / "_prepare" / "src" / "seed1" / "model"


def test_reuse_links_another_studys_identical_prepared_runs_and_trains_the_rest(tiny_corpus, tmp_path):
    first, out1 = tmp_path / "first.yaml", tmp_path / "out1"
    first.write_text(ROTATED.replace("seeds: [0, 1]", "seeds: [0]"))
    run_study(first, out1, rotations=["r1"], overrides=_corpus(tiny_corpus))  # only r1's source exists there
    second, out2 = tmp_path / "second.yaml", tmp_path / "out2"
    second.write_text(first.read_text().replace("name: prep-rot", "name: other")
                      .replace("    splits: [dev]\n", f"    splits: [dev]\n    reuse: {out1}\n"))
    summary = run_study(second, out2, overrides=_corpus(tiny_corpus))
    assert summary["cells"]["ok"] == 2
    linked, trained = (out2 / "runs" / "_prepare" / "src" / rot / "seed0" for rot in ("r1", "r2"))
    assert linked.is_symlink() and linked.resolve() == (out1 / "runs" / "_prepare" / "src" / "r1" / "seed0").resolve()
    assert not trained.is_symlink() and (trained / "model.json").is_file()  # nothing to reuse for r2: trained here
    assert not (out2 / "logs" / "_prepare" / "src" / "r1").exists()
    record = json.loads((out2 / "cells" / "_prepare" / "src" / "r1" / "seed0.json").read_text())
    assert record["reused_from"] == str(out1 / "cells" / "_prepare" / "src" / "r1" / "seed0.json")
    assert summary["prepare"]["src/r1"]["reused"] == 1 and "reused" not in summary["prepare"]["src/r2"]
    assert f"1 linked from {out1}" in (out2 / "report.md").read_text()
    cell = json.loads((out2 / "cells" / "from-src" / "r1" / "seed0.json").read_text())
    assert f"transfer.source={out2 / 'runs' / '_prepare' / 'src' / 'r1' / 'seed0' / 'model'}" in cell["command"]

    third, out3 = tmp_path / "third.yaml", tmp_path / "out3"  # a different definition is never reused
    third.write_text(second.read_text().replace("r1: [train.max_steps=2]", "r1: [train.max_steps=1]"))
    run_study(third, out3, rotations=["r1"], overrides=_corpus(tiny_corpus))
    assert not (out3 / "runs" / "_prepare" / "src" / "r1" / "seed0").is_symlink()
    assert "reused_from" not in json.loads((out3 / "cells" / "_prepare" / "src" / "r1" / "seed0.json").read_text())
