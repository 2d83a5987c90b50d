"""Lexicons from other sources read faithfully: CMUdict comments, case and variants, ARPAbet sequences
joined into the model's symbols, X-SAMPA / IPA without spaces split or refused, short messages naming the file."""

from __future__ import annotations

import pytest

from speechtl.cli import main
from speechtl.errors import LexiconError
from speechtl.text.g2p_lexicon import shipped_lexicon
from speechtl.text.inventory import Inventory
from speechtl.text.lexicon import Lexicon
from speechtl.text.lexicon_import import is_one_phone, read_lexicon, split_symbols

# written by hand in CMUdict's format (comments, two spaces, stress digits, (N) variants); not copied from it
CMU = """;;; an excerpt in the CMU dictionary's format, made up for this test
;;; # lines like these are comments
APPLE  AE1 P AH0 L
CAR  K AA1 R
FIRE  F AY1 ER0
TOMATO  T AH0 M EY1 T OW2
TOMATO(1)  T AH0 M AA1 T OW2
"""


@pytest.fixture(scope="module")
def en_symbols() -> set[str]:
    return shipped_lexicon("en").symbols()


@pytest.fixture
def cmu(tmp_path):
    path = tmp_path / "cmu.txt"
    path.write_text(CMU, encoding="utf-8")
    return path


def test_cmudict_comments_case_and_variants(cmu, en_symbols):
    lex = read_lexicon(cmu, "arpabet", en_symbols)
    assert lex.words == ["apple", "car", "fire", "tomato"]  # no ';;;' word, no 'APPLE', no 'tomato(1)'
    assert lex.pronunciations("tomato") == [("t", "ə", "m", "eɪ", "t", "oʊ"), ("t", "ə", "m", "ɑː", "t", "oʊ")]
    assert lex.pronunciations("car") == [("k", "ɑːɹ")]  # AA1 R: the en head's own r-coloured vowel
    assert lex.pronunciations("fire") == [("f", "aɪɚ")]  # AY1 ER0: its diphthong sequence
    assert lex.pronunciations("apple") == [("æ", "p", "ə", "l")]  # ə l is not joined: not a vowel sequence
    assert lex.origin("tomato", ("t", "ə", "m", "ɑː", "t", "oʊ")).endswith("cmu.txt:7")


def test_arpabet_sequences_stay_apart_where_the_head_has_no_joined_symbol(cmu):
    lex = read_lexicon(cmu, "arpabet", {"k", "ɑː", "ɹ", "f", "aɪ", "ɚ"})
    assert lex.pronunciations("car") == [("k", "ɑː", "ɹ")] and lex.pronunciations("fire") == [("f", "aɪ", "ɚ")]


def test_merge_folds_case_so_your_entries_win(cmu, tmp_path, capsys):
    out = tmp_path / "merged.txt"
    assert main(["lexicon", "merge", str(cmu), "--lang", "EN", "--phoneset", "arpabet", "-o", str(out)]) == 0
    merged = Lexicon.read(out)
    assert "APPLE" not in merged and "tomato(1)" not in merged
    assert merged.pronunciations("apple") == [("æ", "p", "ə", "l")]  # yours, not the shipped 'æ p əl'
    assert len(merged.pronunciations("tomato")) == 2 and merged.pronunciations("car") == [("k", "ɑːɹ")]
    assert len(merged) == len(shipped_lexicon("en"))  # every word merged over its shipped entry


def test_xsampa_without_spaces_is_split_into_known_symbols_or_refused(tmp_path, en_symbols, caplog):
    path = tmp_path / "x.txt"
    path.write_text("apple {p@l\ncat k { t\n", encoding="utf-8")
    with caplog.at_level("WARNING"):
        assert read_lexicon(path, "xsampa", en_symbols).pronunciations("apple") == [("æ", "p", "əl")]
    assert any("x.txt:1: '{p@l' written without spaces, read as the model's æ p əl" in r.getMessage()
               for r in caplog.records)
    bad = tmp_path / "bad.txt"
    bad.write_text("cat k { t\napple {p@l\n", encoding="utf-8")
    with pytest.raises(LexiconError) as err:
        read_lexicon(bad, "xsampa", {"k", "æ", "t"})  # no p, ə or l to split it into: refused, not mapped
    message = str(err.value)
    assert message.startswith(str(bad)) and f"{bad}:2: '{{p@l' (æpəl)" in message and "'apple'" in message
    assert "separate them by spaces" in message


def test_ipa_tokens_of_several_phones_are_split_or_refused(tmp_path):
    path = tmp_path / "ipa.txt"
    path.write_text("pa pa\nchurch tʃ ɜː tʃ\n", encoding="utf-8")
    lex = read_lexicon(path, "ipa", {"p", "a", "tʃ", "ɜː"})
    assert lex.pronunciations("pa") == [("p", "a")] and lex.pronunciations("church") == [("tʃ", "ɜː", "tʃ")]
    with pytest.raises(LexiconError, match=r"ipa.txt:1: 'pa' \(pa\) in the pronunciation of 'pa' is several"):
        read_lexicon(path, "ipa")  # no symbols known to split into


def test_one_phone_and_splitting():
    assert [is_one_phone(s) for s in ("kʰ", "aɪ", "tʃ", "dʒ", "ɑːɹ", "iə")] == [True] * 6
    assert [is_one_phone(s) for s in ("pa", "æpəl", "st")] == [False] * 3
    assert split_symbols("æpəl", {"æ", "p", "ə", "l", "əl"}) == ("æ", "p", "əl")  # the fewest symbols
    assert split_symbols("æpəx", {"æ", "p", "ə"}) is None


def test_check_refuses_an_unsplittable_token_instead_of_mapping_it(tmp_path, capsys):
    import torch

    from speechtl.models.acoustic import AcousticModelConfig, build_acoustic_model
    from speechtl.models.config import ModelConfig
    from speechtl.models.io import save_model

    torch.manual_seed(0)
    model = build_acoustic_model(AcousticModelConfig(model=ModelConfig(encoder="tdnn", dim=8, layers=1)),
                                 {"en": Inventory(["æ", "p", "ə", "k", "t"])})
    save_model(model, tmp_path / "m")
    path = tmp_path / "x.txt"
    path.write_text("apple {p@l\n", encoding="utf-8")
    assert main(["lexicon", "check", str(path), "--model", str(tmp_path / "m"), "--lang", "en",
                 "--phoneset", "xsampa"]) == 2
    err = capsys.readouterr().err
    assert "x.txt:1: '{p@l' (æpəl)" in err and "->" not in err
    path.write_text("apple { p @ l\n", encoding="utf-8")  # spaced: l is mapped to its nearest, and said so
    assert main(["lexicon", "check", str(path), "--model", str(tmp_path / "m"), "--lang", " EN",
                 "--phoneset", "xsampa"]) == 0
    assert "mapped 'l' ->" in capsys.readouterr().out


def test_a_cmudict_file_read_as_espeak_hints_arpabet_and_names_the_file(cmu):
    with pytest.raises(LexiconError) as err:
        Lexicon.read(cmu).map_to(Inventory(["k", "æ"]), "en")
    message = str(err.value)
    assert message.startswith(f"{cmu}: ") and "pass --phoneset arpabet" in message


@pytest.mark.parametrize("lines", [1, 20])
def test_huge_lines_give_short_messages(tmp_path, lines):
    """A 1 MB line with NUL bytes (or 20 of them) gives a message of a few hundred characters a line."""
    path = tmp_path / "huge.txt"
    path.write_bytes(b"ok o k\n" * 40 + (b"w" + b"\x00x" * 500_000 + b" a\n") * lines)
    with pytest.raises(LexiconError) as err:
        Lexicon.read(path)
    message = str(err.value)
    assert str(path) in message and "control character" in message
    assert len(message) < 400 * lines
    words = tmp_path / "words.txt"
    words.write_bytes(b"word " + b"y" * 1_000_000 + b"\n")
    from speechtl.text.lexicon import read_word_list

    with pytest.raises(LexiconError) as err:
        read_word_list(words)
    assert len(str(err.value)) < 400
