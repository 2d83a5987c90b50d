"""A source model without level normalisation may be fine-tuned with it; other feature changes stay refused."""

import pytest

from speechtl.data.config import FeatureConfig
from speechtl.errors import RecipeError
from speechtl.tasks.speech.model import check_source_features


def test_a_level_target_may_differ_from_the_source_but_not_the_filterbanks():
    check_source_features(FeatureConfig(), FeatureConfig(level_dbfs=-25.0), "builtin:x")
    check_source_features(FeatureConfig(level_dbfs=-20.0), FeatureConfig(), "builtin:x")
    with pytest.raises(RecipeError, match="features.num_mel_bins: 80 there, 40 here"):
        check_source_features(FeatureConfig(), FeatureConfig(num_mel_bins=40, level_dbfs=-25.0), "builtin:x")


def test_a_model_scored_on_another_recipe_must_read_its_features(tdnn_en_model, tmp_path, capsys):
    # `speechtl eval --recipe` reads the recipe's data through the recipe's features: other filterbanks than the
    # model was trained on are refused before any scoring, naming each; a level step alone may differ
    from speechtl.cli import main

    recipe = str(tdnn_en_model.parent / "recipe.yaml")
    out = str(tmp_path / "eval.json")
    assert main(["eval", "--model", str(tdnn_en_model), "--recipe", recipe, "--set", "features.num_mel_bins=40",
                 "-o", out]) == 2
    err = capsys.readouterr().err
    assert "model " in err and "features.num_mel_bins: 80 there, 40 here" in err and not (tmp_path / "eval.json").exists()
    assert main(["eval", "--model", str(tdnn_en_model), "--recipe", recipe, "--set", "features.level_dbfs=-25",
                 "--split", "dev", "-o", out]) == 0
