"""Lexicon files: parsing rules, every validation error, merging, word lists, G2P, shipped files."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from speechtl.errors import LexiconError
from speechtl.data.config import DEFAULT_LANGUAGES
from speechtl.text.inventory import Inventory
from speechtl.text.g2p_lexicon import add_context_variants, g2p_lexicon, shipped_lexicon, shipped_lexicon_dir
from speechtl.text.lexicon import Lexicon, read_word_list, write_word_list

INVENTORY = Inventory(["a", "b", "k", "t", "ɛ", "oʊ"])


def write(tmp_path, data: bytes | str, name="lex.txt"):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def test_parses_words_pronunciations_tabs_blank_lines_and_crlf(tmp_path):
    path = write(tmp_path, "\ufeffcat k a t\r\n\nbat\tb a t\n   \ncat k ɛ t\ncat k a t\n")
    lex = Lexicon.read(path)
    assert lex.words == ["cat", "bat"]
    assert lex.pronunciations("cat") == [("k", "a", "t"), ("k", "ɛ", "t")]  # order of preference kept
    assert lex.pronunciations("bat") == [("b", "a", "t")]
    assert lex.duplicates == 1  # the repeated "cat k a t" line
    assert lex.origin("cat", ["k", "ɛ", "t"]) == f"{path}:5"
    lex.validate(INVENTORY, "en")


@pytest.mark.parametrize("content, expected", [
    (b"cat k a t\nbad b \xe9 t\n", ":2: not UTF-8 (byte 0xe9 at column 7)"),
    ("cat k a t\n\tk a t\n", ":2: line starts with whitespace, so it has no word"),
    ("cat k a t\nlonely\n", ":2: empty pronunciation for word 'lonely'"),
    ("cat k a | t\n", ":1: symbol '|' in the pronunciation of 'cat' is reserved"),
    ("cat k <blank> t\n", ":1: symbol '<blank>' in the pronunciation of 'cat' is reserved"),
    ("cat k a\x00 t\n", ":1: control character in line"),
])
def test_each_malformed_line_is_named(tmp_path, content, expected):
    path = write(tmp_path, content)
    with pytest.raises(LexiconError) as err:
        Lexicon.read(path)
    assert f"{path}{expected}" in str(err.value)


def test_all_problems_are_reported_at_once(tmp_path):
    path = write(tmp_path, "a\nb\n\tc d\nok a\n" + "x\n" * 30)
    with pytest.raises(LexiconError) as err:
        Lexicon.read(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: 33 problems")
    assert f"{path}:1:" in msg and f"{path}:3:" in msg and "and 13 more" in msg


def test_unknown_phoneme_names_file_line_and_symbol(tmp_path):
    path = write(tmp_path, "cat k a t\nrouge ʁ u ʒ\n")
    lex = Lexicon.read(path)
    with pytest.raises(LexiconError) as err:
        lex.validate(INVENTORY, "en")
    msg = str(err.value)
    assert f"{path}:2: unknown phoneme 'ʁ' in the pronunciation of 'rouge'" in msg
    assert "en head" in msg and "inventory has: " in msg
    mapped, mappings = lex.map_to(INVENTORY, "en")  # the nearest by articulatory features, reported
    assert [(m.symbol, m.target) for m in mappings] == [("ʁ", "k"), ("u", "oʊ"), ("ʒ", "t")]  # x->k 1.0, u->ʊ+glide
    assert mappings[0].uses == [f"{path}:2 'rouge'"]
    assert mapped.pronunciations("rouge") == [("k", "oʊ", "t")] and mapped.pronunciations("cat") == [("k", "a", "t")]


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(LexiconError, match="no such file"):
        Lexicon.read(tmp_path / "nope.txt")
    with pytest.raises(LexiconError, match="cannot read"):
        Lexicon.read(tmp_path)  # a directory


def test_user_entries_win_when_merged():
    shipped = Lexicon.from_mapping({"cat": [["k", "a", "t"], ["k", "ɛ", "t"]], "bat": ["b", "a", "t"]})
    user = Lexicon.from_mapping({"cat": ["k", "oʊ", "t"], "tab": ["t", "a", "b"]})
    merged = shipped.merge(user)
    assert merged.pronunciations("cat") == [("k", "oʊ", "t")]
    assert merged.pronunciations("bat") == [("b", "a", "t")]
    assert merged.words == ["bat", "cat", "tab"]


def test_word_lists(tmp_path):
    path = write(tmp_path, "hello\n\n  world  \nhello\n", "words.txt")
    assert read_word_list(path) == ["hello", "world"]
    bad = write(tmp_path, b"ok\nhello h e l o\n\xff\n", "bad.txt")
    with pytest.raises(LexiconError) as err:
        read_word_list(bad)
    assert f"{bad}:2: expected one word per line" in str(err.value)
    assert f"{bad}:3: not UTF-8" in str(err.value)
    out = tmp_path / "w.txt"
    write_word_list(out, ["a", "b"])
    assert read_word_list(out) == ["a", "b"]


def test_g2p_pronounces_words_on_the_fly_and_reports_the_rest():
    lex, missing = g2p_lexicon(["hello", "world", "2024", "hello"], "en", context=False)
    assert lex.words == ["hello", "world"]
    assert lex.pronunciations("hello")[0][0] == "h"
    assert lex.origin("hello", lex.pronunciations("hello")[0]) == "g2p(en)"
    assert missing == ["2024"]  # read as several words


def test_context_variants_add_espeak_cross_word_forms():
    lex = add_context_variants(Lexicon.from_mapping({"dia": ["d", "j", "a"]}), "es")
    assert lex.pronunciations("dia") == [("d", "j", "a"), ("ð", "j", "a")]  # lenition after a vowel


def test_shipped_lexicons_are_small_and_well_formed():
    for lang in DEFAULT_LANGUAGES:
        path = shipped_lexicon_dir() / f"{lang}.txt"
        assert path.stat().st_size < 2_000_000, lang
    lex = shipped_lexicon("en")
    assert len(lex) == 20000 and "the" in lex
    with pytest.raises(LexiconError, match="no shipped lexicon for language 'xx'"):
        shipped_lexicon("xx")


# ------------------------------------------------------------------ properties
WORD = st.text(st.characters(blacklist_categories=("Z", "C")), min_size=1, max_size=8)
PHONEME = st.text(st.characters(blacklist_categories=("Z", "C"), blacklist_characters="|"), min_size=1,
                  max_size=3).filter(lambda p: p != "<blank>")
ENTRIES = st.lists(st.tuples(WORD, st.lists(PHONEME, min_size=1, max_size=6)), max_size=20)


@settings(max_examples=60, deadline=None)
@given(ENTRIES)
def test_write_then_read_gives_the_same_lexicon(tmp_path_factory, entries):
    lex = Lexicon(entries)
    path = tmp_path_factory.mktemp("prop") / "lex.txt"
    lex.write(path)
    again = Lexicon.read(path)
    assert again == lex and list(again.items()) == list(lex.items())


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_parse_or_raise_a_lexicon_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "lex.txt"
    path.write_bytes(data)
    try:
        lex = Lexicon.read(path)
    except LexiconError as err:
        assert str(path) in str(err)
    else:
        for word, pron in lex.items():
            assert word and pron and not any(c.isspace() for c in word)
