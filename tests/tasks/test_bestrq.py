"""BEST-RQ pre-training: the quantiser, the masks, a few steps in which the loss falls, then fine-tuning from it."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from speechtl.cli import main
from speechtl.errors import AudioError
from speechtl.models.io import load_model
from speechtl.tasks.speech.recipe import Recipe
from speechtl.transfer.bestrq import quantize, span_mask, stack_frames


def test_quantize_picks_the_nearest_codeword_after_projection():
    projection = torch.eye(2)
    codebook = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    stacked = torch.tensor([[[3.0, 0.1], [0.2, 5.0], [-2.0, -0.5], [0.1, 0.0]]])
    assert quantize(stacked, projection, codebook).tolist() == [[0, 1, 2, 0]]
    assert quantize(stacked * 7, projection, codebook).tolist() == [[0, 1, 2, 0]]  # the scale does not matter


def test_stack_frames_puts_consecutive_frames_side_by_side():
    x = torch.arange(2 * 9 * 2, dtype=torch.float32).reshape(2, 9, 2)
    stacked = stack_frames(x, 4)
    assert stacked.shape == (2, 2, 8)
    assert stacked[0, 1].tolist() == x[0, 4:8].flatten().tolist()


def test_span_mask_covers_spans_inside_each_utterance():
    lengths = torch.tensor([50, 20, 3])
    mask = span_mask(lengths, 50, 0.05, 6, torch.Generator().manual_seed(0))
    assert mask.shape == (3, 50)
    assert not mask[1, 20:].any() and not mask[2, 3:].any()  # never on padding
    assert all(mask[i].any() for i in range(3))  # every utterance has something to predict
    starts = mask[0] & ~torch.cat([torch.tensor([False]), mask[0, :-1]])
    runs = [int(mask[0, s:].int().cumprod(0).sum()) for s in torch.nonzero(starts).flatten().tolist()]
    assert all(r >= 6 for r in runs[:-1]) or len(runs) == 1  # spans are span frames long (or merged, longer)


def pretrain_recipe(tmp_path, audio, steps):
    recipe = Recipe(name="bestrq-test")
    recipe.model.encoder, recipe.model.dim, recipe.model.layers, recipe.model.dropout = "tdnn", 64, 2, 0.0
    recipe.pretrain.audio = [str(a) for a in audio]
    recipe.pretrain.codebook_size, recipe.pretrain.mask_prob, recipe.pretrain.mask_span = 64, 0.05, 10
    recipe.train.exp_dir = str(tmp_path / "pre")
    recipe.train.max_steps, recipe.train.max_duration, recipe.train.warmup_steps = steps, 20, 5
    recipe.train.lr, recipe.train.num_threads, recipe.train.log_every = 3e-3, 1, 1
    recipe.train.checkpoint_every = 1000
    return recipe


def test_a_few_bestrq_steps_lower_the_loss_and_a_recipe_starts_from_the_model(tiny_corpus, tmp_path, caplog):
    from speechtl.workflows.pretrain import pretrain
    from speechtl.workflows.train import train

    broken = tmp_path / "more"
    broken.mkdir()
    (broken / "broken.wav").write_bytes(b"RIFF not audio at all")
    recipe = pretrain_recipe(tmp_path, [f"{tiny_corpus.root}/audio/es", broken], steps=30)
    torch.manual_seed(0)
    exp = pretrain(recipe, progress=False)
    losses = [r["loss"] for r in map(json.loads, (exp / "train_log.jsonl").read_text().splitlines()) if "loss" in r]
    assert len(losses) == 30
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 0.2, losses  # it starts near ln 64 = 4.16
    assert "skipped" in caplog.text and "broken.wav" in caplog.text  # the unreadable file is named and counted
    meta = json.loads((exp / "model.json").read_text())
    assert meta["pretraining"]["skipped"] == 1 and meta["pretraining"]["method"] == "best-rq"
    encoder = load_model(exp / "model")
    assert encoder.languages == []

    fine = Recipe(name="from-bestrq", data=copy.deepcopy(tiny_corpus))
    fine.data.languages = ["es"]
    fine.model = copy.deepcopy(recipe.model)
    fine.transfer.source = str(exp / "model")
    fine.train.exp_dir = str(tmp_path / "fine")
    fine.train.max_steps, fine.train.max_duration, fine.train.warmup_steps, fine.train.num_threads = 2, 20, 1, 1
    fine.train.checkpoint_every = 1000
    caplog.clear()
    with caplog.at_level("INFO"):
        tuned = load_model(train(fine, progress=False) / "model")
    assert "copied" in caplog.text and tuned.languages == ["es"]


def test_pretrain_command_names_a_source_without_audio(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "recipe.yaml").write_text(f"model: {{encoder: tdnn, dim: 32, layers: 1}}\n"
                                          f"pretrain: {{audio: [{tmp_path / 'empty'}]}}\n"
                                          f"train: {{exp_dir: {tmp_path / 'exp'}}}\n")
    assert main(["pretrain", str(tmp_path / "recipe.yaml")]) == 2
    assert "a folder with no audio files in it" in capsys.readouterr().err
    assert not (tmp_path / "exp").exists()  # refused before anything was written
    with pytest.raises(AudioError, match="pretrain.audio: no source"):
        from speechtl.data.unlabelled import unlabelled_cuts

        unlabelled_cuts([], 30.0)


def test_tasks_without_pre_training_or_self_training_are_refused_by_name(tmp_path):
    from speechtl.errors import RecipeError
    from speechtl.tasks import load_recipe
    from speechtl.workflows.pretrain import pretrain
    from speechtl.workflows.self_train import self_train

    recipe = load_recipe("speechtl/recipes/image-source.yaml", [f"train.exp_dir={tmp_path / 'exp'}"])
    with pytest.raises(RecipeError, match="image recipes have no self-supervised pre-training"):
        pretrain(recipe)
    with pytest.raises(RecipeError, match="image recipes have no self-training"):
        self_train(recipe, tmp_path / "exp")
    assert not (tmp_path / "exp").exists()
