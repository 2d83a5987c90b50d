"""The bandwidth-aware front end: mel filters capped at ``features.bandwidth``."""

import math

import pytest
import torch

from speechtl.data import features as features_module
from speechtl.data.audio import resample, save_audio
from speechtl.data.config import FeatureConfig
from speechtl.data.features import check_bandwidth, fbank
from speechtl.errors import RecipeError

NARROW = FeatureConfig(sample_rate=16000, bandwidth=3800)  # 8 kHz audio fills this band
FULL = FeatureConfig(sample_rate=16000)  # up to 8 kHz


def _speechlike(rate: int, seconds: float = 0.6) -> torch.Tensor:
    """Harmonics of a gliding 120-180 Hz pitch up to 3.5 kHz, plus a little noise (all inside 3.8 kHz)."""
    t = torch.arange(int(rate * seconds)) / rate
    f0 = 120 + 60 * t / seconds
    phase = 2 * math.pi * torch.cumsum(f0, 0) / rate
    wave = sum(math.exp(-k / 8) * torch.sin(k * phase) for k in range(1, 20))
    noise = torch.randn(t.numel(), generator=torch.Generator().manual_seed(0))
    noise = resample(resample(noise, rate, 7000), 7000, rate)  # nothing above 3.5 kHz
    return 0.05 * wave / wave.abs().max() + 0.002 * noise


def test_a_tone_above_the_bandwidth_leaves_the_features_unchanged():
    speech = _speechlike(16000)
    tone = 0.05 * torch.sin(2 * math.pi * 6000 * torch.arange(speech.numel()) / 16000)
    capped = (fbank(speech + tone, 16000, NARROW) - fbank(speech, 16000, NARROW)).abs()
    full = (fbank(speech + tone, 16000, FULL) - fbank(speech, 16000, FULL)).abs()
    assert capped.mean() < 0.01 and capped.quantile(0.99) < 0.1  # window leakage only
    assert full.mean() > 1.0  # without the cap the tone shows (the test can fail)


def test_8khz_and_16khz_versions_of_the_same_audio_give_close_features():
    wide = _speechlike(16000)
    narrow = resample(wide, 16000, 8000)  # what a telephone-rate recording of it holds
    a, b = fbank(wide, 16000, NARROW), fbank(resample(narrow, 8000, 16000), 16000, NARROW)
    assert a.shape == b.shape
    assert (a - b).abs().mean() < 0.1
    full_gap = (fbank(wide, 16000, FULL) - fbank(resample(narrow, 8000, 16000), 16000, FULL)).abs().mean()
    assert full_gap > 10 * (a - b).abs().mean()  # the top bins differ without the cap


def test_bandwidth_is_validated_against_the_feature_rate():
    FeatureConfig(sample_rate=8000, bandwidth=4000).validate()
    for bad in (4001, 50):
        with pytest.raises(RecipeError, match=r"features.bandwidth: .* half of features.sample_rate \(4000 Hz\)"):
            FeatureConfig(sample_rate=8000, bandwidth=bad).validate()
    assert FeatureConfig(sample_rate=8000).top_frequency == 4000
    assert NARROW.top_frequency == 3800


def test_audio_too_narrow_for_the_band_is_warned_about_naming_file_and_rates(caplog, monkeypatch):
    monkeypatch.setattr(features_module, "_WARNED_RATES", set())
    with caplog.at_level("WARNING"):
        assert check_bandwidth("low.wav", 8000, NARROW)  # 4 kHz of audio serves 3.8 kHz
        assert not caplog.text
        assert not check_bandwidth("a/phone.wav", 4000, NARROW)
        assert not check_bandwidth("a/other.wav", 4000, NARROW)  # same rate: not named again
    assert "a/phone.wav: recorded at 4000 Hz" in caplog.text and "reach 3800 Hz" in caplog.text
    assert "other.wav" not in caplog.text and caplog.text.count("recorded at") == 1


def test_corpus_audio_too_narrow_for_a_wideband_model_is_warned_about(tmp_path, caplog, monkeypatch):
    from lhotse import CutSet, Recording, RecordingSet, SupervisionSegment, SupervisionSet

    from speechtl.data.dataset import load_utterances

    monkeypatch.setattr(features_module, "_WARNED_RATES", set())
    path = tmp_path / "eight-k.wav"
    save_audio(path, _speechlike(8000).numpy(), 8000)
    rec = Recording.from_file(path, recording_id="u1")
    cuts = CutSet.from_manifests(recordings=RecordingSet.from_recordings([rec]), supervisions=SupervisionSet.from_segments(
        [SupervisionSegment("u1", "u1", 0.0, rec.duration, language="en", text="x")]))
    with caplog.at_level("WARNING"):
        load_utterances(cuts, FeatureConfig(sample_rate=16000, bandwidth=3800))
        assert "recorded at" not in caplog.text
        utts, _ = load_utterances(cuts, FULL)
    assert len(utts) == 1 and "eight-k.wav: recorded at 8000 Hz" in caplog.text and "reach 8000 Hz" in caplog.text
