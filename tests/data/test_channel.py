"""Channel transforms: band limits, SNR, reverberation time, determinism, spec errors."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from speechtl.data.channel import parse_channel
from speechtl.data.signal import coloured_noise, synthetic_rir
from speechtl.errors import RecipeError
from speechtl.tasks.speech.recipe import Recipe

SR = 16000


def white(seconds: float = 2.0, seed: int = 0) -> torch.Tensor:
    return 0.1 * torch.randn(int(seconds * SR), generator=torch.Generator().manual_seed(seed))


def band_power(wave: torch.Tensor, lo: float, hi: float) -> float:
    power = torch.fft.rfft(wave.double()).abs() ** 2
    freqs = torch.fft.rfftfreq(wave.shape[-1], 1 / SR)
    return float(power[(freqs >= lo) & (freqs < hi)].mean())


def band_db(wave: torch.Tensor, lo: float, hi: float, ref: tuple[float, float] = (300, 3400)) -> float:
    """Mean power per FFT bin in [lo, hi) relative to the mean power per bin in the ``ref`` band, in dB."""
    return 10 * math.log10(band_power(wave, lo, hi) / band_power(wave, *ref))


def test_telephone_keeps_the_voice_band_and_removes_the_rest():
    x = white()
    y = parse_channel("telephone")(x, SR, "utt1")
    assert y.shape == x.shape
    assert band_db(y, 500, 3000) > -3  # the voice band passes
    assert band_db(y, 0, 150) < -30  # below the band
    assert band_db(y, 4000, 8000) < -30  # above 4 kHz nothing survives the 8 kHz round trip
    assert band_db(x, 4000, 8000) > -3  # (the input had it)


def test_telephone_mu_law_quantises_quiet_and_loud_samples_alike():
    # 8-bit mu-law keeps a roughly constant signal-to-quantisation-noise ratio (~35 dB) at any level
    # (the noise is what a least-squares 1 kHz sinusoid leaves: the band filters shift its phase)
    t = torch.arange(SR, dtype=torch.float64) / SR
    basis = torch.stack([torch.sin(2 * math.pi * 1000 * t), torch.cos(2 * math.pi * 1000 * t)], 1)
    for level in (0.01, 0.5):
        y = parse_channel("telephone")((level * basis[:, 0]).float(), SR, "k").double()
        mid = slice(SR // 10, -SR // 10)
        fit = basis[mid] @ torch.linalg.lstsq(basis[mid], y[mid].unsqueeze(1)).solution
        noise = y[mid] - fit.squeeze(1)
        snr = 10 * math.log10(float(fit.pow(2).sum() / noise.pow(2).sum()))
        assert 25 < snr < 50, level


def test_band_limits_a_given_band():
    x = white()
    y = parse_channel("band:1000,2000")(x, SR, "u")
    assert abs(10 * math.log10(band_power(y, 1200, 1800) / band_power(x, 1200, 1800))) < 1.0
    assert band_db(y, 0, 400, ref=(1200, 1800)) < -40
    assert band_db(y, 5000, 8000, ref=(1200, 1800)) < -40
    assert band_db(x, 0, 400, ref=(1200, 1800)) > -3


@pytest.mark.parametrize("spec,snr", [("noise:10", 10.0), ("noise:0,pink", 0.0), ("noise:25,brown", 25.0),
                                      ("noise:-5,white", -5.0)])
def test_noise_reaches_the_asked_snr(spec, snr):
    speechlike = white() * torch.sin(2 * math.pi * 3 * torch.arange(2 * SR) / SR).abs()
    y = parse_channel(spec)(speechlike, SR, "utt")
    noise = y - speechlike
    measured = 10 * math.log10(float(speechlike.pow(2).sum() / noise.pow(2).sum()))
    assert abs(measured - snr) < 0.5


def test_noise_colours_have_their_spectral_slopes():
    gen = torch.Generator().manual_seed(0)
    for colour, slope_db in (("white", 0.0), ("pink", -3.0), ("brown", -6.0)):  # dB per octave
        n = coloured_noise(4 * SR, colour, gen)
        octave = band_db(n, 2000, 4000, ref=(1000, 2000))
        assert abs(octave - slope_db) < 1.0, colour


def schroeder_rt60(rir: torch.Tensor, sample_rate: int) -> float:
    """RT60 from the -5..-25 dB slope of the backward-integrated energy (Schroeder 1965)."""
    energy = rir.double().pow(2).flip(0).cumsum(0).flip(0)
    db = 10 * torch.log10(energy / energy[0])
    t5 = int((db < -5).nonzero()[0])
    t25 = int((db < -25).nonzero()[0])
    return 3 * (t25 - t5) / sample_rate


@pytest.mark.parametrize("rt60", [0.3, 0.8])
def test_synthetic_rir_decays_in_its_rt60(rt60):
    rir = synthetic_rir(rt60, SR, torch.Generator().manual_seed(1), drr_db=-10)
    assert rir[0] == 1.0
    assert schroeder_rt60(rir, SR) == pytest.approx(rt60, rel=0.15)


def test_reverb_lengthens_the_energy_decay():
    burst = torch.zeros(SR)
    burst[: SR // 5] = white(0.2)
    y = parse_channel("reverb:0.5")(burst, SR, "u")
    tail = slice(SR // 5 + SR // 20, SR // 5 + SR // 5)  # 50-200 ms after the burst ends
    assert float(burst[tail].abs().max()) == 0.0
    tail_db = 10 * math.log10(float(y[tail].pow(2).mean() / y[: SR // 5].pow(2).mean()))
    assert -40 < tail_db < -5  # decaying, not gone
    longer = parse_channel("reverb:1.0")(burst, SR, "u")
    assert float(longer[tail].pow(2).mean()) > float(y[tail].pow(2).mean())


def test_channels_are_deterministic_per_key_and_differ_between_keys():
    x = white()
    ch = parse_channel("reverb:0.3+telephone+noise:10,pink", seed=3)
    assert torch.equal(ch(x, SR, "a"), parse_channel("reverb:0.3+telephone+noise:10,pink", seed=3)(x, SR, "a"))
    assert not torch.allclose(ch(x, SR, "a"), ch(x, SR, "b"))
    assert not torch.allclose(ch(x, SR, "a"), parse_channel(ch.spec, seed=4)(x, SR, "a"))


def test_empty_spec_is_no_channel():
    assert parse_channel("") is None
    assert parse_channel("  ") is None


@pytest.mark.parametrize("spec", ["phone", "noise", "noise:ten", "noise:10,purple", "band:3400,300",
                                  "telephone:8000", "reverb:0", "reverb:0.4+", "band:300"])
def test_bad_specs_name_the_spec_and_the_valid_stages(spec):
    with pytest.raises(RecipeError) as err:
        parse_channel(spec)
    assert repr(spec) in str(err.value)
    if "purple" not in spec:
        assert "telephone" in str(err.value) and "reverb" in str(err.value)


def test_recipe_channel_keys_are_checked():
    recipe = Recipe.from_dict({"data": {"channel": "telephone+noise:10", "augment": ["reverb:0.4"],
                                        "target": {"channel": "noise:5,pink", "test_split": "dev"}}})
    assert recipe.data.augment == ["reverb:0.4"] and recipe.data.target.test_split == "dev"
    for data, key in [({"channel": "radio"}, "data.channel"), ({"augment": ["noise:x"]}, "data.augment[0]"),
                      ({"augment": [""]}, "data.augment[0]"), ({"target": {"channel": "band:1"}},
                                                               "data.target.channel")]:
        with pytest.raises(RecipeError, match=key.replace("[", r"\[").replace("]", r"\]")):
            Recipe.from_dict({"data": data})
    with pytest.raises(RecipeError, match="data.augment"):
        Recipe.from_dict({"data": {"augment": "telephone"}})  # a list, not a string


def test_channels_reach_the_features_and_augment_adds_copies(tiny_corpus):
    from speechtl.data.dataset import load_utterances
    from speechtl.data.synth import load_synthetic
    from speechtl.tasks.speech.data import augmented_copies, load_split

    recipe = Recipe(data=dataclasses.replace(tiny_corpus, languages=["en"]))
    clean = load_split(recipe, "dev")
    phone = load_split(dataclasses.replace(recipe, data=dataclasses.replace(recipe.data, channel="telephone")), "dev")
    assert [u.id for u in clean] == [u.id for u in phone]
    assert all(c.feats.shape == p.feats.shape and not torch.allclose(c.feats, p.feats) for c, p in zip(clean, phone))
    seen = []
    utts, _ = load_utterances(load_synthetic(recipe.data, "dev"), recipe.features,
                              transform=lambda wave, sr, key: seen.append(key) or wave)
    assert seen == [u.id for u in utts] and all(torch.equal(u.feats, c.feats) for u, c in zip(utts, clean))
    recipe.data.augment = ["noise:5", "reverb:0.5"]
    copies = augmented_copies(recipe, {"train": load_synthetic(recipe.data, "train")})
    train_ids = [u.id for u in load_split(recipe, "train")]
    assert [u.id for u in copies] == [i + "+aug0" for i in train_ids] + [i + "+aug1" for i in train_ids]


def test_speed_perturbation_scales_duration_and_pitch():
    """speed:1.25 (Lhotse's Speed): the audio lasts 1/1.25 as long and a 400 Hz tone becomes 500 Hz."""
    rate = 16000
    t = torch.arange(rate, dtype=torch.float32) / rate
    tone = 0.5 * torch.sin(2 * math.pi * 400 * t)
    out = parse_channel("speed:1.25")(tone, rate, "u1")
    assert abs(out.numel() - rate / 1.25) <= 2
    spectrum = torch.fft.rfft(out).abs()
    assert abs(float(spectrum.argmax()) * rate / out.numel() - 500) < 5
    with pytest.raises(RecipeError, match="speed FACTOR must lie in"):
        parse_channel("speed:3")
