"""Self-training on unlabelled target audio: selection, pseudo-labelled target utterances, a whole round."""

import dataclasses
import json
import math

import pytest
import torch
import yaml

from speechtl.data.fsdd import DIGIT_WORDS
from speechtl.errors import RecipeError
from speechtl.data.config import CorpusPart, TargetDataConfig
from speechtl.tasks.speech.recipe import Recipe
from speechtl.tasks.speech.self_training import PseudoLabel, select


def _labels(spec):
    return [PseudoLabel(f"u{i}", words.split(), "x", margin) for i, (words, margin) in enumerate(spec)]


def test_select_keeps_the_largest_margins():
    labels = _labels([("one", 5.0), ("one", 9.0), ("two", 1.0), ("one", 7.0), ("two", 0.5), ("one", math.inf)])
    assert [p.id for p in select(labels, 6, 0.5)] == ["u5", "u1", "u3"]
    # balanced: each transcript gets the same number of places (3 / 2 words, rounded up to 2),
    # so "two" gets in despite its small margins; never more than the share in all
    assert [p.id for p in select(labels, 6, 0.5, balanced=True)] == ["u5", "u1", "u2"]
    assert [p.id for p in select(labels, 6, 2 / 3, balanced=True)] == ["u5", "u1", "u2", "u4"]
    # utterances without a hypothesis count in the total but are never kept
    assert len(select(labels, 12, 0.25)) == 3 and len(select(labels, 12, 1.0)) == 6


def test_label_report_scores_the_kept_labels_against_the_transcripts():
    from types import SimpleNamespace

    from speechtl.tasks.speech.self_training import label_report

    labels = _labels([("one", 5.0), ("two", 4.0), ("three", 3.0), ("one two", 1.0)])
    targets = [SimpleNamespace(id=f"u{i}", text=t) for i, t in enumerate(["one", "two", "two", "one", "nine"])]
    kept = labels[:3]  # u2 is wrong: 1 substitution in 3 words
    report = label_report(labels, kept, targets, keep=0.6)
    assert report["pseudo_label_wer"] == pytest.approx(1 / 3, abs=1e-4)
    # all hypotheses: u2 substituted, u3 has one insertion: 2 errors in 4 reference words
    assert report["all_hypotheses_wer"] == pytest.approx(2 / 4, abs=1e-4)
    assert (report["utterances"], report["hypotheses"], report["kept"], report["min_margin_kept"]) == (5, 4, 3, 3.0)
    # without transcripts there is nothing to score
    untranscribed = [SimpleNamespace(id=t.id, text="") for t in targets]
    assert "pseudo_label_wer" not in label_report(labels, kept, untranscribed, keep=0.6)


def _fsdd_recipe(tiny_corpus, fake_fsdd, tmp_path) -> Recipe:
    recipe = Recipe(name="st-test", data=dataclasses.replace(tiny_corpus, languages=["en"]))
    recipe.model.encoder, recipe.model.dim, recipe.model.layers = "tdnn", 64, 2
    recipe.data.target = TargetDataConfig(corpus="fsdd", root=str(tmp_path / "fsdd"), split="train", parts=[
        CorpusPart(str(fake_fsdd), "train", speakers=["ann", "bob"]), CorpusPart(str(fake_fsdd), "test", speakers=["cy"])])
    recipe.decode.words = DIGIT_WORDS
    recipe.decode.word_score = 10.0  # a word bonus: the barely trained model still names words
    recipe.transfer.methods = ["dann"]
    recipe.train = dataclasses.replace(recipe.train, exp_dir=str(tmp_path / "exp"), max_steps=6, warmup_steps=2,
                                       max_duration=40, checkpoint_every=6, log_every=2, num_threads=1)
    recipe.transfer.self_training = dataclasses.replace(recipe.transfer.self_training, rounds=2, keep=[0.5, 1.0],
                                                        steps=3, warmup_steps=1, balanced=True)
    return recipe


def test_pseudo_labels_label_only_the_chosen_target_utterances(tiny_corpus, fake_fsdd, tmp_path):
    from speechtl.tasks.speech.data import load_target_domain

    recipe = _fsdd_recipe(tiny_corpus, fake_fsdd, tmp_path)
    plain = load_target_domain(recipe)
    chosen = plain[3].id
    labels = tmp_path / "kept.jsonl"
    labels.write_text(json.dumps({"id": chosen, "phonemes": "w ʌ n"}) + "\n")
    recipe.data.target.pseudo_labels = str(labels)
    target = load_target_domain(recipe)
    assert [u.id for u in target] == [u.id for u in plain]
    for u, p in zip(target, plain):
        assert u.domain == "target"
        assert u.labelled == (u.id == chosen)
        assert u.phonemes == ("w ʌ n" if u.id == chosen else p.phonemes)


def test_self_training_rounds_write_pseudo_labels_and_the_final_model(tiny_corpus, fake_fsdd, tmp_path):
    from speechtl.files import read_metadata
    from speechtl.models.io import load_model
    from speechtl.workflows.run import run

    recipe = _fsdd_recipe(tiny_corpus, fake_fsdd, tmp_path)
    run(recipe, progress=False)
    exp = tmp_path / "exp"
    summary = json.loads((exp / "self_training.json").read_text())
    assert [r["round"] for r in summary["rounds"]] == [1, 2]
    assert [r["utterances"] for r in summary["rounds"]] == [12, 12]  # speakers ann and bob
    first = [json.loads(line) for line in (exp / "self-training" / "round-1" / "pseudo_labels.jsonl").open()]
    assert first and all(set(p["words"]) <= set(DIGIT_WORDS) and p["phonemes"] for p in first)
    assert sum(p["kept"] for p in first) == summary["rounds"][0]["kept"] <= 6
    # the fake FSDD has transcripts, so each round reports how right its kept labels are
    assert all("pseudo_label_wer" in r and "all_hypotheses_wer" in r for r in summary["rounds"])
    initial = load_model(exp / "self-training" / "round-0" / "model").state_dict()
    final = load_model(exp / "model")
    assert read_metadata(exp / "model")["recipe"]["transfer"]["self_training"]["rounds"] == 2  # not a round's
    last = load_model(exp / "self-training" / "round-2" / "model").state_dict()
    assert all(torch.equal(final.state_dict()[k], last[k]) for k in last)
    assert not all(torch.equal(initial[k], last[k]) for k in initial)  # the rounds trained
    assert (exp / "tsne.png").is_file()
    round2 = yaml.safe_load((exp / "self-training" / "round-2" / "recipe.yaml").read_text())
    assert round2["transfer"]["source"] == str(exp / "self-training" / "round-1" / "model")
    assert round2["train"]["max_steps"] == 3 and round2["transfer"]["self_training"]["rounds"] == 0


def test_self_training_needs_unlabelled_target_audio(tiny_corpus, fake_fsdd, tmp_path):
    from speechtl.workflows.self_train import self_train

    recipe = _fsdd_recipe(tiny_corpus, fake_fsdd, tmp_path)
    with pytest.raises(RecipeError, match="data.target.labelled is true"):
        self_train(dataclasses.replace(recipe, data=dataclasses.replace(
            recipe.data, target=dataclasses.replace(recipe.data.target, labelled=True))), tmp_path / "x")
    with pytest.raises(RecipeError, match="needs unlabelled target-domain audio"):
        self_train(dataclasses.replace(recipe, data=dataclasses.replace(recipe.data, target=TargetDataConfig())),
                   tmp_path / "x")
