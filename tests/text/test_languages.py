"""Languages from eSpeak NG itself, their text sources and script normalisation."""

from __future__ import annotations

import pytest

from speechtl.errors import LanguageError
from speechtl.text.g2p import phonemize, pronounce
from speechtl.text.g2p_lexicon import frequent_lexicon, frequent_words
from speechtl.text.languages import LANGUAGES, close_matches, espeak_languages, get_language
from speechtl.text.normalize import normalize_text, unsegmented


def test_every_espeak_language_is_usable_and_the_old_table_is_kept():
    espeak = espeak_languages()
    assert len(espeak) > 100
    assert set(espeak) <= set(LANGUAGES)  # every language eSpeak can phonemise, by its own name
    for code in ["en", "de", "fr", "es", "pl", "ru", "el", "sw", "vi", "ar", "hi", "ko", "cmn", "ka", "am"]:
        assert code in LANGUAGES, code
    assert get_language("en").espeak == "en-us" and get_language("fr").synth_voice == "fr"
    assert get_language("sw").wordfreq == "" and get_language("ar").wordfreq == "ar"
    assert get_language("hr").wordfreq == "sh"  # an explicit alias, never wordfreq's guess
    assert get_language("pt-BR").code == "pt-br"  # regional codes as corpora write them
    assert not get_language("cmn").spaces and not get_language("th").spaces and get_language("ar").spaces


def test_unknown_code_lists_close_matches():
    assert "vi" in close_matches("vn")
    assert "sw" in close_matches("swahili")
    assert "pt-br" in close_matches("pt-xx")
    with pytest.raises(LanguageError, match=r"unknown language 'swahili'.*close matches: sw \(Swahili\)"):
        get_language("swahili")


def test_every_language_synthesises_with_its_voice():
    from speechtl.data.espeak import Espeak

    engine = Espeak.instance()
    for code in ["sw", "ka", "cmn", "en-gb", "fr", "hi"]:
        assert len(engine.synthesize("a", get_language(code).synth_voice + "+m3")) > 0, code


@pytest.mark.parametrize("language,word", [("ru", "привет"), ("el", "καλημέρα"), ("ar", "مرحبا"),
                                           ("hi", "नमस्ते"), ("ko", "안녕하세요"), ("sw", "habari"),
                                           ("ka", "გამარჯობა")])
def test_non_latin_and_new_languages_phonemise(language, word):
    prons = pronounce([word], language)
    assert len(prons[word]) >= 3


def test_plain_words_keep_their_combining_marks():
    from speechtl.text.g2p_lexicon import is_plain_word

    assert is_plain_word("नमस्ते") and is_plain_word("привет") and is_plain_word("café")
    assert not is_plain_word("\u0301a") and not is_plain_word("a1") and not is_plain_word("USA")


def test_scripts_without_spaces_take_words_as_given():
    # eSpeak splits 世界 into two words of its own; the word given is kept whole
    assert phonemize(["你好 世界"], "cmn")[0] == [["n", "i2", "χ", "ɑu2"], ["s.", "i.5", "tɕ", "iɛ5"]]
    lex = frequent_lexicon("cmn", 5)
    assert len(lex) == 5 and all(len(w) >= 2 for w in lex)


def test_script_normalisation_keeps_diacritics_and_drops_each_scripts_punctuation():
    assert normalize_text("Cafe\u0301, OK?") == "café ok"  # NFD in, NFC out, accent kept
    assert normalize_text("مرحبا، كيف حالك؟") == "مرحبا كيف حالك"
    assert normalize_text("नमस्ते। आप कैसे हैं?") == "नमस्ते आप कैसे हैं"
    assert normalize_text("你好。世界、") == "你好 世界"
    assert normalize_text("Καλημέρα!") == "καλημέρα"
    assert not unsegmented("我们 中国") and unsegmented("我们是中国人我们是中国人我们")


def test_a_language_without_wordfreq_needs_the_recipe_key_or_a_text_file(tmp_path):
    with pytest.raises(LanguageError, match=r"data\.synth\.text_files: \{sw: FILE\}"):
        frequent_words("sw", 10)
    text = tmp_path / "sw.txt"
    text.write_text("Habari yako? Habari njema.\nasante sana, asante!\nhabari\n", encoding="utf-8")
    assert frequent_words("sw", 3, text) == ["habari", "asante", "yako"]
    assert set(frequent_lexicon("sw", 3, text_file=text).words) == {"habari", "asante", "yako"}
    unspaced = tmp_path / "cmn.txt"
    unspaced.write_text("我们是中国人我们是中国人我们\n", encoding="utf-8")
    with pytest.raises(LanguageError, match=r"cmn.txt:1: .* without spaces .* segmented"):
        frequent_words("cmn", 3, unspaced)


def test_synthetic_corpus_refuses_a_language_without_text_naming_the_key(tmp_path):
    from speechtl.data.config import DataConfig, SynthConfig
    from speechtl.data.synth import synthesize_corpus

    cfg = DataConfig(root=str(tmp_path), languages=["sw"], synth=SynthConfig())
    with pytest.raises(LanguageError, match=r"data\.synth\.text_files"):
        synthesize_corpus(cfg, jobs=1, progress=False)


def test_languages_command_lists_what_each_language_has(capsys):
    from speechtl.cli import main

    assert main(["languages"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:-1]}
    assert len(rows) == len(LANGUAGES) and "sw" in rows and "cmn" in rows
    assert rows["en"].split()[2:4] == ["en", "yes"]  # wordfreq list, shipped lexicon
    assert rows["sw"].split()[2:4] == ["-", "-"]
    assert main(["languages", "vi", "en"]) == 0
    out = capsys.readouterr().out.splitlines()
    vi, en = out[1].split(), out[3].split()
    assert vi[5:7] == ["yes", "yes"] and en[5:7] == ["-", "yes"]  # tone, length marks
    assert main(["languages", "vn"]) == 2
    assert "close matches: vi" in capsys.readouterr().err
