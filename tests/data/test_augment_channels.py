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
                                  "speed:1.1,0.9", "mulaw:3", "crop:0", "crop:50,0", "pad:-5"])
def test_bad_augmentation_specs_name_the_spec(spec):
    with pytest.raises(RecipeError, match=rf"channel {spec!r}: .*valid stages"):
        parse_channel(spec)


def test_crop_cuts_each_end_within_its_range_and_keeps_the_minimum():
    x = torch.arange(SR, dtype=torch.float32)  # 1 s; sample values are their positions
    for i in range(6):
        y = parse_channel("crop:200")(x, SR, f"u{i}")
        start, end = int(y[0]), int(y[-1])
        assert 0 <= start <= 0.2 * SR and SR - 1 - 0.2 * SR <= end <= SR - 1
        assert torch.equal(y, x[start:end + 1])  # a contiguous piece
    short = parse_channel("crop:1000,300")(x[: SR // 2], SR, "k")
    assert short.numel() >= 0.3 * SR - 1


def test_pad_adds_quiet_noise_within_its_range_around_the_untouched_audio():
    x = white(0.5)
    lengths = set()
    for i in range(6):
        y = parse_channel("pad:100")(x, SR, f"u{i}")
        extra = y.numel() - x.numel()
        assert 0 <= extra <= 2 * 0.1 * SR
        start = next(k for k in range(extra + 1) if torch.equal(y[k:k + x.numel()], x))
        quiet = torch.cat([y[:start], y[start + x.numel():]])
        if quiet.numel() > 100:
            assert rms_db(quiet) - rms_db(x) == pytest.approx(-60, abs=3)
        lengths.add(extra)
    assert len(lengths) > 1
