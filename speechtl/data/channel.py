"""Channel transforms on waveforms: telephone band, band limits, additive noise, reverberation.

A channel is written as a spec string of stages joined by ``+``, each ``name`` or
``name:arg[,arg...]``::

    telephone                 300-3400 Hz band, 8 kHz round trip, 8-bit mu-law
    band:LOW,HIGH             band-limit only (Hz; LOW 0 = low-pass, HIGH >= Nyquist = high-pass)
    noise:SNR_DB[,COLOUR]     generated noise at this SNR; COLOUR white (default) | pink | brown
    reverb:RT60[,DRR_DB]      synthetic room impulse response (RT60 seconds, direct-to-reverberant dB)
    speed:FACTOR[,MAX]        speed perturbation (tempo and pitch by FACTOR, Kaldi's; Lhotse's ``Speed``);
                              with MAX, a factor drawn uniformly from [FACTOR, MAX] per utterance
    gain:DB[,MAX_DB]          level change by DB (or drawn from [DB, MAX_DB] per utterance)
    eq:DB                     a random smooth spectral tilt and EQ per utterance, within +-DB (level kept)
    narrowband[:RATE]         sampled at RATE Hz (default 8000) and back: nothing above RATE / 2
    mulaw                     8-bit mu-law codec (G.711's quantiser) without the telephone band filter
    crop:MS[,MIN_MS]          cut up to MS milliseconds (drawn per end) off the start and the end,
                              keeping at least MIN_MS (default 150): recordings trimmed tightly
    pad:MS                    up to MS milliseconds (drawn per end) of quiet noise, 60 dB below the
                              utterance's level, before and after: recordings with silence around the word

e.g. ``telephone+noise:10``, ``reverb:0.4+noise:15,pink`` or (domain randomisation of
a synthetic source) ``eq:10+speed:0.85,1.15+gain:-20,0``. Stages apply left to
right. A channel defines a domain (``data.channel``, ``data.target.channel``) or a
multi-condition augmentation (``data.augment``). Random parts (noise, impulse
responses) are a function of the channel's seed and the utterance id, so every
utterance gets its own noise and room while reruns are identical.

The transforms themselves are in :mod:`speechtl.data.signal`.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import torch

from speechtl.data.signal import (NOISE_COLOURS, TELEPHONE_RATE, band_limit, coloured_noise, crop, equalise, mix_noise,
                                  mu_law, narrowband, pad, reverberate, synthetic_rir, telephone, uniform)
from speechtl.errors import RecipeError

# --- specs ------------------------------------------------------------------------------------

Stage = Callable[[torch.Tensor, int, torch.Generator], torch.Tensor]


def _floats(args: list[str], spec: str, name: str) -> list[float]:
    try:
        values = [float(a) for a in args]
    except ValueError:
        raise RecipeError(f"channel {spec!r}: stage {name!r} expects numbers, got {','.join(args)!r}; "
                          f"{STAGE_HELP}") from None
    if not all(math.isfinite(v) for v in values):
        raise RecipeError(f"channel {spec!r}: stage {name!r} needs finite numbers; {STAGE_HELP}")
    return values


def _count(args: list[str], lo: int, hi: int, spec: str, name: str) -> None:
    if not lo <= len(args) <= hi:
        want = f"{lo}" if lo == hi else f"{lo} to {hi}"
        raise RecipeError(f"channel {spec!r}: stage {name!r} takes {want} argument(s), got {len(args)}; "
                          f"{STAGE_HELP}")


def _telephone_stage(args: list[str], spec: str) -> Stage:
    _count(args, 0, 0, spec, "telephone")
    return lambda wave, sr, gen: telephone(wave, sr)


def _band_stage(args: list[str], spec: str) -> Stage:
    _count(args, 2, 2, spec, "band")
    low, high = _floats(args, spec, "band")
    if not 0 <= low < high:
        raise RecipeError(f"channel {spec!r}: band:LOW,HIGH needs 0 <= LOW < HIGH (Hz); {STAGE_HELP}")
    return lambda wave, sr, gen: band_limit(wave, sr, low, high)


def _noise_stage(args: list[str], spec: str) -> Stage:
    _count(args, 1, 2, spec, "noise")
    (snr,) = _floats(args[:1], spec, "noise")
    colour = args[1] if len(args) > 1 else "white"
    if colour not in NOISE_COLOURS:
        raise RecipeError(f"channel {spec!r}: unknown noise colour {colour!r}; "
                          f"choose from {', '.join(NOISE_COLOURS)}")
    return lambda wave, sr, gen: mix_noise(wave, coloured_noise(wave.shape[-1], colour, gen), snr)


def _reverb_stage(args: list[str], spec: str) -> Stage:
    _count(args, 1, 2, spec, "reverb")
    values = _floats(args, spec, "reverb")
    rt60, drr = values[0], (values[1] if len(values) > 1 else 3.0)
    if not 0 < rt60 <= 5:
        raise RecipeError(f"channel {spec!r}: reverb RT60 must lie in (0, 5] seconds; {STAGE_HELP}")
    return lambda wave, sr, gen: reverberate(wave, synthetic_rir(rt60, sr, gen, drr))


def _range(args: list[str], spec: str, name: str, lo: float, hi: float, what: str) -> tuple[float, float]:
    """One value or a ``MIN,MAX`` range, each within ``[lo, hi]``."""
    _count(args, 1, 2, spec, name)
    values = _floats(args, spec, name)
    first, last = values[0], values[-1]
    if not lo <= first <= last <= hi:
        raise RecipeError(f"channel {spec!r}: {name} {what} must lie in [{lo:g}, {hi:g}] "
                          f"(a range MIN,MAX needs MIN <= MAX); {STAGE_HELP}")
    return first, last


def _speed_stage(args: list[str], spec: str) -> Stage:
    from lhotse.augmentation import Speed

    lo, hi = _range(args, spec, "speed", 0.5, 2.0, "FACTOR")

    def stage(wave: torch.Tensor, sr: int, gen: torch.Generator) -> torch.Tensor:
        factor = round(uniform(lo, hi, gen), 3) if hi > lo else lo
        return torch.from_numpy(Speed(factor=factor)(wave.numpy()[None], sr)[0].copy())

    return stage


def _gain_stage(args: list[str], spec: str) -> Stage:
    lo, hi = _range(args, spec, "gain", -60.0, 40.0, "DB")
    return lambda wave, sr, gen: wave * 10 ** (uniform(lo, hi, gen) / 20)


def _positive(args: list[str], spec: str, name: str, hi: float, what: str) -> float:
    """The stage's one argument, within ``(0, hi]``."""
    _count(args, 1, 1, spec, name)
    (value,) = _floats(args, spec, name)
    if not 0 < value <= hi:
        raise RecipeError(f"channel {spec!r}: {name} {what} must lie in (0, {hi:g}]; {STAGE_HELP}")
    return value


def _eq_stage(args: list[str], spec: str) -> Stage:
    db = _positive(args, spec, "eq", 40, "DB")
    return lambda wave, sr, gen: equalise(wave, sr, db, gen)


def _narrowband_stage(args: list[str], spec: str) -> Stage:
    _count(args, 0, 1, spec, "narrowband")
    rate = _floats(args, spec, "narrowband")[0] if args else float(TELEPHONE_RATE)
    if not 1000 <= rate <= 96000 or rate != int(rate):
        raise RecipeError(f"channel {spec!r}: narrowband RATE must be a whole number of Hz in [1000, 96000]; "
                          f"{STAGE_HELP}")
    return lambda wave, sr, gen: narrowband(wave, sr, int(rate))


def _crop_stage(args: list[str], spec: str) -> Stage:
    _count(args, 1, 2, spec, "crop")
    values = _floats(args, spec, "crop")
    max_ms, min_ms = values[0], (values[1] if len(values) > 1 else 150.0)
    if not (0 < max_ms <= 10000 and 0 < min_ms <= 10000):
        raise RecipeError(f"channel {spec!r}: crop MS and MIN_MS must lie in (0, 10000]; {STAGE_HELP}")
    return lambda wave, sr, gen: crop(wave, sr, max_ms, min_ms, gen)


def _pad_stage(args: list[str], spec: str) -> Stage:
    max_ms = _positive(args, spec, "pad", 10000, "MS")
    return lambda wave, sr, gen: pad(wave, sr, max_ms, gen)


def _mulaw_stage(args: list[str], spec: str) -> Stage:
    _count(args, 0, 0, spec, "mulaw")
    return lambda wave, sr, gen: mu_law(wave)


STAGES: dict[str, Callable[[list[str], str], Stage]] = {
    "telephone": _telephone_stage,
    "band": _band_stage,
    "noise": _noise_stage,
    "reverb": _reverb_stage,
    "speed": _speed_stage,
    "gain": _gain_stage,
    "eq": _eq_stage,
    "narrowband": _narrowband_stage,
    "mulaw": _mulaw_stage,
    "crop": _crop_stage,
    "pad": _pad_stage,
}
STAGE_HELP = ("valid stages: telephone, band:LOW,HIGH, noise:SNR_DB[,white|pink|brown], "
              "reverb:RT60[,DRR_DB], speed:FACTOR[,MAX], gain:DB[,MAX_DB], eq:DB, narrowband[:RATE], mulaw, "
              "crop:MS[,MIN_MS], pad:MS, joined by '+'")


@dataclass
class Channel:
    """A parsed channel spec: call it as ``channel(wave (samples,), sample_rate, key) -> (samples,)``.

    Attributes:
        spec: the spec it was parsed from.
        seed: with each utterance's ``key``, seeds the random stages.
    """

    spec: str
    seed: int
    stages: list[tuple[str, Stage]]

    def __call__(self, wave: torch.Tensor, sample_rate: int, key: str) -> torch.Tensor:
        out = wave
        for i, (name, stage) in enumerate(self.stages):
            gen = torch.Generator().manual_seed(_stage_seed(self.seed, key, i, name))
            out = stage(out, sample_rate, gen)
        return out

    def __str__(self) -> str:
        return self.spec


def _stage_seed(seed: int, key: str, index: int, name: str) -> int:
    return (seed * 1_000_003 + zlib.crc32(f"{key}\0{index}\0{name}".encode())) % (2**63 - 1)


def parse_channel(spec: str, seed: int = 0) -> Channel | None:
    """Parse a channel spec (see the module docstring); ``""`` means no channel.

    Raises:
        RecipeError: an unknown stage or bad arguments, naming the spec and listing the valid stages.
    """
    spec = spec.strip()
    if not spec:
        return None
    stages = []
    for part in spec.split("+"):
        name, _, rest = part.strip().partition(":")
        name = name.strip()
        if name not in STAGES:
            raise RecipeError(f"channel {spec!r}: unknown stage {name!r}; {STAGE_HELP}")
        args = [a.strip() for a in rest.split(",")] if rest.strip() else []
        stages.append((name, STAGES[name](args, spec)))
    return Channel(spec, seed, stages)
