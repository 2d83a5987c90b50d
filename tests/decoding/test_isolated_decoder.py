"""Isolated-word decoding (decode.isolated): one word of the list per recording, never an empty transcript."""

import math

import pytest
import torch

from speechtl.decoding.config import DecodeConfig
from speechtl.decoding.isolated import IsolatedWordDecoder, word_decoder, word_log_likelihoods
from speechtl.decoding.lexicon_decoder import LexiconDecoder
from speechtl.errors import LexiconError
from speechtl.text.lexicon import Lexicon

TOKENS = ["<blank>", "|", "a", "b", "c"]
LEXICON = Lexicon.from_mapping({"ab": ["a", "b"], "ba": ["b", "a"], "cab": ["c", "a", "b"], "c": ["c"]})
SENTENCE = DecodeConfig()  # word_score -4: the per-word penalty chosen for sentences
ISOLATED = DecodeConfig(isolated=True)


def blank_dominated(frames: str, weak: float = -2.5) -> torch.Tensor:
    """``(1, T, 5)`` log-probs: blank on every frame, the given symbols (``_`` = none) only ``weak`` behind."""
    index = {"a": 2, "b": 3, "c": 4}
    x = torch.full((len(frames), len(TOKENS)), -8.0)
    x[:, 0] = 0.0
    for t, symbol in enumerate(frames):
        if symbol in index:
            x[t, index[symbol]] = weak
    return torch.log_softmax(x, -1)[None]


def test_beam_search_returns_nothing_where_the_isolated_decoder_finds_the_word():
    """The failure seen on real recordings: weak word evidence under blank loses to the empty path."""
    log_probs = blank_dominated("__b__a__")
    assert LexiconDecoder(TOKENS, LEXICON, SENTENCE)(log_probs)[0].words == []
    hyp = IsolatedWordDecoder(TOKENS, LEXICON, ISOLATED)(log_probs)[0]
    assert hyp.words == ["ba"]
    assert hyp.tokens == [3, 2]
    assert hyp.margin > 0


@pytest.mark.parametrize("frames, word", [("_c_a_b_", "cab"), ("_a__b__", "ab"), ("__c____", "c"), ("cccaaabbb", "cab")])
def test_each_recording_gets_its_best_word(frames, word):
    assert IsolatedWordDecoder(TOKENS, LEXICON)(blank_dominated(frames, weak=1.0))[0].words == [word]


def test_word_boundary_frames_count_as_blank():
    x = blank_dominated("|a||b|")
    x[0, [0, 5, 3, 2], 1] = 0.0  # the | frames sure of |, as a model trained on sentences emits in pauses
    assert IsolatedWordDecoder(TOKENS, LEXICON)(torch.log_softmax(x, -1))[0].words == ["ab"]


def test_scores_are_ctc_log_likelihoods():
    """A sure path scores log 1 = 0; an impossible one (longer than the frames) -inf."""
    x = torch.full((3, len(TOKENS)), -1e4)
    x[0, 2], x[1, 0], x[2, 3] = 0.0, 0.0, 0.0  # a, blank, b
    scores = word_log_likelihoods(x, 3, [[2, 3], [3, 2], [4, 2, 3, 3]])
    assert scores[0].item() == pytest.approx(0.0, abs=1e-3)
    assert scores[1].item() < -1000
    assert scores[2].item() == -math.inf


def test_never_empty_even_for_silence_or_too_short_input():
    dec = IsolatedWordDecoder(TOKENS, LEXICON)
    hyps = dec(torch.cat([blank_dominated("______"), blank_dominated("_c____")]), torch.tensor([6, 1]))
    assert all(len(h.words) == 1 for h in hyps)
    assert hyps[1].words == ["c"]  # one frame: only the one-phoneme word fits
    assert dec(blank_dominated("ab"), torch.tensor([0]))[0].words == []  # no audio at all: nothing


def test_stream_calls_give_the_batch_result():
    dec = IsolatedWordDecoder(TOKENS, LEXICON)
    log_probs = blank_dominated("__c_a__b__", weak=1.0)
    dec.begin()
    for piece in log_probs[0].split(3):
        dec.step(piece)
        assert dec.partial() == []
    assert dec.end().words == dec(log_probs)[0].words == ["cab"]


def test_the_setting_chooses_the_decoder_and_bad_lexicons_are_named():
    assert isinstance(word_decoder(TOKENS, LEXICON, ISOLATED), IsolatedWordDecoder)
    assert isinstance(word_decoder(TOKENS, LEXICON, SENTENCE), LexiconDecoder)
    with pytest.raises(LexiconError, match="empty"):
        IsolatedWordDecoder(TOKENS, Lexicon())
    with pytest.raises(LexiconError):
        IsolatedWordDecoder(TOKENS, Lexicon.from_mapping({"x": ["x"]}))
    with pytest.raises(ValueError, match="expected"):
        IsolatedWordDecoder(TOKENS, LEXICON)(torch.zeros(1, 4, 3))
