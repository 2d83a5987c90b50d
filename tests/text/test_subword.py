"""The SentencePiece baseline: same model class and training loop, pieces instead of phonemes."""

import pytest

from speechtl.errors import RecipeError
from speechtl.workflows.evaluate import evaluate
from speechtl.workflows.train import train
from speechtl.models.io import load_model
from speechtl.tasks import load_recipe
from speechtl.text.subword import encode, pieces_to_text, train_sentencepiece

TEXTS = ["the cat sat on the mat", "a dog and a cat", "the mat is flat", "dogs and cats sat"] * 20


def test_sentencepiece_is_deterministic_and_round_trips():
    model = train_sentencepiece(TEXTS, 40)
    assert model == train_sentencepiece(TEXTS, 40)
    pieces = encode(model, "the flat cats")
    assert pieces[0].startswith("\u2581") and pieces_to_text(pieces) == "the flat cats"
    assert pieces_to_text(encode(model, "unseen catmat")) == "unseen catmat"  # spelled from smaller pieces


def test_subword_model_trains_with_the_same_loop_and_keeps_its_pieces(tiny_recipe):
    tiny_recipe.units.kind = "subword"
    tiny_recipe.units.subword_vocab = 64
    tiny_recipe.train.max_steps = 6
    model_path = train(tiny_recipe, progress=False) / "model"
    model = load_model(model_path)
    assert sorted(model.unit_models) == sorted(tiny_recipe.data.languages)
    assert any(t.startswith("\u2581") for t in model.inventories["en"].tokens)
    report = evaluate(model_path, "test", progress=False)
    assert set(report["wer"]) == set(tiny_recipe.data.languages) and "per" not in report


def test_units_and_decode_sections_are_type_checked(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("units:\n  kind: subword\ndecode:\n  beam_size: 10\n")
    loaded = load_recipe(recipe)
    assert loaded.units.kind == "subword" and loaded.decode.beam_size == 10
    with pytest.raises(RecipeError, match="decode.word_boundary: expected one of"):
        load_recipe(recipe, ["decode.word_boundary=sometimes"])
    with pytest.raises(RecipeError, match="units.kind: expected one of"):
        load_recipe(recipe, ["units.kind=letters"])
    with pytest.raises(RecipeError, match=r"decode\.beam_size: 0 is out of range; expected a value in \[1, inf\)"):
        load_recipe(recipe, ["decode.beam_size=0"])
