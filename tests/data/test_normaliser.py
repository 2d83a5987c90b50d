"""The one normaliser object (``speechtl.data.cmvn.Normaliser``): each ``features.cmvn`` mode's behaviour."""

import pytest
import torch

from speechtl.data.cmvn import (FeatureStats, GlobalCMVN, Normaliser, PassThrough, SlidingCMN, UtteranceCMVN,
                                WaveformNorm)
from speechtl.data.config import FeatureConfig
from speechtl.errors import SpeechtlError


def _feats(seed: int, frames: int = 40, dim: int = 4, level: float = 0.0) -> torch.Tensor:
    return torch.randn(frames, dim, generator=torch.Generator().manual_seed(seed)) * 3 + level


def test_utterance_mode_gives_zero_mean_unit_deviation_per_bin_inside_the_model():
    norm = Normaliser(FeatureConfig(cmvn="utterance", num_mel_bins=4))
    x = _feats(0, level=7.0)
    assert norm(x, "ann") is x  # nothing before the model: the model normalises
    y = norm.module()(x[None], torch.tensor([40]))[0]
    torch.testing.assert_close(y.mean(0), torch.zeros(4), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.std(0, unbiased=False), torch.ones(4), atol=1e-3, rtol=0)


def test_speaker_mode_uses_the_given_statistics_and_a_stranger_its_own():
    given = FeatureStats(4)
    given.add(_feats(1, level=5.0))
    norm = Normaliser(FeatureConfig(cmvn="speaker", num_mel_bins=4), {"ann": given})
    x = _feats(2, level=5.0)
    torch.testing.assert_close(norm(x, "ann"), (x - given.mean.float()) / given.std.float())
    own = norm(x, "bob")  # no statistics for bob (or no speaker): the recording's own
    torch.testing.assert_close(own, norm(x))
    torch.testing.assert_close(own.mean(0), torch.zeros(4), atol=1e-5, rtol=0)
    assert isinstance(norm.module(), PassThrough) and norm.by_speaker and not norm.streamable


def test_speaker_mode_fit_and_batch_pool_each_speakers_recordings():
    cfg = FeatureConfig(cmvn="speaker", num_mel_bins=4)
    ann = [_feats(3, level=10.0), _feats(4, level=10.0)]
    fitted = Normaliser(cfg).fit({"ann": ann})
    assert fitted.stats["ann"].count == 80
    pooled = torch.cat([fitted(f, "ann") for f in ann])
    torch.testing.assert_close(pooled.mean(0), torch.zeros(4), atol=1e-5, rtol=0)
    out = Normaliser(cfg).batch(ann + [_feats(5)], ["ann", "ann", ""])  # ann's pooled here, "" alone
    torch.testing.assert_close(torch.cat(out[:2]), pooled)
    torch.testing.assert_close(out[2], Normaliser(cfg)(_feats(5)))


def test_global_mode_takes_corpus_statistics_into_the_model_and_streams():
    norm = Normaliser(FeatureConfig(cmvn="global", num_mel_bins=4))
    module = norm.module()
    assert isinstance(module, GlobalCMVN) and norm.streamable and not norm.by_speaker
    corpus = [_feats(6, level=-3.0), _feats(7, level=-3.0)]
    Normaliser.fit_model(module, iter(corpus))
    y = module(torch.stack(corpus), torch.tensor([40, 40]))
    torch.testing.assert_close(y.reshape(-1, 4).mean(0), torch.zeros(4), atol=1e-5, rtol=0)
    Normaliser.fit_model(PassThrough(), iter(()))  # other modes' modules take nothing


@pytest.mark.parametrize("cmvn, kind, module", [("sliding", "fbank", SlidingCMN), ("utterance", "fbank", UtteranceCMVN),
                                               ("none", "fbank", PassThrough), ("utterance", "waveform", WaveformNorm),
                                               ("none", "waveform", PassThrough)])
def test_each_mode_builds_its_module(cmvn, kind, module):
    norm = Normaliser(FeatureConfig(cmvn=cmvn, kind=kind))
    assert type(norm.module()) is module
    assert norm.streamable == (cmvn == "none")


def test_an_unknown_mode_is_refused_naming_the_key():
    with pytest.raises(SpeechtlError, match=r"features\.cmvn: unknown mode 'speakers'; known: global, .*speaker"):
        Normaliser(FeatureConfig(cmvn="speakers"))
