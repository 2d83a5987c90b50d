"""Synthetic to real: the FSDD adapter, the speakers filter, fixed-word synthesis and closed-vocabulary decoding."""

import dataclasses

import pytest

from speechtl.data.corpora import prepare_corpus
from speechtl.data.fsdd import DIGIT_WORDS
from speechtl.errors import ManifestError
from speechtl.data.config import CorpusPart, DataConfig, SynthConfig

def test_fsdd_parts_choose_speakers_and_label_digit_words(fake_fsdd, tmp_path):
    data = DataConfig(corpus="fsdd", root=str(tmp_path / "prepared"), languages=["en"], parts=[
        CorpusPart(str(fake_fsdd), "train", speakers=["ann", "bob"]),
        CorpusPart(str(fake_fsdd), "test", speakers=["cy"]),
    ])
    cuts = prepare_corpus(data, progress=False)
    assert {k: len(v) for k, v in cuts.items()} == {"train": 12, "dev": 0, "test": 6}
    sups = {s: [c.supervisions[0] for c in cuts[s]] for s in ("train", "test")}
    assert {x.speaker for x in sups["train"]} == {"ann", "bob"}
    assert {x.speaker for x in sups["test"]} == {"cy"}
    assert {x.text for x in sups["test"]} == {"one", "four", "seven"}
    for sup in sups["train"] + sups["test"]:
        digit = int(sup.id.split("-")[2])
        assert sup.text == DIGIT_WORDS[digit] and sup.language == "en"
        assert sup.custom["phonemes"] and "|" not in sup.custom["phonemes"]  # one word
    assert all(c.sampling_rate == 8000 for c in cuts["test"])


def test_fsdd_index_range_holds_out_recordings_of_the_training_speakers_as_dev(fake_fsdd, tmp_path):
    data = DataConfig(corpus="fsdd", root=str(tmp_path / "prepared"), languages=["en"], parts=[
        CorpusPart(str(fake_fsdd), "train", speakers=["ann", "bob"], index=(1, 50)),
        CorpusPart(str(fake_fsdd), "dev", speakers=["ann", "bob"], index=(0, 1)),
    ])
    cuts = prepare_corpus(data, progress=False)
    assert {k: len(v) for k, v in cuts.items()} == {"train": 6, "dev": 6, "test": 0}
    takes = {s: {c.supervisions[0].id.rsplit("-", 1)[1] for c in cuts[s]} for s in ("train", "dev")}
    assert takes == {"train": {"1"}, "dev": {"0"}}
    data = DataConfig(corpus="fsdd", root=str(tmp_path / "p2"), languages=["en"],
                      parts=[CorpusPart(str(fake_fsdd), "train", index=(5, 5))])
    with pytest.raises(ManifestError, match=r"data.parts\[0\]: .*index range \[5, 5\) is empty"):
        prepare_corpus(data, progress=False)


def test_fsdd_bad_paths_and_speakers_are_named(fake_fsdd, tmp_path):
    missing = tmp_path / "no-fsdd-here"
    data = DataConfig(corpus="fsdd", root=str(tmp_path / "p"), languages=["en"],
                      parts=[CorpusPart(str(missing), "train")])
    with pytest.raises(ManifestError, match=r"data.parts\[0\]: .*no-fsdd-here: no such FSDD directory"):
        prepare_corpus(data, progress=False)
    data.parts = [CorpusPart(str(fake_fsdd), "train", speakers=["ann", "zed"])]
    with pytest.raises(ManifestError, match="no recordings of speaker.s. zed; it has ann, bob, cy"):
        prepare_corpus(data, progress=False)


def test_speakers_filter_works_for_any_corpus(tiny_corpus, tmp_path):
    from speechtl.data.synth import load_synthetic

    cuts = load_synthetic(tiny_corpus, "test")
    keep = sorted({c.supervisions[0].speaker for c in cuts})[:2]
    cuts.to_file(tmp_path / "cuts.jsonl.gz")
    data = DataConfig(corpus="lhotse", root=str(tmp_path / "prepared"), languages=tiny_corpus.languages,
                      parts=[CorpusPart(str(tmp_path / "cuts.jsonl.gz"), "test", speakers=keep)])
    got = prepare_corpus(data, progress=False)["test"]
    assert len(got) == sum(c.supervisions[0].speaker in keep for c in cuts) > 0
    assert {c.supervisions[0].speaker for c in got} == set(keep)


def _words_config(root, seed=0):
    return DataConfig(root=str(root), languages=["en"], synth=SynthConfig(
        words=["zero", "one", "two"], voices=["en-us", "en-gb-scotland"], words_per_utterance=(1, 1),
        train_utterances=12, dev_utterances=4, test_utterances=6, train_speakers=4, dev_speakers=2,
        test_speakers=2, warp=(0.9, 1.1), seed=seed))


def test_synthetic_fixed_words_share_words_not_voices(tmp_path):
    from speechtl.data.synth import language_fingerprint, load_synthetic, synthesize_corpus
    from tests.data.test_synth import _digest

    a, b = _words_config(tmp_path / "a"), _words_config(tmp_path / "b")
    for cfg in (a, b):
        synthesize_corpus(cfg, jobs=1, progress=False)
    assert _digest(a) == _digest(b)  # deterministic
    sups = {s: [c.supervisions[0] for c in load_synthetic(a, s)] for s in ("train", "dev", "test")}
    for split, items in sups.items():
        assert {x.text for x in items} <= {"zero", "one", "two"}
        assert all(" " not in x.text for x in items)  # one word per utterance
        assert {x.custom["base_voice"] for x in items} <= {"en-us", "en-gb-scotland"}
        assert all(0.9 <= float(x.speaker.rsplit("_w", 1)[1]) <= 1.1 for x in items)  # warped speakers
    assert len({x.text for x in sups["train"]}) == 3
    voices = {s: {x.custom["voice"] for x in items} for s, items in sups.items()}
    assert not voices["train"] & voices["test"] and not voices["train"] & voices["dev"]
    assert not voices["dev"] & voices["test"]
    fp = language_fingerprint
    assert fp(a.synth, "en") != fp(dataclasses.replace(a.synth, voices=["en-us"]), "en")
    assert fp(a.synth, "en") != fp(dataclasses.replace(a.synth, words=["zero", "one"]), "en")
    assert fp(a.synth, "en") != fp(dataclasses.replace(a.synth, warp=(0.9, 1.2)), "en")
    assert fp(SynthConfig(words=["zero"]), "en") != fp(SynthConfig(), "en")


def test_closed_vocabulary_decoding_outputs_only_its_words(tiny_corpus, tmp_path):
    """decode.words: evaluation decodes with just these words and reports word accuracy = 1 - WER."""
    from speechtl.decoding.evaluate import lexicon_decoders, recognize_words
    from speechtl.tasks.speech.data import build_inventories, load_split
    from speechtl.workflows.evaluate import evaluate
    from speechtl.tasks.speech.evaluate import evaluation_lexicons
    from speechtl.tasks.speech.model import build_model
    from speechtl.models.io import save_model
    from speechtl.tasks.speech.recipe import Recipe

    vocab = ["yes", "no", "maybe"]
    recipe = Recipe(data=dataclasses.replace(tiny_corpus, languages=["en"]))
    recipe.model.encoder, recipe.model.dim, recipe.model.layers = "tdnn", 32, 1
    recipe.decode.words = vocab
    utts = load_split(recipe, "test")
    model = build_model(recipe, build_inventories(load_split(recipe, "train")))
    lexicons = evaluation_lexicons(recipe, ["en"])
    assert set(lexicons["en"].words) == set(vocab)
    hyps = recognize_words(model, utts, lexicon_decoders(model, lexicons, recipe.decode))
    assert any(hyps) and {w for h in hyps for w in h.split()} <= set(vocab)
    save_model(model, tmp_path / "model", recipe=recipe.to_dict())
    report = evaluate(tmp_path / "model", "test", progress=False)
    assert report["wer_lexicon"] == {"en": 3}
    assert report["word_accuracy"]["en"] == pytest.approx(1 - report["wer"]["en"]["rate"])
    assert report["word_accuracy"]["en"] < 0.05  # no utterance of the tiny corpus is only these words


def test_target_domain_from_another_corpus_with_its_own_parts(tiny_corpus, fake_fsdd, tmp_path):
    """data.target.parts: a synthetic source with real target audio; unlabelled training speakers, scored test speakers."""
    from speechtl.tasks.speech.data import build_inventories, load_split, load_target_domain, repeated
    from speechtl.workflows.evaluate import evaluate
    from speechtl.tasks.speech.model import build_model
    from speechtl.models.io import save_model
    from speechtl.tasks.speech.recipe import Recipe
    from speechtl.data.config import TargetDataConfig

    recipe = Recipe(data=dataclasses.replace(tiny_corpus, languages=["en"]))
    recipe.model.encoder, recipe.model.dim, recipe.model.layers = "tdnn", 32, 1
    recipe.data.target = TargetDataConfig(corpus="fsdd", root=str(tmp_path / "fsdd"), split="train", parts=[
        CorpusPart(str(fake_fsdd), "train", speakers=["ann", "bob"]), CorpusPart(str(fake_fsdd), "test", speakers=["cy"])])
    recipe.decode.words = DIGIT_WORDS
    target = load_target_domain(recipe)
    assert len(target) == 12 and {u.speaker for u in target} == {"ann", "bob"}
    assert all(u.domain == "target" and not u.labelled for u in target)
    broken = dataclasses.replace(recipe.data.target, root=str(tmp_path / "fsdd2"),
                                 parts=[CorpusPart(str(tmp_path / "nowhere"), "train")])
    with pytest.raises(ManifestError, match=r"data.target.parts\[0\]: .*nowhere: no such FSDD directory"):
        load_target_domain(dataclasses.replace(recipe, data=dataclasses.replace(recipe.data, target=broken)))
    copies = repeated(target, 3)
    assert len(copies) == 36 and len({u.id for u in copies}) == 36
    model = build_model(recipe, build_inventories(load_split(recipe, "train")))
    save_model(model, tmp_path / "model", recipe=recipe.to_dict())
    report = evaluate(tmp_path / "model", recipe=recipe, domain="target", progress=False)
    assert report["per"]["en"]["utterances"] == 6  # speaker cy's recordings
    assert report["wer_lexicon"] == {"en": 10}
    wer = report["wer"]["en"]
    assert wer["reference_length"] == 6  # one digit word per recording
    assert report["word_accuracy"]["en"] == pytest.approx(1 - wer["errors"] / wer["reference_length"])
