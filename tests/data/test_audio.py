import numpy as np
import pytest
import soundfile as sf
import torch

from speechtl.data.audio import load_audio
from speechtl.errors import AudioError


def test_multichannel_is_downmixed_and_resampled(tmp_path):
    t = np.arange(8000) / 8000
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), np.zeros_like(t)], axis=1) * 0.5
    path = tmp_path / "stereo.flac"
    sf.write(path, stereo, 8000)
    wave = load_audio(path, 16000)
    assert wave.ndim == 1 and abs(wave.numel() - 16000) <= 1
    assert 0.2 < wave.abs().max() < 0.3  # the mean of the two channels


@pytest.mark.parametrize("content, message", [
    (b"", r"the file is empty \(0 bytes\)"),
    (b"RIFF\x00\x00\x00\x00WAVEfmt garbage", "cannot read audio"),
    (b"not audio at all" * 100, "cannot read audio"),
])
def test_corrupt_files_are_named(tmp_path, content, message):
    path = tmp_path / "broken.wav"
    path.write_bytes(content)
    with pytest.raises(AudioError, match=rf"broken\.wav: {message}"):
        load_audio(path)


def test_missing_empty_and_nan_audio(tmp_path):
    with pytest.raises(AudioError, match=r"nope\.wav: no such audio file"):
        load_audio(tmp_path / "nope.wav")
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0), 16000)
    with pytest.raises(AudioError, match=r"empty\.wav: the audio file is empty"):
        load_audio(empty)
    nan = tmp_path / "nan.wav"
    sf.write(nan, np.array([0.1, np.nan, 0.2], dtype=np.float32), 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"nan\.wav: the audio contains NaN"):
        load_audio(nan)


def test_offset_and_duration(tmp_path):
    path = tmp_path / "ramp.wav"
    sf.write(path, np.linspace(-0.5, 0.5, 16000, dtype=np.float32), 16000, subtype="FLOAT")
    part = load_audio(path, None, start=0.5, duration=0.25)
    full = load_audio(path, None)
    assert torch.equal(part, full[8000:12000])


def test_files_at_odd_rates_resample_in_small_steps(monkeypatch):
    """A recording at 16,001 Hz reaches 16 kHz without torchaudio's one-step 256-million-value kernel."""
    import torch

    from speechtl.data import audio

    def one_step(wave, orig, new):
        assert (orig, new) != (16001, 16000), "one step: a 4 GB kernel"
        return torch.ops.aten.clone(wave)

    wave = torch.sin(torch.arange(16001 * 2) * 2 * torch.pi * 440 / 16001).reshape(2, -1)
    monkeypatch.setattr(audio.AF, "resample", one_step)
    out = audio.resample(wave, 16001, 16000)
    assert out.shape == (2, 16000)
    ref = torch.sin(torch.arange(16000) * 2 * torch.pi * 440 / 16000)
    assert torch.allclose(out[0, 200:-200], ref[200:-200], atol=0.02)
