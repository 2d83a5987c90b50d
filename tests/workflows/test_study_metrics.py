"""A study refuses, before any run, a metric or dev-grid figure its cells can never report, naming the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from speechtl.errors import RecipeError
from speechtl.tasks import load_recipe, task_of
from speechtl.workflows.study_file import load_study
from tests.conftest import TINY_STUDY

REPO = Path(__file__).resolve().parents[2]
RECIPES = REPO / "recipes"


def _study(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "study.yaml"
    path.write_text(text)
    return path


def test_a_typo_in_a_metric_is_refused_naming_its_line(tmp_path):
    path = _study(tmp_path, TINY_STUDY.replace("test.per_mean", "test.wer_english"))
    with pytest.raises(RecipeError, match=r"study.yaml:7: metrics.test.wer_english: metric test.wer_english: a train "
                                          r"cell of arm a reports per_de, per_en, per_es, per_mean, wer_de, .* on dev, "
                                          r"test, train \(did you mean test.wer_en\?\)"):
        load_study(path)


@pytest.mark.parametrize("grid, line, key", [
    ("{grid: {train.lr: [0.1, 0.2]}, criterion: per_english}", 9, "criterion"),
    ("{grid: {train.lr: [0.1, 0.2]}, criterion: per_en, constraint: {metric: wer_engl, at_most: 0.5}}", 9,
     "constraint"),
    ("\n    grid: {train.lr: [0.1, 0.2]}\n    split: train\n    criterion: acc_digits", 12, "criterion"),
])
def test_a_dev_grid_reading_a_missing_metric_is_refused_naming_its_line(tmp_path, grid, line, key):
    path = _study(tmp_path, TINY_STUDY + f"select:\n  b: {grid}\n")
    with pytest.raises(RecipeError, match=rf"study.yaml:{line}: select.b.{key}: metric (dev|train)\.\w+: a train cell "
                                          "of arm b reports"):
        load_study(path)
    path.write_text(TINY_STUDY + "select:\n  b: {grid: {train.lr: [0.1, 0.2]}, criterion: per_en, "
                                 "constraint: {metric: wer_en, at_most: 0.5}}\n")
    assert load_study(path).select["b"].metrics() == ["dev.per_en", "dev.wer_en"]


def test_a_split_the_corpus_lacks_is_refused(tmp_path):
    """An FSDD recipe whose parts feed train and test only has no dev split to read."""
    parts = ('"data.parts=[{path: ../shared/data/fsdd, split: train, speakers: [lucas]}, '
             '{path: ../shared/data/fsdd, split: test, speakers: [george]}]"')
    text = (f"name: s\nrecipe: {RECIPES / 'fsdd-supervised.yaml'}\nset: [{parts}]\narms:\n  a: []\n  b: []\n"
            "metrics: {test.wer_en: lower, dev.wer_en: lower}\n")
    path = _study(tmp_path, text)
    with pytest.raises(RecipeError, match=r"study.yaml:7: metrics.dev.wer_en: .* reports per_en, per_mean, wer_en, "
                                          r"wer_mean on test, train"):
        load_study(path)
    path.write_text(text.replace(", dev.wer_en: lower", ""))
    assert list(load_study(path).metrics) == ["test.wer_en"]


def test_a_target_metric_needs_a_target_domain_and_steps_run(tmp_path):
    run = TINY_STUDY.replace("test.per_mean", "target.per_mean").replace("seeds:", "steps: run\nseeds:")
    path = _study(tmp_path, run)  # tiny.yaml has no data.target
    with pytest.raises(RecipeError, match=r"study.yaml:8: metrics.target.per_mean: metric target.per_mean: a run "
                                          r"cell of arm a reports .* on dev, test, train \(did you mean "
                                          r"test.per_mean\?\)"):
        load_study(path)
    path.write_text(run.replace("tiny.yaml", "tiny-dann.yaml"))  # a synthetic target domain: a target report
    assert list(load_study(path).metrics) == ["target.per_mean"]
    path.write_text(run.replace("tiny.yaml", "tiny-dann.yaml").replace("steps: run\n", ""))
    with pytest.raises(RecipeError, match=r"study.yaml:7: .*metric target.per_mean: a train cell of arm a reports"):
        load_study(path)  # `speechtl train` makes no target report: only `speechtl run` does
    path.write_text(run.replace("tiny.yaml", "tiny-dann.yaml").replace("a: [model.dim=64]",
                                                                          "a: [\"data.target.corpus=''\"]"))
    with pytest.raises(RecipeError, match=r"study.yaml:8: .*metric target.per_mean: a run cell of arm a reports"):
        load_study(path)  # an arm without the target domain


IMAGE = f"""name: img
recipe: {RECIPES / 'image-zeroshot.yaml'}
seeds: [0, 1]
arms:
  dap: ["transfer.methods=[dap]"]
  embedding: ["transfer.methods=[embedding]"]
metrics: {{test.zeroshot: higher, test.acc_digits: higher, dev.acc_digits: higher}}
"""


def test_an_image_studys_metrics_are_the_image_tasks(tmp_path):
    path = _study(tmp_path, IMAGE)
    assert list(load_study(path).metrics) == ["test.zeroshot", "test.acc_digits", "dev.acc_digits"]
    path.write_text(IMAGE.replace("test.zeroshot", "test.per_mean"))
    with pytest.raises(RecipeError, match=r"study.yaml:7: metrics.test.per_mean: metric test.per_mean: a train cell "
                                          r"of arm dap reports acc_digits, zeroshot, zeroshot_dap on dev, test"):
        load_study(path)
    path.write_text(IMAGE.replace("[embedding]", "[embedding, dap]"))  # two methods: zeroshot_METHOD, no zeroshot
    with pytest.raises(RecipeError, match=r"metric test.zeroshot: a train cell of arm embedding reports acc_digits, "
                                          r"zeroshot_dap, zeroshot_embedding on"):
        load_study(path)
    path.write_text(IMAGE.replace("seeds: [0, 1]", "seeds: [0, 1]\nset: [data.dev_fraction=0]"))
    with pytest.raises(RecipeError, match=r"metrics.dev.acc_digits: .* on test \(did you mean test.acc_digits\?\)"):
        load_study(path)


def test_a_prepared_run_is_scored_only_on_splits_its_recipe_has(tmp_path):
    text = TINY_STUDY.replace("seeds:", f"prepare:\n  src: {{recipe: {RECIPES / 'image-source.yaml'}, "
                                        "splits: [train]}\nseeds:")
    path = _study(tmp_path, text)
    with pytest.raises(RecipeError, match=r"study.yaml:4: prepare.src.splits: train: a train run of this recipe is "
                                          "scored on dev, test"):
        load_study(path)
    path.write_text(text.replace("splits: [train]", "splits: [test]"))
    assert load_study(path).prepare["src"].splits == ["test"]


@pytest.mark.parametrize("recipe, final, splits, names", [
    ("tiny.yaml", False, {"train", "dev", "test"}, {"per_en", "per_de", "per_es", "per_mean", "wer_en", "wer_mean"}),
    ("tiny-dann.yaml", True, {"train", "dev", "test", "target"}, {"per_en", "wer_mean"}),
    ("tiny-dann.yaml", False, {"train", "dev", "test"}, {"per_en"}),
    ("image-dann.yaml", True, {"dev", "test"}, {"acc_digits", "acc_digits-m"}),
])
def test_metric_names_come_from_the_recipe_alone(recipe, final, splits, names):
    loaded = load_recipe(RECIPES / recipe)
    found = task_of(loaded).metric_names(loaded, final=final)
    assert set(found) == splits and all(names <= found[split] for split in splits)


def test_image_metric_names_are_the_domains_its_data_scores():
    from speechtl.tasks.image.data import build_image_data

    for overrides in (["data.eval_domains=[digits, digits-m]"], ["data.target=digits"], ["data.target=''"]):
        recipe = load_recipe(RECIPES / "image-dann.yaml", overrides)
        names = task_of(recipe).metric_names(recipe)
        for split in ("dev", "test"):
            scored = {f"acc_{domain}" for domain in build_image_data(recipe, split).test}
            assert {n for n in names[split] if n.startswith("acc_")} == scored, overrides


def test_a_metric_one_rotation_cannot_report_names_that_rotation(tmp_path):
    rotations = 'rotations:\n  all-three: []\n  without-es: ["data.languages=[en, de]"]\n'
    path = _study(tmp_path, TINY_STUDY.replace("test.per_mean", "test.per_es") + rotations)
    with pytest.raises(RecipeError, match=r"study.yaml:7: metrics.test.per_es: metric test.per_es: a train cell of "
                                          r"arm a, rotation without-es reports per_de, per_en, per_mean, wer_de, "
                                          r"wer_en, wer_mean on dev, test, train"):
        load_study(path)
