"""Channel transforms on waveforms: telephone band, band limits, additive noise, reverberation.

A channel is written as a spec string of stages joined by ``+``, each ``name`` or
``name:arg[,arg...]``::

    telephone                 300-3400 Hz band, 8 kHz round trip, 8-bit mu-law
    band:LOW,HIGH             band-limit only (Hz; LOW 0 = low-pass, HIGH >= Nyquist = high-pass)
    noise:SNR_DB[,MAX_DB][,COLOUR]
                              generated noise at this SNR (or one drawn from [SNR_DB, MAX_DB] per
                              utterance); COLOUR white (default) | pink | brown | any (one of the
                              three drawn per utterance)
    babble:SNR_DB[,MAX_DB[,TALKERS]]
                              other utterances of the same corpus (TALKERS of them, default 3, drawn
                              per utterance) mixed in at this SNR (or one drawn from the range)
    reverb:RT60[,DRR_DB]      synthetic room impulse response (RT60 seconds, direct-to-reverberant dB)
    room:RT60,MAX_RT60[,DRR_DB,MAX_DRR_DB]
                              a room drawn per utterance: RT60 from [RT60, MAX_RT60] seconds and the
                              direct-to-reverberant ratio from [DRR_DB, MAX_DRR_DB] (default 0 to 10 dB)
    speed:FACTOR[,MAX]        speed perturbation (tempo and pitch by FACTOR, Kaldi's; Lhotse's ``Speed``);
                              with MAX, a factor drawn uniformly from [FACTOR, MAX] per utterance
    gain:DB[,MAX_DB]          level change by DB (or drawn from [DB, MAX_DB] per utterance)
    eq:DB                     a random smooth spectral tilt and EQ per utterance, within +-DB (level kept)
    narrowband[:RATE]         sampled at RATE Hz (default 8000) and back: nothing above RATE / 2
    mulaw                     8-bit mu-law codec (G.711's quantiser) without the telephone band filter
    crop:MS[,MIN_MS]          cut up to MS milliseconds (drawn per end) off the start and the end,
                              keeping at least MIN_MS (default 150): recordings trimmed tightly
    pitch:SEMITONES[,MAX]     pitch and formants moved by SEMITONES (or a shift drawn from [SEMITONES, MAX]
                              per utterance), length kept (librosa.effects.pitch_shift)
    vtlp:ALPHA[,MAX]          vocal-tract-length warp: the spectral envelope (formants) scaled in frequency
                              by ALPHA (or one drawn from [ALPHA, MAX]), pitch and length kept
    pad:MS                    up to MS milliseconds (drawn per end) of quiet noise, 60 dB below the
                              utterance's level, before and after: recordings with silence around the word

Any stage may end in ``@P``: it then applies to a share P of the utterances
(drawn per utterance), so one channel spans many conditions, clean ones included.

e.g. ``telephone+noise:10``, ``reverb:0.4+noise:15,pink`` or (domain randomisation of
a synthetic source) ``eq:10+speed:0.85,1.15+room:0.1,0.6@0.5+babble:5,25@0.3``. Stages apply left to
right. A channel defines a domain (``data.channel``, ``data.target.channel``) or a
multi-condition augmentation (``data.augment``). Random parts (noise, impulse
responses) are a function of the channel's seed and the utterance id, so every
utterance gets its own noise and room while reruns are identical. Babble needs the
other utterances: the caller passes them as a pool (:class:`AudioPool`) to
:func:`parse_channel`; the talkers are drawn from it by the same seeds.

The transforms themselves are in :mod:`speechtl.data.signal`.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Protocol

import torch

from speechtl.data.signal import (NOISE_COLOURS, TELEPHONE_RATE, babble_noise, band_limit, coloured_noise, crop,
                                  equalise, mix_noise, mu_law, narrowband, pad, pitch_shift, reverberate,
                                  synthetic_rir, telephone, uniform, vocal_tract_warp)
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


class AudioPool(Protocol):
    """Utterances a babble stage mixes in (e.g. :class:`speechtl.data.dataset.CutAudioPool`)."""

    def __len__(self) -> int: ...

    def audio(self, index: int, sample_rate: int) -> torch.Tensor:
        """Utterance ``index``'s ``(samples,)`` waveform at ``sample_rate``."""
        ...


SNR_LIMITS = (-20.0, 100.0)  # dB


def _noise_stage(args: list[str], spec: str) -> Stage:
    _count(args, 1, 3, spec, "noise")
    colour = args.pop() if len(args) > 1 and args[-1] in (*NOISE_COLOURS, "any") else "white"
    if len(args) > 2 or (len(args) == 2 and not _is_number(args[1])):
        raise RecipeError(f"channel {spec!r}: unknown noise colour {args[-1]!r}; "
                          f"choose from {', '.join(NOISE_COLOURS)}, any")
    lo, hi = _range(args, spec, "noise", *SNR_LIMITS, "SNR_DB")

    def stage(wave: torch.Tensor, sr: int, gen: torch.Generator) -> torch.Tensor:
        snr = _drawn(lo, hi, gen)
        kind = NOISE_COLOURS[int(torch.randint(len(NOISE_COLOURS), (1,), generator=gen))] if colour == "any" else colour
        return mix_noise(wave, coloured_noise(wave.shape[-1], kind, gen), snr)

    return stage


def _drawn(lo: float, hi: float, gen: torch.Generator) -> float:
    """``lo`` for a single value (no draw, so a fixed setting uses no randomness), else uniform in ``[lo, hi)``."""
    return uniform(lo, hi, gen) if hi > lo else lo


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _babble_stage(args: list[str], spec: str, pool: AudioPool | None) -> Stage:
    _count(args, 1, 3, spec, "babble")
    lo, hi = _range(args[:2], spec, "babble", *SNR_LIMITS, "SNR_DB")
    talkers = _floats(args[2:], spec, "babble")[0] if len(args) > 2 else 3.0
    if not 1 <= talkers <= 20 or talkers != int(talkers):
        raise RecipeError(f"channel {spec!r}: babble TALKERS must be a whole number in [1, 20]; {STAGE_HELP}")

    def stage(wave: torch.Tensor, sr: int, gen: torch.Generator) -> torch.Tensor:
        if pool is None or not len(pool):
            raise RecipeError(f"channel {spec!r}: stage 'babble' has no utterances to mix here (it needs the "
                              "corpus's other utterances: stored features, data.feature_storage: stored)")
        snr = _drawn(lo, hi, gen)
        picks = torch.randint(len(pool), (int(talkers),), generator=gen).tolist()
        noise = babble_noise([pool.audio(i, sr) for i in picks], wave.shape[-1], gen)
        return mix_noise(wave, noise, snr)

    return stage


def _reverb_stage(args: list[str], spec: str) -> Stage:
    _count(args, 1, 2, spec, "reverb")
    values = _floats(args, spec, "reverb")
    rt60, drr = values[0], (values[1] if len(values) > 1 else 3.0)
    if not 0 < rt60 <= 5:
        raise RecipeError(f"channel {spec!r}: reverb RT60 must lie in (0, 5] seconds; {STAGE_HELP}")
    return lambda wave, sr, gen: reverberate(wave, synthetic_rir(rt60, sr, gen, drr))


def _room_stage(args: list[str], spec: str) -> Stage:
    _count(args, 2, 4, spec, "room")
    if len(args) == 3:
        raise RecipeError(f"channel {spec!r}: room takes RT60,MAX_RT60 and optionally DRR_DB,MAX_DRR_DB; "
                          f"{STAGE_HELP}")
    rt_lo, rt_hi = _range(args[:2], spec, "room", 0.01, 5.0, "RT60 (seconds)")
    drr_lo, drr_hi = _range(args[2:], spec, "room", -20.0, 40.0, "DRR_DB") if len(args) == 4 else (0.0, 10.0)

    def stage(wave: torch.Tensor, sr: int, gen: torch.Generator) -> torch.Tensor:
        rt60, drr = uniform(rt_lo, rt_hi, gen), uniform(drr_lo, drr_hi, gen)
        return reverberate(wave, synthetic_rir(rt60, sr, gen, drr))

    return stage


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


def _pitch_stage(args: list[str], spec: str) -> Stage:
    lo, hi = _range(args, spec, "pitch", -12.0, 12.0, "SEMITONES")
    return lambda wave, sr, gen: pitch_shift(wave, sr, round(uniform(lo, hi, gen), 2) if hi > lo else lo)


def _vtlp_stage(args: list[str], spec: str) -> Stage:
    lo, hi = _range(args, spec, "vtlp", 0.7, 1.4, "ALPHA")
    return lambda wave, sr, gen: vocal_tract_warp(wave, sr, round(uniform(lo, hi, gen), 3) if hi > lo else lo)


def _mulaw_stage(args: list[str], spec: str) -> Stage:
    _count(args, 0, 0, spec, "mulaw")
    return lambda wave, sr, gen: mu_law(wave)


STAGES: dict[str, Callable[[list[str], str], Stage]] = {
    "telephone": _telephone_stage,
    "band": _band_stage,
    "noise": _noise_stage,
    "reverb": _reverb_stage,
    "room": _room_stage,
    "speed": _speed_stage,
    "gain": _gain_stage,
    "eq": _eq_stage,
    "narrowband": _narrowband_stage,
    "mulaw": _mulaw_stage,
    "crop": _crop_stage,
    "pad": _pad_stage,
    "pitch": _pitch_stage,
    "vtlp": _vtlp_stage,
}
STAGE_HELP = ("valid stages: telephone, band:LOW,HIGH, noise:SNR_DB[,MAX_DB][,white|pink|brown|any], "
              "babble:SNR_DB[,MAX_DB[,TALKERS]], reverb:RT60[,DRR_DB], room:RT60,MAX_RT60[,DRR_DB,MAX_DRR_DB], "
              "speed:FACTOR[,MAX], gain:DB[,MAX_DB], eq:DB, narrowband[:RATE], mulaw, crop:MS[,MIN_MS], pad:MS, "
              "pitch:SEMITONES[,MAX], vtlp:ALPHA[,MAX], "
              "each optionally ending in @P (applied to a share P of the utterances), joined by '+'")


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


def _sometimes(stage: Stage, share: float) -> Stage:
    """``stage`` applied to a share ``share`` of the utterances (drawn from the stage's own generator)."""
    return lambda wave, sr, gen: stage(wave, sr, gen) if float(torch.rand(1, generator=gen)) < share else wave


def parse_channel(spec: str, seed: int = 0, pool: AudioPool | None = None) -> Channel | None:
    """Parse a channel spec (see the module docstring); ``""`` means no channel.

    Args:
        pool: the utterances babble stages mix in (None: a babble stage fails when it runs,
            not when it is parsed, so recipes can be checked without their corpus).

    Raises:
        RecipeError: an unknown stage or bad arguments, naming the spec and listing the valid stages.
    """
    spec = spec.strip()
    if not spec:
        return None
    factories = {**STAGES, "babble": partial(_babble_stage, pool=pool)}
    stages = []
    for part in spec.split("+"):
        part, at, share = part.partition("@")
        name, _, rest = part.strip().partition(":")
        name = name.strip()
        if name not in factories:
            raise RecipeError(f"channel {spec!r}: unknown stage {name!r}; {STAGE_HELP}")
        args = [a.strip() for a in rest.split(",")] if rest.strip() else []
        stage = factories[name](args, spec)
        if at:
            p = _floats([share.strip()], spec, name)[0]
            if not 0 < p <= 1:
                raise RecipeError(f"channel {spec!r}: stage {name!r}: the share after '@' must lie in (0, 1]; "
                                  f"{STAGE_HELP}")
            stage = _sometimes(stage, p)
        stages.append((name, stage))
    return Channel(spec, seed, stages)
