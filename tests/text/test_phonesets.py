"""Phone sets (eSpeak IPA, IPA, X-SAMPA, ARPAbet) and nearest-phone mapping by articulatory features."""

from __future__ import annotations

import pytest

from speechtl.errors import LexiconError
from speechtl.text.inventory import Inventory
from speechtl.text.lexicon import Lexicon
from speechtl.text.lexicon_import import read_lexicon
from speechtl.text.phonesets import convert_pronunciation, looks_like, nearest_phone, phone_distance


def test_conversion_of_each_phone_set_to_ipa():
    assert convert_pronunciation(["HH", "AH0", "L", "OW1"], "arpabet") == ("h", "ə", "l", "oʊ")
    assert convert_pronunciation(["CH", "ER1", "CH"], "arpabet") == ("tʃ", "ɜː", "tʃ")
    assert convert_pronunciation(["h", "@", "l", "oU"], "xsampa") == ("h", "ə", "l", "oʊ")
    assert convert_pronunciation(["tS", "{", "t"], "xsampa") == ("tʃ", "æ", "t")
    assert convert_pronunciation(["ˈt͡ʃ", "a:", "g"], "ipa") == ("tʃ", "aː", "ɡ")
    assert convert_pronunciation(["g", "a:"], "espeak") == ("g", "a:")  # the model's own symbols: as written
    assert convert_pronunciation(["h", "ə"], "arpabet") == "h"  # the first symbol that is not ARPAbet


def test_the_phone_set_a_lexicon_looks_like():
    assert looks_like(["HH", "AH0", "L", "OW1"]) == "arpabet"
    assert looks_like(["h", "@", "l", "oU"]) == "xsampa"
    assert looks_like(["h", "ə", "l", "oʊ"]) is None


def test_nearest_phone_by_articulatory_features():
    assert nearest_phone("x", ["k", "s", "a"]) == ("k", 1.0)  # velar fricative -> velar stop
    assert nearest_phone("ʁ", ["ɣ", "k", "a"])[0] == "ɣ"  # voiced fricative, place one step away
    assert nearest_phone("iːː", ["i", "ɛ", "a"])[0] == "i"  # length only
    assert nearest_phone("ɑ̃", ["ɑ", "n", "ə"])[0] == "ɑ"  # nasality only
    assert nearest_phone("tʃ", ["t", "k", "a"])[0] == "t"  # an affricate's stop; its release costs one segment
    assert nearest_phone("aɪ", ["e", "a", "i"])[0] == "a"  # a diphthong's nucleus
    assert nearest_phone("i2", ["i5", "a2"]) == ("i5", 0.5)  # eSpeak tone digits: the tone costs 0.5
    assert nearest_phone("HH", ["h"]) is None  # not IPA: no features
    assert phone_distance("x", "x") == 0.0 and phone_distance("x", "k") == phone_distance("k", "x")


def test_wrong_phone_set_names_line_symbol_and_flag(tmp_path):
    path = tmp_path / "cmu.txt"
    path.write_text("hello HH AH0 L OW1\ncat K AE1 T\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"(?s)cmu.txt:1: phoneme 'HH' in the pronunciation of 'hello'.*"
                                           r"looks like ARPAbet, not eSpeak IPA: pass --phoneset arpabet"):
        Lexicon.read(path).map_to(Inventory(["h", "ə", "l", "oʊ", "k", "æ", "t"]), "en")
    assert read_lexicon(path, "arpabet").pronunciations("cat") == [("k", "æ", "t")]
    ipa = tmp_path / "ipa.txt"
    ipa.write_text("cat k æ t\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"(?s)ipa.txt:1: 'æ' in the pronunciation of 'cat' is not ARPAbet.*"
                                           r"looks like eSpeak IPA, not ARPAbet: leave out --phoneset"):
        read_lexicon(ipa, "arpabet")


def test_unicode_equivalent_spellings_are_the_same_symbol_and_lone_tone_marks_drop():
    lex = Lexicon.from_mapping({"bom": ["b", "\u00f5"], "an": ["a", "1", "n"]})  # õ precomposed
    mapped, mappings = lex.map_to(Inventory(["b", "o\u0303", "a", "n"]))  # the model's õ: o + combining tilde
    assert mapped.pronunciations("bom") == [("b", "o\u0303")]
    assert [(m.symbol, m.target) for m in mappings] == [("1", "")]  # reported, then dropped
    assert mapped.pronunciations("an") == [("a", "n")]
