"""Per-speaker CMVN (``features.cmvn: speaker``): each speaker's recordings normalised by their own statistics."""

import dataclasses

import pytest
import soundfile as sf
import torch

from speechtl.data.config import CorpusPart, DataConfig, FeatureConfig
from speechtl.data.corpora import prepare_corpus
from speechtl.data.dataset import CutBatches, load_utterances
from speechtl.data.cmvn import FeatureStats, PassThrough, normalise, own_stats, speaker_cmvn
from speechtl.data.features import compute_features
from speechtl.decoding.recognizer import Recognizer
from speechtl.errors import RecipeError
from speechtl.models.io import load_model
from speechtl.tasks.speech.data import training_manifest
from speechtl.text.inventory import Inventory
from speechtl.workflows.train import train

SPEAKER = FeatureConfig(cmvn="speaker")


def _tone_words(seed: int, n: int = 3) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(4000) / 16000
    return [torch.sin(2 * torch.pi * float(f) * t) * 0.3 + 0.01 * torch.randn(4000, generator=g)
            for f in torch.randint(200, 2000, (n,), generator=g)]


def test_a_speakers_microphone_gain_is_removed_and_each_speaker_is_zero_mean_unit_variance():
    """The same words from a loud and a quiet microphone (20 dB apart) normalise to the same features."""
    words = _tone_words(0)
    loud = [compute_features(w, 16000, SPEAKER) for w in words]
    quiet = [compute_features(w * 0.1, 16000, SPEAKER) for w in words]
    out = speaker_cmvn(loud + quiet, ["loud"] * 3 + ["quiet"] * 3, SPEAKER)
    for a, b in zip(out[:3], out[3:]):
        torch.testing.assert_close(a, b, atol=2e-3, rtol=0)
    frames = torch.cat(out[:3])
    assert frames.mean(0).abs().max() < 1e-4
    assert (frames.std(0) - 1).abs().max() < 1e-3
    # the words keep their differences (per utterance, each word would be flattened to its own mean)
    assert (out[0].mean(0) - out[1].mean(0)).abs().max() > 0.1


def test_no_known_speaker_is_its_own_speaker_and_other_modes_leave_features_alone():
    words = [compute_features(w, 16000, SPEAKER) for w in _tone_words(1)]
    out = speaker_cmvn(words, ["", "", "x"], SPEAKER)
    torch.testing.assert_close(out[0], normalise(words[0], own_stats(words[0])))
    torch.testing.assert_close(out[2], normalise(words[2], own_stats(words[2])))  # x has one recording
    assert speaker_cmvn(words, ["a", "a", "a"], FeatureConfig(cmvn="global")) is words
    given = FeatureStats(words[0].shape[1])
    given.add(words[1])
    torch.testing.assert_close(speaker_cmvn(words[:1], ["a"], SPEAKER, {"a": given})[0], normalise(words[0], given))


def test_speaker_cmvn_is_for_filterbanks_and_does_not_stream():
    assert not SPEAKER.streamable
    with pytest.raises(RecipeError, match="features.cmvn: speaker is for filterbanks"):
        FeatureConfig(kind="waveform", cmvn="speaker").validate()


def test_evaluation_splits_are_normalised_per_speaker(fake_fsdd, tmp_path):
    data = DataConfig(corpus="fsdd", root=str(tmp_path / "prepared"), languages=["en"],
                      parts=[CorpusPart(str(fake_fsdd), "test")])
    cuts = prepare_corpus(data, progress=False)["test"]
    utts, _ = load_utterances(cuts, SPEAKER)
    raw, _ = load_utterances(cuts, FeatureConfig(cmvn="none"))
    assert {u.speaker for u in utts} == {"ann", "bob", "cy"}
    for speaker in ("ann", "bob", "cy"):
        frames = torch.cat([u.feats for u in utts if u.speaker == speaker])
        assert frames.mean(0).abs().max() < 1e-3 and (frames.std(0) - 1).abs().max() < 1e-2
        stats = FeatureStats(frames.shape[1])
        for u in raw:
            if u.speaker == speaker:
                stats.add(u.feats)
        first = next(i for i, u in enumerate(raw) if u.speaker == speaker)
        torch.testing.assert_close(utts[first].feats, normalise(raw[first].feats, stats))


@pytest.fixture(scope="module")
def speaker_run(tiny_corpus, tmp_path_factory):
    """``(recipe, experiment)``: 6 steps of a per-speaker CMVN model, with a copy of the data 20 dB quieter."""
    from conftest import tiny_recipe_for

    recipe = tiny_recipe_for(tiny_corpus, tmp_path_factory.mktemp("speaker-cmvn"))
    recipe.features = dataclasses.replace(recipe.features, cmvn="speaker")
    recipe.data = dataclasses.replace(recipe.data, augment=["gain:-20"])
    recipe.train.max_steps = 6
    return recipe, train(recipe, progress=False)


def test_training_batches_use_each_parts_speaker_statistics_and_the_model_reads_them_as_they_are(speaker_run):
    """The manifest gathers statistics per part and speaker (an augmented copy is a speaker of its own);
    batches are normalised with them; the recogniser normalises a recording by itself."""
    recipe, exp = speaker_run
    cuts = training_manifest(recipe, exp / "check")
    groups = set(cuts.speaker_stats)
    speakers = {c.supervisions[0].speaker for c in cuts.cuts()}
    assert groups == {f"{part}/{s}" for part in ("train", "train+aug0") for s in speakers}
    quiet, clean = cuts.speaker_stats[f"train+aug0/{min(speakers)}"], cuts.speaker_stats[f"train/{min(speakers)}"]
    assert abs(float((clean.mean - quiet.mean).mean()) - 4.6) < 0.2  # 20 dB quieter: ln(10^2) lower log-mel energy
    inventories = {lang: Inventory(symbols) for lang, symbols in cuts.symbols.items()}
    sample = [c for c, _ in zip(cuts.cuts(), range(4))]
    batch = CutBatches(inventories, recipe.features, speaker_stats=cuts.speaker_stats)[sample]
    for i, cut in enumerate(sample):
        raw = torch.from_numpy(cut.features.load())
        torch.testing.assert_close(batch.feats[i, : raw.shape[0]],
                                   normalise(raw, cuts.speaker_stats[cut.custom["speaker_group"]]))
    model = load_model(exp / "model")
    assert isinstance(model.frontend.normalizer, PassThrough)
    wave = _tone_words(2, 1)[0]
    got = Recognizer(model)._log_probs(wave, model.languages[0])
    torch.testing.assert_close(got, _log_probs(model, wave, recipe.features))


def _log_probs(model, wave, features, stats=None):
    feats = compute_features(wave, 16000, features)
    hidden, lengths = model(normalise(feats, stats or own_stats(feats))[None], torch.tensor([feats.shape[0]]))
    return model.log_probs(hidden, model.languages[0])[0, : int(lengths[0])]


def test_adapted_recogniser_normalises_by_the_joint_statistics_of_one_speakers_recordings(speaker_run, tmp_path):
    recipe, exp = speaker_run
    model = load_model(exp / "model")
    waves = _tone_words(3, 2)
    paths = []
    for i, wave in enumerate(waves):
        paths.append(tmp_path / f"{i}.wav")
        sf.write(paths[-1], wave.numpy(), 16000, subtype="FLOAT")
    (tmp_path / "bad.wav").write_bytes(b"RIFF")
    rec = Recognizer(model)
    errors = rec.adapt([*paths, tmp_path / "bad.wav"])
    assert len(errors) == 1 and "bad.wav" in str(errors[0])
    joint = FeatureStats(recipe.features.dim)
    for wave in waves:
        joint.add(compute_features(wave, 16000, recipe.features))
    assert rec.speaker_stats.count == joint.count
    torch.testing.assert_close(rec._log_probs(waves[0], model.languages[0]),
                               _log_probs(model, waves[0], recipe.features, joint))
    assert not torch.allclose(rec._log_probs(waves[0], model.languages[0]), _log_probs(model, waves[0], recipe.features))


def test_decode_one_speaker_flag(speaker_run, tdnn_en_model, tmp_path, capsys):
    from speechtl.cli import main

    _, exp = speaker_run
    paths = []
    for i, wave in enumerate(_tone_words(4, 2)):
        paths.append(str(tmp_path / f"{i}.wav"))
        sf.write(paths[-1], wave.numpy(), 16000, subtype="FLOAT")
    assert main(["decode", "--model", str(exp / "model"), "--lang", "en", "--greedy", "--one-speaker", *paths]) == 0
    assert "normalised as one speaker by the statistics of 2 recordings" in capsys.readouterr().err
    assert main(["decode", "--model", str(tdnn_en_model), "--greedy", "--one-speaker", *paths]) == 0
    assert "--one-speaker changes nothing: the model normalises with features.cmvn: global" in capsys.readouterr().err


def test_no_normalisation_runs_through_the_model(tiny_recipe):
    """``cmvn: none`` gives a front end that passes (features, lengths) through (it once raised a TypeError)."""
    recipe = dataclasses.replace(tiny_recipe, features=dataclasses.replace(tiny_recipe.features, cmvn="none"))
    exp = train(dataclasses.replace(recipe, train=dataclasses.replace(recipe.train, max_steps=2)), progress=False)
    assert isinstance(load_model(exp / "model").frontend.normalizer, PassThrough)
