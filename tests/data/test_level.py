"""Per-recording level normalisation (features.level_dbfs): gain-invariant, safe on silence, off by default."""

import dataclasses

import pytest
import torch

from speechtl.config import from_dict, to_dict
from speechtl.data.config import FeatureConfig
from speechtl.data.features import compute_features, fbank
from speechtl.data.level import LEVEL_FLOOR_DBFS, corpus_level_dbfs, normalise_level, speech_level_dbfs, with_level
from speechtl.data.packing import fbank_packed
from speechtl.errors import SpeechtlError

RATE = 16000


def _speech_like(seconds: float = 1.0, seed: int = 0) -> torch.Tensor:
    """A 0.3 s silence, a burst of noise at -20 dBFS, then silence: most frames are not the 'speech'."""
    g = torch.Generator().manual_seed(seed)
    n = int(seconds * RATE)
    wave = 1e-4 * torch.randn(n, generator=g)
    burst = slice(int(0.3 * RATE), int(0.6 * RATE))
    wave[burst] += 0.1 * torch.randn(burst.stop - burst.start, generator=g)
    return wave


def test_the_level_reads_the_loud_part_not_the_silence():
    wave = _speech_like()
    assert speech_level_dbfs(wave, RATE) == pytest.approx(-20.0, abs=0.5)  # the burst's RMS, 0.1
    assert speech_level_dbfs(wave * 10 ** (-20 / 20), RATE) == pytest.approx(-40.0, abs=0.5)


def test_a_recording_20_db_quieter_gives_the_same_features_after_the_step():
    cfg = FeatureConfig(level_dbfs=-25.0)
    wave = _speech_like()
    loud, quiet = compute_features(wave, RATE, cfg), compute_features(wave * 0.1, RATE, cfg)
    torch.testing.assert_close(quiet, loud, atol=1e-3, rtol=0)
    off = FeatureConfig()
    assert (compute_features(wave * 0.1, RATE, off) - compute_features(wave, RATE, off)).mean() < -4  # 20 dB = -4.6


def test_silence_does_not_blow_up():
    for wave in (torch.zeros(RATE), 1e-9 * torch.ones(RATE), torch.zeros(100)):
        assert speech_level_dbfs(wave, RATE) == LEVEL_FLOOR_DBFS
        out = normalise_level(wave, RATE, -20.0)
        assert torch.isfinite(out).all()
        assert out.abs().max() <= wave.abs().max() * 10 ** (50 / 20) + 1e-12  # at most target - floor = 50 dB
    assert torch.isfinite(compute_features(torch.zeros(RATE), RATE, FeatureConfig(level_dbfs=-20.0))).all()


def test_off_by_default_leaves_features_bit_identical():
    assert FeatureConfig().level_dbfs is None
    wave = _speech_like()
    plain = compute_features(wave, RATE, FeatureConfig())


    assert torch.equal(plain, fbank(wave, RATE, FeatureConfig()))


def test_packed_features_take_one_gain_per_recording():
    cfg = FeatureConfig(level_dbfs=-25.0)
    waves = [_speech_like(seed=1), 0.01 * _speech_like(0.7, seed=2)]
    packed = fbank_packed(waves, RATE, cfg)
    for got, wave in zip(packed, waves):
        torch.testing.assert_close(got, compute_features(wave, RATE, cfg), atol=1e-3, rtol=0)


def test_the_target_is_stored_with_the_features_and_bad_values_name_the_key():
    cfg = from_dict(FeatureConfig, {"level_dbfs": -23}, "features")
    assert cfg.level_dbfs == -23.0 and not cfg.streamable
    assert from_dict(FeatureConfig, to_dict(cfg), "features") == cfg
    assert from_dict(FeatureConfig, {}, "features").level_dbfs is None  # older model files: off
    for bad in (5, -200, "loud"):
        with pytest.raises(SpeechtlError, match="features.level_dbfs"):
            from_dict(FeatureConfig, {"level_dbfs": bad}, "features")
        with pytest.raises(SpeechtlError, match="level_dbfs"):
            with_level(FeatureConfig(), bad)
    with pytest.raises(SpeechtlError, match="level_dbfs"):
        with_level(FeatureConfig(), float("nan"))
    assert with_level(FeatureConfig(level_dbfs=-30.0), None).level_dbfs == -30.0
    assert with_level(FeatureConfig(), -18).level_dbfs == -18.0


def test_the_corpus_target_is_the_median_level():
    waves = [_speech_like(seed=s) * 10 ** (g / 20) for s, g in enumerate((0, -10, -30))]
    assert corpus_level_dbfs(waves, RATE) == pytest.approx(-30.0, abs=0.5)
    assert dataclasses.replace(FeatureConfig(), level_dbfs=corpus_level_dbfs(waves, RATE)).level_dbfs < -29
