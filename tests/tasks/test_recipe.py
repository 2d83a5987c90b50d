from pathlib import Path

import pytest

from speechtl.config import from_dict
from speechtl.errors import LanguageError, RecipeError
from speechtl.tasks.speech.recipe import Recipe
from speechtl.tasks import load_recipe
from speechtl.text.languages import get_language

RECIPES = sorted((Path(__file__).resolve().parents[2] / "recipes").glob("*.yaml"))


@pytest.mark.parametrize("path", RECIPES, ids=[p.name for p in RECIPES])
def test_every_recipe_loads(path):
    from speechtl.tasks.image.recipe import ImageRecipe

    from speechtl.config import load_yaml
    from speechtl.tasks import recipe_from_dict

    recipe = load_recipe(path)
    assert isinstance(recipe, ImageRecipe if path.name.startswith("image-") else Recipe)
    loaded = recipe.to_dict()

    def same(written, got, key):  # every value the file writes is the recipe's (nothing dropped or renamed)
        if isinstance(written, dict):
            for k, v in written.items():
                assert k in got, f"{key}.{k}"
                same(v, got[k], f"{key}.{k}")
        elif isinstance(written, list) and written and isinstance(written[0], dict):
            assert len(written) == len(got), key
            for i, (w, g) in enumerate(zip(written, got)):
                same(w, g, f"{key}[{i}]")
        else:
            assert (list(got) if isinstance(got, tuple) else got) == written, key

    same(load_yaml(path), loaded, path.name)
    assert recipe_from_dict(loaded).to_dict() == loaded  # the recipe's dict loads back to the same recipe


def test_unknown_key_is_named_with_accepted_keys(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text("train:\n  max_stepz: 10\n")
    with pytest.raises(RecipeError, match=r"train\.max_stepz: unknown key.*max_steps"):
        load_recipe(p)


def test_wrong_type_names_key_and_expected_type(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text("model:\n  dim: big\n")
    with pytest.raises(RecipeError, match=r"model\.dim: expected int, got str 'big'"):
        load_recipe(p)


def test_override_is_type_checked(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text("name: x\n")
    recipe = load_recipe(p, ["train.max_steps=7", "train.lr=1e-3", "data.languages=[en, de]"])
    assert recipe.train.max_steps == 7 and recipe.train.lr == 1e-3
    assert recipe.data.languages == ["en", "de"]
    with pytest.raises(RecipeError, match=r"train\.max_steps: expected int, got float"):
        load_recipe(p, ["train.max_steps=1.5"])
    with pytest.raises(RecipeError, match=r"features\.cmvn: expected one of 'global' \| 'utterance' \| 'sliding' \| 'speaker' \| 'none'"):
        load_recipe(p, ["features.cmvn=per-voice"])
    with pytest.raises(RecipeError, match=r"train\.nope: unknown key"):
        load_recipe(p, ["train.nope=1"])
    with pytest.raises(RecipeError, match="expected key=value"):
        load_recipe(p, ["train.max_steps"])


def test_int_accepted_for_float_but_bool_is_not_int():
    recipe = from_dict(Recipe, {"train": {"lr": 1}})
    assert recipe.train.lr == 1.0 and isinstance(recipe.train.lr, float)
    with pytest.raises(RecipeError, match="expected int, got bool"):
        from_dict(Recipe, {"train": {"max_steps": True}})


def test_nested_types_checked():
    with pytest.raises(RecipeError, match=r"data\.synth\.words_per_utterance: expected 2 items"):
        from_dict(Recipe, {"data": {"synth": {"words_per_utterance": [1, 2, 3]}}})
    with pytest.raises(RecipeError, match=r"data\.synth\.train_utterances_per_language\.pl: expected int"):
        from_dict(Recipe, {"data": {"synth": {"train_utterances_per_language": {"pl": "many"}}}})


def test_missing_or_invalid_yaml_is_named(tmp_path):
    with pytest.raises(RecipeError, match="no such recipe file"):
        load_recipe(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [unclosed\n")
    with pytest.raises(RecipeError, match="bad.yaml: not valid YAML"):
        load_recipe(bad)


def test_unsupported_language_lists_close_matches():
    with pytest.raises(LanguageError, match=r"unknown language 'xx': eSpeak NG has no such language"):
        get_language("xx")
    with pytest.raises(LanguageError, match=r"close matches: .*vi \(Vietnamese"):
        get_language("vn")
