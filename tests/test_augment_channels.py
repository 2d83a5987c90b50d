"""Domain-randomisation stages of a channel: gain, EQ, narrowband, mu-law, random speed."""

from __future__ import annotations

import math

import pytest
import torch

from speechtl.data.channel import parse_channel
from speechtl.errors import RecipeError
from test_channel import SR, band_power, white


def rms_db(x: torch.Tensor) -> float:
    return 20 * math.log10(float(x.double().pow(2).mean().sqrt()))


def test_gain_changes_the_level_by_its_db_or_within_its_range():
    x = white(0.5)
    assert rms_db(parse_channel("gain:-6")(x, SR, "a")) - rms_db(x) == pytest.approx(-6.0, abs=0.01)
    drawn = [rms_db(parse_channel("gain:-20,0")(x, SR, f"u{i}")) - rms_db(x) for i in range(8)]
    assert all(-20 - 1e-6 <= d <= 1e-6 for d in drawn) and max(drawn) - min(drawn) > 3  # random per utterance


def test_eq_keeps_the_level_and_moves_each_band_within_its_db():
    x = white(1.0)
    moved = []
    for i in range(6):
        y = parse_channel("eq:10")(x, SR, f"u{i}")
        assert y.shape == x.shape and rms_db(y) == pytest.approx(rms_db(x), abs=0.05)
        bands = [(100, 300), (300, 800), (800, 2000), (2000, 4000), (4000, 7800)]
        change = [10 * math.log10(band_power(y, lo, hi) / band_power(x, lo, hi)) for lo, hi in bands]
        # relative to the level-kept output, no band moves by more than the curve's 2 * 10 dB span
        assert max(change) - min(change) <= 20 + 0.5
        moved.append(max(change) - min(change))
    assert max(moved) > 3  # it does change the spectrum


def test_narrowband_removes_everything_above_half_its_rate_and_keeps_the_rest():
    x = white(1.0)
    y = parse_channel("narrowband")(x, SR, "u")
    assert y.shape == x.shape
    assert 10 * math.log10(band_power(y, 4100, 8000) / band_power(x, 4100, 8000)) < -30
    assert abs(10 * math.log10(band_power(y, 200, 3500) / band_power(x, 200, 3500))) < 0.5
    y6 = parse_channel("narrowband:12000")(x, SR, "u")
    assert 10 * math.log10(band_power(y6, 6200, 8000) / band_power(x, 6200, 8000)) < -30


def test_mulaw_quantisation_noise_is_about_35_db_below_any_level():
    t = torch.arange(SR) / SR
    for level in (0.01, 0.5):
        x = level * torch.sin(2 * math.pi * 440 * t)
        noise = parse_channel("mulaw")(x, SR, "k") - x
        snr = rms_db(x) - rms_db(noise)
        assert 25 < snr < 45, level


def test_random_speed_stays_in_its_range_and_varies_per_utterance():
    x = white(1.0)
    lengths = {parse_channel("speed:0.8,1.2")(x, SR, f"u{i}").numel() for i in range(6)}
    assert all(SR / 1.2 - 2 <= n <= SR / 0.8 + 2 for n in lengths) and len(lengths) > 1
    assert parse_channel("speed:0.8,1.2")(x, SR, "u1").numel() == parse_channel("speed:0.8,1.2")(x, SR, "u1").numel()


@pytest.mark.parametrize("spec", ["gain:5,1", "gain:100", "eq:0", "eq:1,2", "narrowband:500", "narrowband:8000.5",
                                  "speed:1.1,0.9", "mulaw:3"])
def test_bad_augmentation_specs_name_the_spec(spec):
    with pytest.raises(RecipeError, match=rf"channel {spec!r}: .*valid stages"):
        parse_channel(spec)
