"""Domain-randomisation stages: babble, SNR ranges, random noise colours, random rooms, ``@P`` shares."""

from __future__ import annotations

import math

import pytest
import torch

from speechtl.data.channel import parse_channel
from speechtl.data.config import DataConfig
from speechtl.errors import RecipeError

SR = 8000


def tone(freq: float, seconds: float = 0.5, amp: float = 0.1) -> torch.Tensor:
    return amp * torch.sin(2 * math.pi * freq * torch.arange(int(seconds * SR)) / SR)


class TonePool:
    """Talkers that are pure tones, so their presence in a mix can be seen in its spectrum."""

    def __init__(self, freqs: list[float]) -> None:
        self.freqs = freqs

    def __len__(self) -> int:
        return len(self.freqs)

    def audio(self, index: int, sample_rate: int) -> torch.Tensor:
        return tone(self.freqs[index], 0.3)  # shorter than the utterance: looped


def snr_db(clean: torch.Tensor, mixed: torch.Tensor) -> float:
    return 10 * math.log10(float(clean.pow(2).sum()) / float((mixed - clean).pow(2).sum()))


def test_babble_mixes_pool_talkers_at_an_snr_in_range_deterministically():
    x = tone(440.0, 1.0)
    ch = parse_channel("babble:5,15,2", seed=3, pool=TonePool([1000.0, 1500.0, 2000.0, 2500.0]))
    snrs = []
    for key in [f"u{i}" for i in range(20)]:
        y = ch(x, SR, key)
        assert y.shape == x.shape
        snrs.append(snr_db(x, y))
        assert 5 - 0.05 <= snrs[-1] <= 15 + 0.05
        assert torch.equal(y, ch(x, SR, key))  # a function of seed and key
    assert max(snrs) - min(snrs) > 3  # drawn per utterance
    spectrum = torch.fft.rfft(ch(x, SR, "u0") - x).abs()
    freqs = torch.fft.rfftfreq(x.shape[-1], 1 / SR)
    loud = {f for f in (1000.0, 1500.0, 2000.0, 2500.0) if spectrum[(freqs - f).abs() < 5].max() > 10 * spectrum.median()}
    assert 1 <= len(loud) <= 2  # 2 talkers drawn (with replacement) from the pool, nothing else
    assert spectrum[(freqs - 440.0).abs() < 5].max() < 10 * spectrum.median()  # the babble holds no copy of x


def test_babble_at_a_fixed_snr_and_without_a_pool():
    x = tone(300.0, 1.0)
    y = parse_channel("babble:10", pool=TonePool([1200.0]))(x, SR, "a")
    assert abs(snr_db(x, y) - 10) < 0.05
    with pytest.raises(RecipeError, match="babble.*no utterances"):
        parse_channel("babble:10")(x, SR, "a")  # parsed (recipe check) without a corpus: fails when run


def test_noise_range_and_any_colour_vary_per_utterance():
    x = tone(500.0, 1.0)
    ch = parse_channel("noise:0,20,any", seed=1)
    snrs = [snr_db(x, ch(x, SR, f"k{i}")) for i in range(30)]
    assert all(-0.05 <= s <= 20.05 for s in snrs) and max(snrs) - min(snrs) > 8
    slopes = set()
    for i in range(30):
        noise = ch(x, SR, f"k{i}") - x
        power = torch.fft.rfft(noise.double()).abs() ** 2
        freqs = torch.fft.rfftfreq(noise.shape[-1], 1 / SR)
        low, high = power[(freqs > 100) & (freqs < 200)].mean(), power[(freqs > 2000) & (freqs < 3000)].mean()
        slopes.add(round(float(10 * torch.log10(low / high)) / 10))  # white ~0, pink ~1.2, brown ~2.5 (x10 dB)
    assert len(slopes) >= 2  # more than one colour drawn
    assert abs(snr_db(x, parse_channel("noise:12,pink")(x, SR, "k")) - 12) < 0.05  # the old form still works


def test_room_draws_a_reverberant_room_per_utterance_and_keeps_the_level():
    x = torch.zeros(SR)
    x[100] = 1.0  # an impulse: the output is the room's response
    ch = parse_channel("room:0.2,0.8,0,5")
    tails = []
    for key in ("a", "b", "c", "d"):
        y = ch(x, SR, key)
        assert abs(float(y.pow(2).mean()) - float(x.pow(2).mean())) < 1e-6  # RMS kept
        late = float(y[100 + int(0.05 * SR):].pow(2).sum() / y.pow(2).sum())
        assert 0.05 < late < 0.8  # energy after 50 ms: reverberant, the direct path not lost
        tails.append(late)
    assert max(tails) - min(tails) > 0.02  # different rooms


def test_share_applies_a_stage_to_about_that_share_of_utterances():
    x = tone(440.0, 0.2)
    ch = parse_channel("gain:-6@0.3")
    changed = sum(not torch.equal(ch(x, SR, f"u{i}"), x) for i in range(400))
    assert 90 <= changed <= 150  # 30% of 400 = 120


@pytest.mark.parametrize("spec, stage", [
    ("babble:5,x", "babble"), ("babble:5,10,0", "babble"), ("babble:30,10", "babble"), ("babble:5,10,3,1", "babble"),
    ("room:0.5", "room"), ("room:0.2,0.5,3", "room"), ("room:0.8,0.2", "room"), ("noise:10,purple", "purple"),
    ("noise:10,20,30", "noise"), ("eq:10@1.5", "eq"), ("eq:10@often", "eq"),
])
def test_bad_randomisation_specs_name_the_stage(spec, stage):
    with pytest.raises(RecipeError, match=stage) as err:
        parse_channel(spec)
    assert spec in str(err.value)


def test_babble_needs_stored_features():
    with pytest.raises(RecipeError, match=r"data.augment\[1\].*stored"):
        DataConfig(feature_storage="on_the_fly", augment=["eq:10", "babble:10,20"]).validate()
    DataConfig(feature_storage="stored", augment=["eq:10", "babble:10,20"]).validate()
