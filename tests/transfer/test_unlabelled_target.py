"""Untranscribed recordings of the user's domain as the target of DANN and self-training (``corpus: audio``)."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import pytest
import soundfile as sf

from speechtl.data.config import CorpusPart
from speechtl.data.corpora import prepare_corpus
from speechtl.errors import ManifestError, RecipeError
from speechtl.tasks.speech.data import load_target_domain
from speechtl.workflows.run import run
from test_transfer_recipes import speech_recipe


@pytest.fixture
def domain_folder(tiny_corpus, tmp_path) -> Path:
    """Six English recordings in nested folders (no transcripts anywhere) and one file that is not audio."""
    from speechtl.data.synth import load_synthetic

    folder = tmp_path / "my-recordings"
    cuts = [c for c in load_synthetic(tiny_corpus, "test") if c.supervisions[0].language == "en"][:6]
    assert len(cuts) == 6
    for i, cut in enumerate(cuts):
        path = folder / f"day{i % 2}" / f"rec{i}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, cut.load_audio()[0], cut.sampling_rate)
    (folder / "day0" / "broken.wav").write_bytes(b"RIFF\x00\x00not a wave file")
    return folder


def audio_target(recipe, folder, **part):
    target = dataclasses.replace(recipe.data.target, corpus="audio", root="", split="train",
                                 parts=[CorpusPart(path=str(folder), **part)])
    return dataclasses.replace(recipe, data=dataclasses.replace(recipe.data, target=target))


def test_a_folder_of_untranscribed_audio_is_a_target_domain(tiny_recipe, domain_folder, caplog):
    recipe = audio_target(tiny_recipe, domain_folder, language="en")
    with caplog.at_level(logging.WARNING):
        utts = load_target_domain(recipe)
    assert len(utts) == 6 and {u.language for u in utts} == {"en"}
    assert all(u.domain == "target" and not u.labelled and not u.phonemes for u in utts)
    assert "broken.wav" in caplog.text and "skipped 1" in caplog.text  # named and counted, the rest kept


def test_untranscribed_audio_refuses_what_it_cannot_serve(tiny_recipe, domain_folder):
    target = audio_target(tiny_recipe, domain_folder).data.target  # three languages: which head?
    with pytest.raises(ManifestError, match=r"data.parts\[0\].language: name the language of .*my-recordings"):
        prepare_corpus(dataclasses.replace(tiny_recipe.data, corpus="audio", parts=target.parts))
    parts = [CorpusPart(path=str(domain_folder), language="en", split="test")]
    with pytest.raises(ManifestError, match="untranscribed audio is training audio only"):
        prepare_corpus(dataclasses.replace(tiny_recipe.data, corpus="audio", parts=parts))
    parts = [CorpusPart(path=str(domain_folder), language="fr")]
    with pytest.raises(ManifestError, match="'fr' is not one of data.languages"):
        prepare_corpus(dataclasses.replace(tiny_recipe.data, corpus="audio", parts=parts))
    labelled = audio_target(tiny_recipe, domain_folder, language="en")
    labelled.data.target.labelled = True
    with pytest.raises(RecipeError, match="data.target.labelled: the target domain \\(audio\\) has no transcripts"):
        load_target_domain(labelled)


def test_dann_and_self_training_adapt_to_a_folder_of_recordings(tiny_recipe, tdnn_en_model, domain_folder):
    """The user-facing path: a trained model, its labelled corpus, the folder unlabelled, one round of self-training."""
    recipe = speech_recipe("tiny-dann.yaml", tiny_recipe, f"transfer.source={tdnn_en_model}",
                           "transfer.self_training.rounds=1", "transfer.self_training.steps=2",
                           "transfer.self_training.warmup_steps=0", "transfer.self_training.keep=[1.0]", steps=4)
    recipe.data.languages = ["en"]
    recipe = audio_target(recipe, domain_folder)  # the recipe's one language names the head
    reports = run(recipe, progress=False)
    assert set(reports) == {"test"}  # nothing to score the untranscribed domain against
    exp = Path(recipe.train.exp_dir)
    rows = [json.loads(line) for line in (exp / "self-training" / "round-1" / "pseudo_labels.jsonl").open()]
    assert len(rows) >= 4 and all(r["id"].startswith("0-") and r["words"] for r in rows)  # the trained model hears words
    assert (exp / "tsne.png").stat().st_size > 1000  # source vs the user's recordings


def test_a_target_domain_without_test_recordings_is_not_scored_and_the_run_finishes(tiny_recipe, tdnn_en_model,
                                                                                   tmp_path, caplog):
    """A target of training speakers' unlabelled recordings only (its test split empty, as when a held-out pair must
    not be read): `speechtl run` trains, reports test, and says the target is not scored instead of failing at the end."""
    fsdd = str(Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "fsdd")
    recipe = speech_recipe("tiny-dann.yaml", tiny_recipe, f"transfer.source={tdnn_en_model}", steps=2)
    recipe.data.languages = ["en"]
    part = CorpusPart(path=fsdd, split="train", speakers=["george"], index=(0, 2))
    target = dataclasses.replace(recipe.data.target, corpus="fsdd", root=str(tmp_path / "fsdd"), split="train",
                                 parts=[part])
    recipe = dataclasses.replace(recipe, data=dataclasses.replace(recipe.data, target=target))
    with caplog.at_level(logging.INFO):
        reports = run(recipe, progress=False)
    assert set(reports) == {"test"} and "has no test utterances to score: not scored" in caplog.text
