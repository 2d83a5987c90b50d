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

Filtering, resampling, mu-law and SNR mixing are torchaudio's; only the
synthetic impulse response (exponentially decaying Gaussian noise after a
direct path, the statistical model of late reverberation; Schroeder 1962,
"Frequency-correlation functions of frequency responses in rooms") is written here.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from speechtl.errors import RecipeError

TELEPHONE_BAND = (300.0, 3400.0)  # Hz, ITU-T G.712 voice band
TELEPHONE_RATE = 8000  # Hz, narrow-band telephony
NOISE_COLOURS = ("white", "pink", "brown")


# --- stateless transforms ----------------------------------------------------------------------

def butterworth_q(order: int) -> list[float]:
    """Quality factors of the biquads whose cascade is an even-``order`` Butterworth filter."""
    return [1 / (2 * math.cos(math.pi * (2 * k - 1) / (2 * order))) for k in range(1, order // 2 + 1)]


def band_limit(wave: torch.Tensor, sample_rate: int, low: float, high: float, order: int = 8) -> torch.Tensor:
    """Band-pass: Butterworth high-pass and low-pass of ``order`` from torchaudio's biquads.

    Flat in the band, -3 dB at each corner, then ``6 * order`` dB per octave.

    Args:
        wave: ``(samples,)``.
        low: high-pass corner in Hz (0: none). high: low-pass corner (>= Nyquist: none).
        order: even filter order of each edge.

    Returns:
        ``(samples,)``.
    """
    import torchaudio.functional as F

    x = wave.double()  # low corners at high rates need the precision
    for q in butterworth_q(order):
        if low > 0:
            x = F.highpass_biquad(x, sample_rate, low, Q=q)
        if high < sample_rate / 2:
            x = F.lowpass_biquad(x, sample_rate, high, Q=q)
    return x.to(wave.dtype)


def telephone(wave: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """A narrow-band telephone line: voice band, 8 kHz sampling and 8-bit mu-law, both ways.

    The band filter runs before the codec (the sending side) and after it (the
    receiving side, which also removes the codec's out-of-band quantisation noise).

    Args:
        wave: ``(samples,)`` in [-1, 1].

    Returns:
        ``(samples,)`` at ``sample_rate``.
    """
    import torchaudio.functional as F

    n = wave.shape[-1]
    x = F.resample(wave, sample_rate, TELEPHONE_RATE) if sample_rate != TELEPHONE_RATE else wave
    x = band_limit(x, TELEPHONE_RATE, *TELEPHONE_BAND)
    x = F.mu_law_decoding(F.mu_law_encoding(x.clamp(-1.0, 1.0), 256), 256)
    x = band_limit(x, TELEPHONE_RATE, *TELEPHONE_BAND)
    if sample_rate != TELEPHONE_RATE:
        x = F.resample(x, TELEPHONE_RATE, sample_rate)
    return _fit_length(x, n)


def coloured_noise(samples: int, colour: str, generator: torch.Generator) -> torch.Tensor:
    """``(samples,)`` Gaussian noise with power spectrum 1 (white), 1/f (pink) or 1/f^2 (brown)."""
    white = torch.randn(samples, generator=generator)
    if colour == "white":
        return white
    spectrum = torch.fft.rfft(white)
    freqs = torch.arange(spectrum.shape[0], dtype=torch.float32).clamp(min=1.0)
    exponent = {"pink": 0.5, "brown": 1.0}[colour]  # amplitude ~ f^-exponent
    return torch.fft.irfft(spectrum / freqs ** exponent, n=samples)


def mix_noise(wave: torch.Tensor, noise: torch.Tensor, snr_db: float) -> torch.Tensor:
    """``wave`` plus ``noise`` scaled to ``snr_db`` over the whole utterance (torchaudio's add_noise)."""
    import torchaudio.functional as F

    if float(wave.pow(2).sum()) == 0.0:  # silence has no SNR: leave it alone
        return wave
    return F.add_noise(wave.unsqueeze(0), noise.unsqueeze(0), torch.tensor([float(snr_db)])).squeeze(0)


def synthetic_rir(rt60: float, sample_rate: int, generator: torch.Generator, drr_db: float = 3.0,
                  predelay_ms: float = 2.5) -> torch.Tensor:
    """A room impulse response: a direct path, then Gaussian noise decaying 60 dB in ``rt60`` seconds.

    Args:
        rt60: reverberation time in seconds (energy falls by 60 dB).
        drr_db: direct-to-reverberant energy ratio.
        predelay_ms: gap between the direct sound and the first reflections.

    Returns:
        ``(taps,)``, ``1.2 * rt60`` seconds long, direct path first.
    """
    taps = max(2, int(round(1.2 * rt60 * sample_rate)))
    start = min(taps - 1, max(1, int(round(predelay_ms / 1000 * sample_rate))))
    t = torch.arange(taps - start, dtype=torch.float32) / sample_rate
    # energy 10^(-6 t / rt60) -> amplitude exp(-3 ln(10) t / rt60)
    tail = torch.randn(taps - start, generator=generator) * torch.exp(-3 * math.log(10) * t / rt60)
    tail = tail * math.sqrt(10 ** (-drr_db / 10) / float(tail.pow(2).sum()))
    rir = torch.zeros(taps)
    rir[0] = 1.0
    rir[start:] = tail
    return rir


def random_eq_curve(freqs: torch.Tensor, max_db: float, generator: torch.Generator, points: int = 6
                    ) -> torch.Tensor:
    """A smooth random gain curve in dB: a tilt plus bumps, within ``[-max_db, max_db]``.

    A straight line on a log-frequency axis (spectral tilt: a brighter or duller
    microphone) plus a curve through ``points`` random values at log-spaced
    frequencies (resonances and dips of a microphone, a room or a throat), scaled
    so its largest excursion is at most ``max_db``.

    Args:
        freqs: ``(bins,)`` frequencies in Hz.

    Returns:
        ``(bins,)`` gains in dB.
    """
    octaves = torch.log2(freqs.clamp(min=50.0) / 50.0)
    pos = octaves / max(float(octaves.max()), 1e-6)  # 0 .. 1 along the log-frequency axis
    u = torch.rand(points + 1, generator=generator) * 2 - 1
    tilt = u[0] * (pos - 0.5) * 2
    knots = torch.linspace(0, 1, points)
    bumps = torch.from_numpy(np.interp(pos.numpy(), knots.numpy(), u[1:].numpy())).float()
    curve = 0.5 * tilt + 0.5 * bumps
    return curve * max_db / max(float(curve.abs().max()), 1e-6) * float(torch.rand(1, generator=generator))


def equalise(wave: torch.Tensor, sample_rate: int, max_db: float, generator: torch.Generator) -> torch.Tensor:
    """``wave`` through a random smooth EQ (:func:`random_eq_curve`), at its own RMS level."""
    n = wave.shape[-1]
    spectrum = torch.fft.rfft(wave.double())
    gains = 10 ** (random_eq_curve(torch.fft.rfftfreq(n, 1 / sample_rate), max_db, generator).double() / 20)
    out = torch.fft.irfft(spectrum * gains, n=n).to(wave.dtype)
    return out * _rms(wave) / max(_rms(out), 1e-12)


def narrowband(wave: torch.Tensor, sample_rate: int, rate: int) -> torch.Tensor:
    """``wave`` sampled down to ``rate`` and back (a narrowband recording at the original rate)."""
    import torchaudio.functional as F

    if rate >= sample_rate:
        return wave
    sharp = dict(lowpass_filter_width=64, rolloff=0.94, resampling_method="sinc_interp_kaiser", beta=14.77)
    # a sharp anti-aliasing filter both ways: the default one lets images through near rate / 2
    return _fit_length(F.resample(F.resample(wave, sample_rate, rate, **sharp), rate, sample_rate, **sharp),
                       wave.shape[-1])


def mu_law(wave: torch.Tensor) -> torch.Tensor:
    """``wave`` through 8-bit mu-law encoding and decoding (quantisation noise ~35 dB below any level)."""
    import torchaudio.functional as F

    return F.mu_law_decoding(F.mu_law_encoding(wave.clamp(-1.0, 1.0), 256), 256).to(wave.dtype)


def crop(wave: torch.Tensor, sample_rate: int, max_ms: float, min_ms: float, generator: torch.Generator
         ) -> torch.Tensor:
    """``wave`` with up to ``max_ms`` cut off each end (drawn per end), at least ``min_ms`` kept."""
    n = wave.shape[-1]
    keep = min(n, int(min_ms * sample_rate / 1000))
    cut = [int(_uniform(0, max_ms, generator) * sample_rate / 1000) for _ in range(2)]
    spare = n - keep
    if sum(cut) > spare:  # shorten both cuts in proportion
        scale = spare / sum(cut)
        cut = [int(c * scale) for c in cut]
    return wave[cut[0] : n - cut[1]]


def pad(wave: torch.Tensor, sample_rate: int, max_ms: float, generator: torch.Generator) -> torch.Tensor:
    """``wave`` with up to ``max_ms`` of quiet white noise (60 dB below its RMS) added before and after it."""
    sides = [int(_uniform(0, max_ms, generator) * sample_rate / 1000) for _ in range(2)]
    floor = _rms(wave) * 1e-3
    quiet = [floor * torch.randn(k, generator=generator).to(wave.dtype) for k in sides]
    return torch.cat([quiet[0], wave, quiet[1]])


def _uniform(lo: float, hi: float, generator: torch.Generator) -> float:
    return lo + (hi - lo) * float(torch.rand(1, generator=generator))


def reverberate(wave: torch.Tensor, rir: torch.Tensor) -> torch.Tensor:
    """``wave`` convolved with ``rir`` (torchaudio's fftconvolve), cut to its length, same RMS."""
    import torchaudio.functional as F

    out = F.fftconvolve(wave, rir)[: wave.shape[-1]]
    return out * _rms(wave) / max(_rms(out), 1e-12)


def _rms(x: torch.Tensor) -> float:
    return float(x.pow(2).mean().sqrt())


def _fit_length(x: torch.Tensor, n: int) -> torch.Tensor:
    return x[:n] if x.shape[-1] >= n else torch.nn.functional.pad(x, (0, n - x.shape[-1]))


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
        factor = round(_uniform(lo, hi, gen), 3) if hi > lo else lo
        return torch.from_numpy(Speed(factor=factor)(wave.numpy()[None], sr)[0].copy())

    return stage


def _gain_stage(args: list[str], spec: str) -> Stage:
    lo, hi = _range(args, spec, "gain", -60.0, 40.0, "DB")
    return lambda wave, sr, gen: wave * 10 ** (_uniform(lo, hi, gen) / 20)


def _eq_stage(args: list[str], spec: str) -> Stage:
    _count(args, 1, 1, spec, "eq")
    (db,) = _floats(args, spec, "eq")
    if not 0 < db <= 40:
        raise RecipeError(f"channel {spec!r}: eq DB must lie in (0, 40]; {STAGE_HELP}")
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
    _count(args, 1, 1, spec, "pad")
    (max_ms,) = _floats(args, spec, "pad")
    if not 0 < max_ms <= 10000:
        raise RecipeError(f"channel {spec!r}: pad MS must lie in (0, 10000]; {STAGE_HELP}")
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
