"""``steps: add-language`` in a study: cells that add a language to a (prepared) base model, checked before any run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from speechtl.config import to_dict
from speechtl.errors import RecipeError
from speechtl.models.io import load_model
from speechtl.tasks.speech.recipe import Recipe
from speechtl.workflows.evaluate import evaluate
from speechtl.workflows.study import run_study
from speechtl.workflows.study_file import load_study, prepared_model

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "recipes" / "tiny.yaml"
SMALL = "train.max_steps=4, train.checkpoint_every=4, train.num_threads=1, model.dim=32, model.layers=2"

STUDY = f"""name: addlang
steps: add-language
recipe: {TINY}
prepare:
  base: {{recipe: {TINY}, set: [{SMALL}, "data.languages=[en, de]"]}}
set: ["add-language.model={{prepare.base}}", add-language.zero-shot=true]
seeds: [0]
rotations:
  es: [add-language.lang=es]
arms:
  blend: []
  any-head: [add-language.any-head=true]
metrics: {{test.per: lower, dev.per: lower}}
compare: {{baseline: blend}}
"""


def _corpus(tiny_corpus) -> list[str]:
    """The command line's overrides: the session's tiny corpus (prepared runs and cells alike)."""
    return [f"data.root={tiny_corpus.root}", f"data.synth={json.dumps(to_dict(tiny_corpus.synth))}"]


def _per(model: Path, tiny_corpus, language: str, split: str) -> float:
    """``language``'s PER of ``model`` on a split of the tiny corpus, scored here without the study's code."""
    recipe = Recipe(name="check", data=to_dict(tiny_corpus) | {"languages": [language]})
    return evaluate(model, split, recipe=Recipe.from_dict(recipe.to_dict()), progress=False,
                    words=False)["per"][language]["rate"]


def test_zero_shot_cells_compose_a_head_from_the_prepared_model_and_score_the_new_language(tiny_corpus, tmp_path):
    path, out = tmp_path / "addlang.yaml", tmp_path / "out"
    path.write_text(STUDY)
    summary = run_study(path, out, overrides=_corpus(tiny_corpus))
    assert summary["cells"]["ok"] == 2 and summary["cells"]["failed"] == 0
    base = prepared_model(out, "base", 0)
    for arm, choice in (("blend", "blend"), ("any-head", "any")):
        record = json.loads((out / "cells" / arm / "es" / "seed0.json").read_text())
        model = out / "runs" / arm / "es" / "seed0" / "model"
        assert record["add_language"]["choice"] == choice and record["add_language"]["language"] == "es"
        # the new language on its own test and dev splits, as scored independently of the study
        assert record["metrics"]["test"]["per"] == pytest.approx(_per(model, tiny_corpus, "es", "test"))
        assert record["metrics"]["dev"]["per"] == pytest.approx(_per(model, tiny_corpus, "es", "dev"))
        assert record["metrics"]["test"]["per"] == json.loads(model.with_name("zero_shot.json").read_text())["new"]["es"]
        # a head added beside the base's, which are untouched (nothing trained)
        added, before = load_model(model), load_model(base)
        assert sorted(added.languages) == ["de", "en", "es"] and sorted(before.languages) == ["de", "en"]
        for name, tensor in before.state_dict().items():
            assert (added.state_dict()[name] == tensor).all(), name
        assert record["command"].startswith(f"speechtl add-language --model {base} --zero-shot --lang es")
        assert ("--any-head" in record["command"]) == (arm == "any-head")
    assert summary["results"]["any-head"]["es"]["test.per"]["n"] == 1
    assert run_study(path, out, overrides=_corpus(tiny_corpus))["ran_now"] == 0  # finished cells are kept


TRAINED = STUDY.replace('add-language.zero-shot=true', 'add-language.strategy=finetune, train.max_steps=2, '
                        'train.warmup_steps=1, add-language.replay-minutes=0').replace(
    "  any-head: [add-language.any-head=true]\n", "").replace(
    "metrics: {test.per: lower, dev.per: lower}",
    "select: {blend: {grid: {add-language.minutes: [0.1, 0]}, split: dev, criterion: per,\n"
    "                 constraint: {metric: mean_change, at_most: 0.0}}}\n"
    "metrics: {test.per: lower, test.mean_change: lower}").replace("compare: {baseline: blend}\n", "")


def test_trained_cells_report_forgetting_on_test_and_dev_and_choose_under_a_dev_constraint(tiny_corpus, tmp_path):
    path, out = tmp_path / "trained.yaml", tmp_path / "out"
    path.write_text(TRAINED)
    summary = run_study(path, out, overrides=_corpus(tiny_corpus))
    assert summary["cells"]["ok"] == 2
    choice = summary["selection"]["blend"]["es"]
    assert choice["split"] == "dev" and choice["criterion"] == "per" and len(choice["scores"]) == 2
    for cell in sorted((out / "cells" / "blend" / "es" / "seed0").glob("*.json")):
        record = json.loads(cell.read_text())
        report = json.loads((Path(record["exp_dir"]) / "forgetting.json").read_text())
        test = record["metrics"]["test"]
        assert test["per"] == report["new"]["es"] and record["add_language"]["strategy"] == "finetune"
        assert test["mean_change"] == pytest.approx((test["change_en"] + test["change_de"]) / 2)
        assert test["change_en"] == pytest.approx(report["old"]["en"]["after"] - report["old"]["en"]["before"])
        assert record["metrics"]["dev"]["per"] == choice["scores"][record["point_name"]]
        assert "--strategy finetune" in record["command"] and "--set train.max_steps=2" in record["command"]
        assert record["command"].endswith("--splits dev -o " + record["exp_dir"] + " --overwrite")
        # the old languages' dev forgetting, scored here without the study's code: base and new model on dev
        model, base = Path(record["exp_dir"]) / "model", prepared_model(out, "base", 0)
        dev = record["metrics"]["dev"]
        for lang in ("en", "de"):
            change = _per(model, tiny_corpus, lang, "dev") - _per(base, tiny_corpus, lang, "dev")
            assert dev[f"change_{lang}"] == pytest.approx(change)
        assert dev["mean_change"] == pytest.approx((dev["change_en"] + dev["change_de"]) / 2)
        assert dev["per"] == pytest.approx(_per(model, tiny_corpus, "es", "dev"))
        assert report["splits"]["dev"]["mean_change"] == dev["mean_change"]  # in forgetting.json too
        assert dev["mean_change"] == choice["constraint"]["values"][record["point_name"]]
    # the rule on the recorded dev figures: the best dev PER among the points that forgot nothing, else the least
    met = [p for p, v in choice["constraint"]["values"].items() if v <= 0.0]
    assert choice["constraint"]["met"] == met
    pool = {p: choice["scores"][p] for p in met} or {p: -v for p, v in choice["constraint"]["values"].items()}
    assert choice["chosen"] == (min(pool, key=pool.get) if met else max(pool, key=pool.get))


@pytest.mark.parametrize("change, line, words", [
    (("any-head=true", "any-hed=true"), 12, r"arms.any-head\[0\]: add-language.any-hed: unknown option; "
                                            r"add-language accepts model, lang, zero-shot"),
    (("zero-shot=true", "zero-shot=maybe"), 6, r"set\[1\]: add-language.zero-shot: expected bool, got 'maybe'"),
    (("lang=es", "lang=xx"), 9, r"rotations.es\[0\]: add-language.lang: unknown language 'xx'"),
    (("{prepare.base}", "/nonexistent/model"), 6, r"set\[0\]: add-language.model: /nonexistent/model: model file "
                                                   "not found"),
    (("[add-language.any-head=true]", "[add-language.strategy=finetune]"), 12,
     "arms.any-head: add-language.strategy: only for a trained cell; this one is zero-shot"),
    (("[add-language.any-head=true]", "[add-language.minutes=-1]"), 12, r"arms.any-head\[0\]: add-language.minutes: "
                                                                         "-1 is below 0"),
    (("[add-language.lang=es]", "[]"), 11, "arms.blend: add-language.lang: missing"),
    (("dev.per: lower", "test.mean_change: lower"), 13, "metrics.test.mean_change: metric test.mean_change: a "
                                                         "zero-shot add-language cell reports SPLIT.per"),
    (("dev.per: lower", "test.word_accuracy: higher"), 13, r"metrics.test.word_accuracy: metric test.word_accuracy: "
                                                            r"a zero-shot "
                                                            r"add-language cell reports SPLIT.per, SPLIT.word_accuracy "
                                                            r"\(with add-language.isolated\)"),
    (("compare: {baseline: blend}", "select: {blend: {grid: {add-language.any-head: [true, false]}, criterion: per, "
      "constraint: {metric: mean_change, at_most: 0.01}}}"), 14,
     r"select.blend.constraint: metric dev.mean_change: a zero-shot add-language cell reports SPLIT.per"),
    (("compare: {baseline: blend}", "select: {blend: {grid: {add-language.any-head: [true, false]}, criterion: per, "
      "constraint: {metric: word_accuracy, at_least: 0.5}}}"), 14,
     r"select.blend.constraint: metric dev.word_accuracy: .* \(with add-language.isolated\)"),
    (("compare: {baseline: blend}", "select: {blend: {grid: {add-language.any-head: [true, false]}, "
      "criterion: mean_change}}"), 14, r"select.blend.criterion: metric dev.mean_change: a zero-shot"),
    (("steps: add-language", "steps: train"), 6, "set: add-language.model: an add-language option; needs steps: "
                                                 "add-language"),
    (("steps: add-language", "steps: add_language"), 2, "steps: expected train, run .* or add-language"),
])
def test_bad_add_language_cells_are_refused_naming_the_line(tmp_path, change, line, words):
    path = tmp_path / "study.yaml"
    path.write_text(STUDY.replace(*change, 1))
    with pytest.raises(RecipeError, match=rf"study.yaml:{line}: {words}"):
        load_study(path)


def test_the_closest_language_study_file_is_valid():
    study = load_study(REPO / "studies" / "closest-language.yaml")
    assert study.steps == "add-language" and len(study.seeds) == 3 and set(study.prepare) == {"source"}
    assert set(study.rotations) == {"it", "pt", "ja", "vi", "tr", "ru"}


def test_command_line_options_reach_the_cells_not_the_prepared_runs(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text(STUDY)
    study = load_study(path, ["add-language.replace-head=true", "train.lr=0.01"])
    assert study.extra == ["train.lr=0.01"]  # the prepared recipe would refuse an add-language option
    assert study.set[-2:] == ["add-language.replace-head=true", "train.lr=0.01"]
    with pytest.raises(RecipeError, match="add-language.replace-hed: unknown option"):
        load_study(path, ["add-language.replace-hed=true"])


def test_a_failed_prepared_base_fails_the_cells_that_name_it(tiny_corpus, tmp_path):
    path, out = tmp_path / "study.yaml", tmp_path / "out"
    path.write_text(STUDY.replace('"data.languages=[en, de]"', '"data.languages=[en, de]", '
                                  'transfer.source=/nonexistent/model'))
    summary = run_study(path, out, arms=["blend"], overrides=_corpus(tiny_corpus))  # recorded, not raised
    assert summary["prepare"]["base"]["failed"] == 1 and summary["cells"]["failed"] == 1
    failure = summary["cells"]["failures"][0]
    assert failure["cell"] == "blend/es/seed0" and "prepared model base (seed 0) is missing" in failure["error"]


def test_a_trained_cell_may_constrain_dev_forgetting_and_isolated_word_accuracy(tmp_path):
    path = tmp_path / "study.yaml"
    bounded = TRAINED.replace("criterion: per,", "criterion: word_accuracy, direction: higher,")
    path.write_text(bounded)
    with pytest.raises(RecipeError, match=r"study.yaml:\d+: select.blend.criterion: metric dev.word_accuracy: an "
                                          r"add-language cell reports .*\(with add-language.isolated\)"):
        load_study(path)
    path.write_text(bounded.replace("add-language.strategy=finetune", "add-language.strategy=finetune, "
                                    "add-language.isolated=true"))
    sel = load_study(path).select["blend"]
    assert sel.metrics() == ["dev.word_accuracy", "dev.mean_change"] and sel.constraint.at_most
    path.write_text(bounded.replace("add-language.strategy=finetune", "add-language.strategy=scratch, "
                                    "add-language.isolated=true"))
    with pytest.raises(RecipeError, match=r"study.yaml:\d+: select.blend.constraint: metric dev.mean_change: a "
                                          "scratch model has none of the old languages"):
        load_study(path)


def test_the_add_language_study_files_choose_on_dev_under_the_benchmarks_forgetting_bound():
    fsdd = load_study(REPO / "studies" / "add-language-fsdd.yaml")
    sel = fsdd.select["conservative"]
    assert (sel.split, sel.criterion, sel.direction) == ("dev", "word_accuracy", "higher")
    assert (sel.constraint.metric, sel.constraint.bound, sel.constraint.at_most) == ("mean_change", 0.01, True)
    assert [p["train.max_steps"] for p in sel.points()] == [150, 150, 300] and sel.points()[0]["data.augment"] == []
    roles = {"train": [], "dev": [], "test": []}  # every speaker tests once, trains once and is dev once
    for overrides in fsdd.rotations.values():
        parts = yaml.safe_load(next(o for o in overrides if o.startswith("data.parts=")).split("=", 1)[1])
        for part in parts:
            roles[part["split"]] += part["speakers"]
    assert sorted(roles["test"]) == ["george", "jackson", "lucas", "nicolas", "theo", "yweweler"]
    assert sorted(roles["train"]) == sorted(roles["dev"]) == ["george", "lucas", "theo"]
    swedish = load_study(REPO / "studies" / "add-language.yaml")
    assert set(swedish.arms) == {"scratch", "fine-tune", "layer-transfer", "conservative"}
    weights = [(p["transfer.kl.weight"], p["transfer.l2sp.weight"]) for p in swedish.select["conservative"].points()]
    assert weights == [(10, 0.1), (30, 0.3), (100, 1.0)] and swedish.select["conservative"].constraint.bound == 0.01
