"""Waveform transforms the channel stages are made of: band limits, the telephone channel, noise
(generated or babble of other utterances), room impulse responses, EQ, narrowband and mu-law codecs,
cropping and padding, pitch shifts and vocal-tract-length warps.

Each is a plain function of a waveform (and, where random, a ``torch.Generator``);
:mod:`speechtl.data.channel` parses the spec strings that chain them. Filtering,
resampling, mu-law and SNR mixing are torchaudio's; only the synthetic impulse
response (exponentially decaying Gaussian noise after a direct path, the statistical
model of late reverberation; Schroeder 1962, "Frequency-correlation functions of
frequency responses in rooms") and the envelope warp of :func:`vocal_tract_warp` (a
cepstrally smoothed spectral envelope resampled in frequency, pitch kept) are written here;
pitch shifts are librosa's.
"""

from __future__ import annotations

import math

import numpy as np
import torch

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


def babble_noise(talkers: list[torch.Tensor], samples: int, generator: torch.Generator) -> torch.Tensor:
    """``(samples,)`` babble: the sum of ``talkers`` (other utterances), each at RMS 1.

    Each talker starts at a random point of its utterance and is looped to fill
    ``samples``, so short words still cover the whole utterance they are mixed into
    (a crowd talks throughout). Silent talkers are left out.

    Args:
        talkers: ``(samples_i,)`` waveforms at the utterance's rate.
    """
    out = torch.zeros(samples)
    for talker in talkers:
        level = _rms(talker)
        if level == 0.0:
            continue
        start = int(torch.randint(talker.shape[-1], (1,), generator=generator))
        reps = -(-(start + samples) // talker.shape[-1])
        out += talker.float().repeat(reps)[start : start + samples] / level
    return out


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
    cut = [int(uniform(0, max_ms, generator) * sample_rate / 1000) for _ in range(2)]
    spare = n - keep
    if sum(cut) > spare:  # shorten both cuts in proportion
        scale = spare / sum(cut)
        cut = [int(c * scale) for c in cut]
    return wave[cut[0] : n - cut[1]]


def pad(wave: torch.Tensor, sample_rate: int, max_ms: float, generator: torch.Generator) -> torch.Tensor:
    """``wave`` with up to ``max_ms`` of quiet white noise (60 dB below its RMS) added before and after it."""
    sides = [int(uniform(0, max_ms, generator) * sample_rate / 1000) for _ in range(2)]
    floor = _rms(wave) * 1e-3
    quiet = [floor * torch.randn(k, generator=generator).to(wave.dtype) for k in sides]
    return torch.cat([quiet[0], wave, quiet[1]])


def pitch_shift(wave: torch.Tensor, sample_rate: int, semitones: float) -> torch.Tensor:
    """``wave`` ``(samples,)`` with its pitch and formants moved by ``semitones``, length kept (librosa)."""
    import librosa

    out = librosa.effects.pitch_shift(wave.numpy().astype(np.float32), sr=sample_rate, n_steps=semitones)
    return _fit_length(torch.from_numpy(out).to(wave.dtype), wave.shape[-1])


def vocal_tract_warp(wave: torch.Tensor, sample_rate: int, alpha: float, lifter_ms: float = 1.5) -> torch.Tensor:
    """``wave`` ``(samples,)`` with its spectral envelope scaled in frequency by ``alpha``; pitch and length kept.

    A longer or shorter vocal tract scales the formants (Lee & Rose 1998); VTLP
    (Jaitly & Hinton 2013) draws the scale per utterance. In each STFT frame the
    envelope is the log spectrum smoothed by a cepstral lifter (quefrencies below
    ``lifter_ms``, under the pitch period of voices up to ~650 Hz), so the
    harmonics stay where they are while the envelope under them moves to
    ``alpha`` times its frequencies: ``X'(f) = X(f) * E(f / alpha) / E(f)``.
    """
    n = wave.shape[-1]
    n_fft = 1 << max(6, math.ceil(math.log2(0.032 * sample_rate)))  # ~32 ms frames
    window = torch.hann_window(n_fft, dtype=torch.float64)
    spec = torch.stft(wave.double(), n_fft, n_fft // 4, window=window, return_complex=True)  # (bins, frames)
    log_mag = spec.abs().clamp_min(1e-10).log()
    cepstrum = torch.fft.irfft(log_mag, n=n_fft, dim=0)
    keep = max(2, int(lifter_ms * sample_rate / 1000))
    cepstrum[keep: n_fft - keep + 1] = 0
    log_env = torch.fft.rfft(cepstrum, dim=0).real  # (bins, frames)
    source = (torch.arange(log_env.shape[0], dtype=torch.float64) / alpha).clamp(max=log_env.shape[0] - 1)
    lo = source.floor().long()
    hi = (lo + 1).clamp(max=log_env.shape[0] - 1)
    frac = (source - lo)[:, None]
    warped = log_env[lo] * (1 - frac) + log_env[hi] * frac
    out = torch.istft(spec * (warped - log_env).exp(), n_fft, n_fft // 4, window=window, length=n)
    return (out * _rms(wave) / max(_rms(out), 1e-12)).to(wave.dtype)


def uniform(lo: float, hi: float, generator: torch.Generator) -> float:
    """A number drawn uniformly from ``[lo, hi)`` by ``generator``."""
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
