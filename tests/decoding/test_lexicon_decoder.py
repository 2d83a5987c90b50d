"""Lexicon beam search and alignment on hand-built CTC posteriors, with exact expected words."""

import pytest
import torch

from speechtl.decoding.align import align_words, split_pronunciations
from speechtl.decoding.lexicon_decoder import LexiconDecoder, append_boundary_frame, decode_lexicon
from speechtl.errors import LanguageModelError, LexiconError
from speechtl.decoding.config import DecodeConfig
from speechtl.text.lexicon import Lexicon

TOKENS = ["<blank>", "|", "a", "b", "c"]
LEXICON = Lexicon.from_mapping({"ab": ["a", "b"], "ba": ["b", "a"], "cab": ["c", "a", "b"], "c": ["c"]})
NO_PENALTY = DecodeConfig(word_score=0.0, sil_score=0.0)
MILD = DecodeConfig(word_score=-1.0, sil_score=0.0)  # a word penalty settles "cab" vs "c ab" on equal frames


def posteriors(frames: str, sharp: float = 10.0) -> torch.Tensor:
    """``(1, T, 5)`` log-probs where each frame is almost surely the given symbol (``_`` = blank)."""
    index = {"_": 0, "|": 1, "a": 2, "b": 3, "c": 4}
    x = torch.full((len(frames), len(TOKENS)), -sharp)
    for t, symbol in enumerate(frames):
        x[t, index[symbol]] = 0.0
    return torch.log_softmax(x, -1)[None]


@pytest.mark.parametrize("frames, words", [
    ("cab|ba", ["cab", "ba"]),
    ("_ca_b|_b_a__", ["cab", "ba"]),
    ("|c||c|ab_", ["c", "c", "ab"]),
    ("ab|ab", ["ab", "ab"]),
    ("abb|ba", ["ab", "ba"]),  # a final phoneme held two frames
    ("_____", []),
])
def test_exact_word_sequences(frames, words):
    for boundary in ("optional", "required"):
        assert decode_lexicon(posteriors(frames), None, TOKENS, LEXICON, MILD, boundary)[0] == words, boundary


def test_why_spellings_need_the_boundary_variant():
    # bare spellings alone: flashlight cannot repeat a word's last token once the word has ended
    held = LexiconDecoder(TOKENS, LEXICON, NO_PENALTY, "none")(posteriors("abb|ba"))[0]
    with_boundary = LexiconDecoder(TOKENS, LEXICON, NO_PENALTY, "optional")(posteriors("abb|ba"))[0]
    assert with_boundary.words == ["ab", "ba"] and with_boundary.score > -1
    assert held.score < with_boundary.score - 5  # without the variant, the held "b" costs a whole frame
    # "|"-terminated spellings alone: a boundary the model skipped costs a whole frame
    required = LexiconDecoder(TOKENS, LEXICON, NO_PENALTY, "required")(posteriors("cab_ba"))[0]
    optional = LexiconDecoder(TOKENS, LEXICON, NO_PENALTY, "optional")(posteriors("cab_ba"))[0]
    # "cab ba" and "c ab ba" tie without a word penalty; either way the phonemes are all read
    assert "".join(optional.words) == "cabba" and optional.score > -1
    assert required.score < optional.score - 5


def test_word_penalty_prefers_fewer_words():
    frames = posteriors("cab_ba")  # "cab ba" or "c ab ba": same phonemes, no boundary
    assert decode_lexicon(frames, None, TOKENS, LEXICON, DecodeConfig(word_score=-2.0))[0] == ["cab", "ba"]
    assert decode_lexicon(frames, None, TOKENS, LEXICON, DecodeConfig(word_score=2.0))[0] == ["c", "ab", "ba"]


def test_batched_equals_one_by_one():
    items = ["cab|ba__", "ab|c", "_ba_ab|c_"]
    decoder = LexiconDecoder(TOKENS, LEXICON, MILD)
    lengths = torch.tensor([len(f) for f in items])
    batch = torch.full((len(items), int(lengths.max()), len(TOKENS)), -30.0)
    for i, f in enumerate(items):
        batch[i, : len(f)] = posteriors(f)[0]
    together = [h.words for h in decoder(batch, lengths)]
    alone = [decoder(posteriors(f))[0].words for f in items]
    assert together == alone == [["cab", "ba"], ["ab", "c"], ["ba", "ab", "c"]]


def test_empty_input_gives_no_words():
    decoder = LexiconDecoder(TOKENS, LEXICON)
    hyps = decoder(torch.zeros(2, 0, len(TOKENS)), torch.tensor([0, 0]))
    assert [h.words for h in hyps] == [[], []]


def test_appended_boundary_frame():
    out, lengths = append_boundary_frame(posteriors("ab"), torch.tensor([2]))
    assert out.shape == (1, 3, 5) and lengths.tolist() == [3] and int(out[0, 2].argmax()) == 1


def test_bad_lexicons_are_refused():
    with pytest.raises(LexiconError, match="empty"):
        LexiconDecoder(TOKENS, Lexicon())
    with pytest.raises(LexiconError, match="unknown phoneme 'd' in the pronunciation of 'dab'"):
        LexiconDecoder(TOKENS, Lexicon.from_mapping({"dab": ["d", "a", "b"]}))


def _arpa(path, probs: dict[str, float]):
    """A unigram model in ARPA form (KenLM wants a bigram section: one harmless entry)."""
    lines = ["\\data\\", f"ngram 1={len(probs) + 3}", "ngram 2=1", "", "\\1-grams:",
             "-99\t<s>\t0", "-1\t</s>", "-2\t<unk>\t0"]
    lines += [f"{p}\t{w}\t0" for w, p in probs.items()]
    lines += ["", "\\2-grams:", "-1\t<s> </s>"]
    path.write_text("\n".join(lines + ["", "\\end\\", ""]))
    return str(path)


def test_kenlm_language_model_breaks_a_tie_between_homophones(tmp_path):
    homophones = Lexicon.from_mapping({"ab": ["a", "b"], "abb": ["a", "b"], "c": ["c"]})
    frames = posteriors("ab|c")
    for favoured, other in (("ab", "abb"), ("abb", "ab")):
        lm = _arpa(tmp_path / f"{favoured}.arpa", {favoured: -0.5, other: -3.0, "c": -1.0})
        cfg = DecodeConfig(lm=lm, lm_weight=1.0, word_score=0.0)
        assert decode_lexicon(frames, None, TOKENS, homophones, cfg)[0] == [favoured, "c"]


def test_missing_or_corrupt_language_model(tmp_path):
    with pytest.raises(LanguageModelError, match="no such language model file"):
        LexiconDecoder(TOKENS, LEXICON, DecodeConfig(lm=str(tmp_path / "none.arpa")))
    junk = tmp_path / "junk.arpa"
    junk.write_text("this is not a language model\n")
    with pytest.raises(LanguageModelError, match="not a KenLM"):
        LexiconDecoder(TOKENS, LEXICON, DecodeConfig(lm=str(junk)))


def test_split_pronunciations_picks_the_spelling_used():
    lex = Lexicon.from_mapping({"x": [["a"], ["a", "b"]], "y": [["b", "c"], ["c"]]})
    assert split_pronunciations(["x", "y"], ["a", "b", "c"], lex) in ([("a",), ("b", "c")], [("a", "b"), ("c",)])
    assert split_pronunciations(["x", "y"], ["a", "b", "c", "c"], lex) is None


def test_alignment_gives_word_times():
    frames = "__ca_b__|_ba___"
    log_probs = posteriors(frames)[0]
    hyp = LexiconDecoder(TOKENS, LEXICON, MILD)(log_probs[None])[0]
    segments = align_words(log_probs, hyp.words, hyp.tokens, TOKENS, LEXICON, frame_seconds=0.04, offset=1.0)
    assert [s.word for s in segments] == ["cab", "ba"]
    assert [(round(s.start, 2), round(s.end, 2)) for s in segments] == [(1.08, 1.24), (1.40, 1.48)]
    assert segments[0].phonemes == ["c", "a", "b"] and all(s.confidence > 0.9 for s in segments)


def test_nbest_margin_is_the_score_gap_to_the_best_other_words():
    """With nbest > 1 a hypothesis carries how far it beats the runner-up with other words."""
    lex = Lexicon.from_mapping({"ab": ["a", "b"], "ac": ["a", "c"]})
    frames = posteriors("ab")
    frames[0, 1] = torch.log_softmax(torch.tensor([-10.0, -10.0, -10.0, -1.0, 0.0]), -1)  # b or c, c likelier
    best = LexiconDecoder(TOKENS, lex, NO_PENALTY, "required", nbest=5)(frames)[0]
    assert best.words == ["ac"]
    # the two paths differ only in the second frame: log p(c) - log p(b) = 1
    assert best.margin == pytest.approx(1.0, abs=1e-3)
    assert LexiconDecoder(TOKENS, lex, NO_PENALTY, "required")(frames)[0].margin == float("inf")  # 1-best: no rival
