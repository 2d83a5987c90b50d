import math

import pytest
import torch

from speechtl.data.cmvn import GlobalCMVN, build_normalizer, sliding_cmn, utterance_cmvn
from speechtl.data.features import VTLP, SpecAugment, fbank, fbank_batch, num_frames, spec_augment, warp_frequencies
from speechtl.errors import AudioError
from speechtl.data.config import FeatureConfig, SpecAugmentConfig

CFG = FeatureConfig()


def _waves():
    g = torch.Generator().manual_seed(0)
    return [0.1 * torch.randn(n, generator=g) for n in (16000, 8123, 400)]


def test_fbank_shape_and_frame_count():
    for w in _waves():
        f = fbank(w, 16000, CFG)
        assert f.shape == (num_frames(w.numel(), 16000, CFG), 80)
    assert num_frames(16000, 16000, CFG) == 98  # (16000 - 400) // 160 + 1


def test_batched_fbank_equals_per_item():
    waves = _waves()
    lengths = torch.tensor([w.numel() for w in waves])
    padded = torch.nn.utils.rnn.pad_sequence(waves, batch_first=True)
    feats, flens = fbank_batch(padded, lengths, 16000, CFG)
    for i, w in enumerate(waves):
        single = fbank(w, 16000, CFG)
        assert int(flens[i]) == single.shape[0]
        torch.testing.assert_close(feats[i, : flens[i]], single)
        assert (feats[i, flens[i]:] == 0).all()


def test_audio_shorter_than_a_frame_is_a_clear_error():
    with pytest.raises(AudioError, match=r"clip\.wav: 10\.0 ms of audio is shorter than one 25 ms"):
        fbank(torch.zeros(160), 16000, CFG, source="clip.wav")


def test_utterance_cmvn_ignores_padding_and_matches_per_item():
    x = torch.randn(2, 50, 4) * 3 + 5
    lengths = torch.tensor([50, 20])
    y = utterance_cmvn(x, lengths)
    single = utterance_cmvn(x[1:2, :20], lengths[1:])
    torch.testing.assert_close(y[1:2, :20], single)
    assert (y[1, 20:] == 0).all()
    torch.testing.assert_close(y[0].mean(0), torch.zeros(4), atol=1e-5, rtol=0)


@pytest.mark.parametrize("window,min_window", [(300, 100), (10, 4), (3, 1), (20, 60)])
def test_sliding_cmn_equals_torchaudio_per_utterance(window, min_window):
    """The batched cumulative-sum form gives Kaldi's windows (torchaudio's loop is the reference)."""
    import torchaudio.functional as AF

    g = torch.Generator().manual_seed(1)
    x = torch.randn(4, 80, 5, generator=g) * 2 + torch.linspace(-3, 3, 80)[None, :, None]  # a drifting channel
    lengths = torch.tensor([80, 57, 7, 1])
    y = sliding_cmn(x, lengths, window, min_window)
    for i, n in enumerate(lengths.tolist()):
        ref = AF.sliding_window_cmn(x[i, :n], cmn_window=window, min_cmn_window=min_window)
        torch.testing.assert_close(y[i, :n], ref.reshape(n, -1), atol=1e-5, rtol=0)  # (one frame comes back 1-D)
        assert (y[i, n:] == 0).all()


def test_sliding_cmn_follows_a_level_change_that_utterance_cmvn_cannot():
    """A recording whose level jumps halfway: past the window the sliding mean removes the new offset."""
    x = torch.cat([torch.zeros(200, 2), torch.full((200, 2), 10.0)])[None]
    lengths = torch.tensor([400])
    y = build_normalizer(FeatureConfig(cmvn="sliding", cmvn_window=50, cmvn_min_window=10))(x, lengths)[0]
    assert y[300:].abs().max() < 1e-4  # settled on the new level
    assert utterance_cmvn(x, lengths)[0, 300:].abs().min() > 0.9  # one mean for the whole recording


def test_global_cmvn_fit():
    feats = [torch.randn(30, 3) * 2 + 1, torch.randn(10, 3) * 2 + 1]
    cmvn = GlobalCMVN(3)
    cmvn.fit(feats)
    y = cmvn(torch.cat(feats)[None], torch.tensor([40]))[0]
    torch.testing.assert_close(y.mean(0), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.std(0), torch.ones(3), atol=1e-4, rtol=0)


def test_specaugment_masks_only_in_training_and_independently():
    cfg = SpecAugmentConfig(freq_masks=2, freq_mask_width=20, time_masks=2, time_mask_width=20)
    aug = SpecAugment(cfg)
    x = torch.ones(8, 100, 80)
    aug.eval()
    assert torch.equal(aug(x), x)
    aug.train()
    y = aug(x)
    assert (y == 0).any() and (y == 1).any()
    masks = (y == 0).float().mean((1, 2))
    assert len(set(masks.tolist())) > 1  # a different mask per utterance
    assert spec_augment(x, SpecAugmentConfig(freq_masks=0, time_masks=0)).equal(x)


def test_vtlp_moves_a_tone_by_the_scale_factor():
    """A 1 kHz tone's filterbank peak, warped by alpha, lands where a tone at alpha kHz peaks."""
    cfg = FeatureConfig()
    t = torch.arange(16000) / 16000

    def peak_hz(feats):
        # the bin's centre frequency on Kaldi's mel scale (20 Hz to Nyquist)
        lo, hi = 1127 * math.log1p(20 / 700), 1127 * math.log1p(8000 / 700)
        mel = lo + (hi - lo) * (int(feats.mean(0).argmax()) + 1) / (cfg.num_mel_bins + 1)
        return 700 * math.expm1(mel / 1127)

    tone = fbank(0.5 * torch.sin(2 * math.pi * 1000 * t), 16000, cfg)
    for alpha in (0.8, 1.25):
        warped = warp_frequencies(tone[None], torch.tensor([alpha]), 8000)[0]
        moved = fbank(0.5 * torch.sin(2 * math.pi * 1000 * alpha * t), 16000, cfg)
        assert peak_hz(warped) == pytest.approx(peak_hz(moved), rel=0.05)
        assert peak_hz(warped) == pytest.approx(1000 * alpha, rel=0.08)
    assert torch.allclose(warp_frequencies(tone[None], torch.ones(1), 8000)[0], tone, atol=1e-4)


def test_vtlp_is_per_utterance_batched_equals_per_item_and_only_in_training():
    x = torch.randn(3, 7, 80)
    alpha = torch.tensor([0.85, 1.0, 1.15])
    batched = warp_frequencies(x, alpha, 8000)
    for i in range(3):
        assert torch.allclose(batched[i], warp_frequencies(x[i:i + 1], alpha[i:i + 1], 8000)[0])
    assert torch.allclose(batched[1], x[1], atol=1e-5) and not torch.allclose(batched[0], x[0])
    vtlp = VTLP(SpecAugmentConfig(vtlp=(0.8, 1.2)), 8000)
    assert not torch.equal(vtlp.train()(x), x)
    assert torch.equal(vtlp.eval()(x), x)
    assert torch.equal(VTLP(SpecAugmentConfig(), 8000).train()(x), x)  # (1, 1): off
