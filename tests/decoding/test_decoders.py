"""Decoding modes behind one protocol and registry (``speechtl.decoding.decoders``)."""

import pytest
import torch

from speechtl.decoding.config import DecodeConfig
from speechtl.decoding.decoders import DECODERS, Decoder, decoding_mode
from speechtl.decoding.greedy import GreedyDecoder
from speechtl.decoding.isolated import IsolatedWordDecoder, word_decoder
from speechtl.decoding.lexicon_decoder import LexiconDecoder
from speechtl.errors import SpeechtlError
from speechtl.text.lexicon import Lexicon

TOKENS = ["<blank>", "|", "a", "b"]
LEXICON = Lexicon.from_mapping({"ab": ["a", "b"], "ba": ["b", "a"]})
FRAMES = torch.tensor([2, 0, 3, 0])  # a, blank, b, blank
LOG_PROBS = torch.full((1, 4, 4), -10.0).scatter(2, FRAMES.view(1, 4, 1), 0.0)


def test_every_mode_is_registered_and_chosen_by_the_decode_section():
    assert DECODERS.names() == ["beam", "greedy", "isolated"]
    assert decoding_mode(DecodeConfig()) == "beam"
    assert decoding_mode(DecodeConfig(isolated=True)) == "isolated"
    assert decoding_mode(DecodeConfig(isolated=True), greedy=True) == "greedy"
    assert decoding_mode() == "beam"


@pytest.mark.parametrize("mode, kind, words", [("beam", LexiconDecoder, ["ab"]),
                                               ("isolated", IsolatedWordDecoder, ["ab"]), ("greedy", GreedyDecoder, [])])
def test_each_mode_decodes_through_the_protocol_at_once_and_incrementally(mode, kind, words):
    decoder = word_decoder(TOKENS, LEXICON, DecodeConfig(), mode=mode)
    assert type(decoder) is kind and isinstance(decoder, Decoder)
    assert decoder.spells_words == bool(words)
    hyp = decoder(LOG_PROBS, torch.tensor([4]))[0]
    assert hyp.words == words and [i for i in hyp.tokens if i != 1] == [2, 3]
    decoder.begin()
    decoder.step(LOG_PROBS[0, :2])
    decoder.step(LOG_PROBS[0, 2:])
    assert decoder.end().words == words


def test_an_unknown_mode_is_refused_listing_the_known_ones():
    with pytest.raises(SpeechtlError, match="unknown decoding mode 'viterbi'; available: beam, greedy, isolated"):
        word_decoder(TOKENS, LEXICON, mode="viterbi")
