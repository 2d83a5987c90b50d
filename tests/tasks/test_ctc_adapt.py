"""Adapting a Hugging Face CTC phoneme checkpoint: zero-shot and few-label add-language, layer transfer, DANN.

A tiny random ``Wav2Vec2ForCTC`` (``tests/ctc_checkpoints.py``) and the tiny synthetic corpus: each run
ends in a model that decodes; the universal head and the frozen parts stay bit-identical.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import torch
import yaml

from ctc_checkpoints import make_ctc_checkpoint, write_noise
from speechtl.cli import main
from speechtl.config import to_dict
from speechtl.decoding.recognizer import Recognizer
from speechtl.errors import RecipeError
from speechtl.models.ctc_checkpoint import UNIVERSAL, read_ctc_checkpoint
from speechtl.models.io import load_model
from speechtl.tasks import load_recipe
from speechtl.workflows.add_language import add_language
from speechtl.workflows.train import train

pytest.importorskip("transformers")
FAST = ["train.max_steps=3", "train.warmup_steps=1", "train.checkpoint_every=3", "train.log_every=1",
        "train.max_duration=30", "train.num_threads=1"]
RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "pretrained-phonemes.yaml"


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ctc") / "ckpt"
    make_ctc_checkpoint(folder, "wav2vec2", seed=7)
    return folder


@pytest.fixture
def es_data(tiny_corpus, tmp_path) -> Path:
    path = tmp_path / "es.yaml"
    path.write_text(yaml.safe_dump({"data": to_dict(tiny_corpus)}))
    return path


def test_zero_shot_language_from_the_universal_head(ckpt, tmp_path, capsys):
    lexicon = tmp_path / "sv.txt"
    lexicon.write_text("hus h ʉː s\nsju ɧ ʉː\nkatt k a t\n", encoding="utf-8")
    assert main(["add-language", "--model", str(ckpt), "--lang", "sv", "--zero-shot", "--lexicon", str(lexicon),
                 "-o", str(tmp_path / "sv")]) == 0
    out = capsys.readouterr().out
    assert "'ʉː'" in out and "'ɧ'" in out  # the universal head lacks them: nearest outputs named
    model = load_model(tmp_path / "sv" / "model")
    assert model.languages == [UNIVERSAL, "sv"] and model.inventories["sv"].phonemes == sorted(["h", "ʉː", "s", "ɧ",
                                                                                                 "k", "a", "t"])
    universal = read_ctc_checkpoint(ckpt)[0]
    sv, mul = model.inventories["sv"], universal.inventories[UNIVERSAL]
    assert torch.equal(model.heads.head("sv").weight[sv.index["s"]], universal.heads.head(UNIVERSAL).weight[mul.index["s"]])
    wave = write_noise(tmp_path / "a.wav", 1.0, seed=0)
    result = Recognizer.load(tmp_path / "sv" / "model").transcribe(torch.as_tensor(wave), "sv", lexicon=lexicon,
                                                                    sample_rate=16000)
    assert result.phonemes and set(result.text.split()) <= {"hus", "sju", "katt"}


def test_few_labels_conservative_keeps_the_universal_head(ckpt, es_data, tmp_path):
    result = add_language(ckpt, "es", es_data, "conservative", tmp_path / "cons", overrides=FAST, progress=False)
    assert result.report["old"] == {} and result.report["new"]["es"] >= 0  # scored (random weights: many insertions)
    model = load_model(result.exp_dir / "model")
    universal = read_ctc_checkpoint(ckpt)[0]
    assert model.languages == [UNIVERSAL, "es"]
    assert torch.equal(model.heads.head(UNIVERSAL).weight, universal.heads.head(UNIVERSAL).weight)  # kept, frozen
    assert not torch.equal(model.encoder.blocks[1].attention.k_proj.weight,
                           universal.encoder.blocks[1].attention.k_proj.weight)  # the encoder adapted
    log = [json.loads(line) for line in (result.exp_dir / "train_log.jsonl").read_text().splitlines()]
    steps = [r for r in log if "loss" in r]
    assert steps and all("l2sp" in json.dumps(r) and "kl" in json.dumps(r) for r in steps)
    heard = Recognizer.load(result.exp_dir / "model").transcribe(write_noise(tmp_path / "b.wav", 1.0, 1), "es",
                                                                  words=["uno", "dos"], sample_rate=16000)
    assert heard.language == "es"


def test_layer_transfer_fine_tune_with_the_recipe(ckpt, tiny_corpus, tmp_path):
    """recipes/pretrained-phonemes.yaml with the checkpoint as a --set; first layer and extractor frozen."""
    recipe = load_recipe(RECIPE, [f"model.pretrained={ckpt}", "model.ssl.freeze_layers=1", "model.dropout=0",
                                  f"train.exp_dir={tmp_path / 'exp'}", *FAST])
    recipe.data = copy.deepcopy(tiny_corpus)  # the session's corpus config: other tests read it
    recipe.data.languages = ["en"]
    model = load_model(train(recipe, progress=False) / "model")
    universal = read_ctc_checkpoint(ckpt)[0]
    before, after = universal.encoder.state_dict(), model.encoder.state_dict()
    for name in ("frontend.feature_extractor.conv_layers.0.conv.weight", "blocks.0.attention.q_proj.weight"):
        assert torch.equal(before[name], after[name]), name
    assert not torch.equal(before["blocks.1.attention.q_proj.weight"], after["blocks.1.attention.q_proj.weight"])
    assert model.languages == ["en"] and "ɚ" in model.inventories["en"]


def test_the_recipe_refuses_features_the_checkpoint_does_not_read(ckpt, tiny_corpus, tmp_path):
    from speechtl.tasks.speech.model import build_model
    from speechtl.text.inventory import Inventory

    recipe = load_recipe(RECIPE, [f"model.pretrained={ckpt}", "features.cmvn=none", "model.ssl.freeze_layers=1"])
    with pytest.raises(RecipeError, match="reads other features than this recipe makes .*features.cmvn: "
                                          "'utterance' there, 'none' here"):
        build_model(recipe, {"en": Inventory(["a"])})


def test_dann_on_a_chosen_layer(ckpt, tiny_corpus, tmp_path):
    recipe = load_recipe(RECIPE, [f"model.pretrained={ckpt}", "model.ssl.freeze_layers=0", "model.dropout=0",
                                  f"train.exp_dir={tmp_path / 'exp'}", "transfer.methods=[dann]",
                                  "transfer.dann.domain=speaker", "transfer.dann.layer=1", *FAST])
    recipe.data = copy.deepcopy(tiny_corpus)  # the session's corpus config: other tests read it
    recipe.data.languages = ["en"]
    exp = train(recipe, progress=False)
    log = [json.loads(line) for line in (exp / "train_log.jsonl").read_text().splitlines()]
    assert any("dann" in json.dumps(r) for r in log if "loss" in r)
    model = load_model(exp / "model")
    universal = read_ctc_checkpoint(ckpt)[0]
    for name in ("blocks.0.attention.q_proj.weight", "blocks.1.attention.q_proj.weight"):
        assert not torch.equal(universal.encoder.state_dict()[name], model.encoder.state_dict()[name])
    bad = load_recipe(RECIPE, [f"model.pretrained={ckpt}", "model.ssl.freeze_layers=0", "transfer.methods=[dann]",
                               "transfer.dann.domain=speaker", "transfer.dann.layer=5",
                               f"train.exp_dir={tmp_path / 'bad'}", *FAST])
    bad.data = copy.deepcopy(tiny_corpus)
    bad.data.languages = ["en"]
    with pytest.raises(RecipeError, match="transfer.dann.layer: 5; the encoder has blocks 1 to 2"):
        train(bad, progress=False)


def test_block_tap_reads_the_chosen_layers_output_and_survives_layer_drop(ckpt):
    from speechtl.transfer.dann import BlockTap

    model = read_ctc_checkpoint(ckpt)[0]
    tap = BlockTap(model, 1)
    frames, lengths = torch.randn(2, 50, 160), torch.tensor([50, 40])
    with torch.no_grad():
        model(frames, lengths)
        states, _ = model.encoder.hidden_states(frames.reshape(2, -1), lengths * 160)
    assert torch.equal(tap.output, states[1])
    model.encoder.layer_drop = 1.0  # every block skipped in training
    model.train()
    with torch.no_grad():
        model(frames, lengths)
    assert tap.output is None
