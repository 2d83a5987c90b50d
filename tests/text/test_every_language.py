"""Every eSpeak NG language through ``lexicon build`` and ``add-language --zero-shot``: a result or one paragraph.

Languages wordfreq has no list for (Swahili, Welsh, Georgian...) have no carrier
words for eSpeak's in-context pronunciations: their words are pronounced alone,
with a one-line note, instead of the crash they used to end in.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from speechtl.cli import main
from speechtl.models.acoustic import AcousticModelConfig, build_acoustic_model
from speechtl.models.config import ModelConfig
from speechtl.models.io import load_model, save_model
from speechtl.text.inventory import Inventory
from speechtl.text.languages import LANGUAGES

# 20 words in 12 scripts: each language pronounces those of its script (or none, and says so)
WORDS = ("maji nyumba kitabu habari water casa вода дом мама νερό σπίτι ماء بيت पानी घर წყალი 水 น้ำ מים ջուր"
         ).split()
EN = "p t k b d ɡ s z m n l ɹ w j h iː ɪ ɛ æ ɑː ʌ ʊ uː ə eɪ aɪ oʊ".split()
ES = "p t k b d ɡ s m n l r ɾ j a e i o u x tʃ β ð ɣ".split()


def _one_paragraph(message: str) -> bool:
    """A user error: a few lines at most, no traceback, no internal error."""
    return ("Traceback" not in message and "internal error" not in message and "\n\n" not in message.strip()
            and len(message) < 1500)


@pytest.fixture(scope="module")
def words_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("words") / "words.txt"
    path.write_text("\n".join(WORDS) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def base_model(tmp_path_factory) -> Path:
    """An untrained two-head model with attribute detectors (the plumbing, not accuracy)."""
    torch.manual_seed(0)
    config = AcousticModelConfig(model=ModelConfig(encoder="tdnn", dim=16, layers=1, attributes=0.5))
    stem = tmp_path_factory.mktemp("base") / "model"
    save_model(build_acoustic_model(config, {"en": Inventory(EN), "es": Inventory(ES)}), stem)
    return stem


def test_lexicon_build_ends_in_a_lexicon_for_every_language(words_file, tmp_path, capsys):
    assert len(LANGUAGES) > 100
    failed = {}
    for code in LANGUAGES:
        out = tmp_path / f"{code}.txt"
        status = main(["lexicon", "build", str(words_file), "--lang", code, "-o", str(out)])
        captured = capsys.readouterr()
        if status != 0 or not out.is_file():
            failed[code] = (status, captured.err[-300:])
    assert failed == {}
    swahili = (tmp_path / "sw.txt").read_text(encoding="utf-8").splitlines()
    assert "maji m a ɟ i" in swahili  # a language wordfreq lacks pronounces the words of its script


@pytest.mark.parametrize("code", ["sw", "cy", "ka", "chr-us-qaaa-x-west"])
def test_a_language_without_a_word_list_is_pronounced_alone_with_a_note(code, words_file, tmp_path, capsys, caplog):
    from speechtl.text.g2p_lexicon import _note_no_context

    _note_no_context.cache_clear()
    assert not LANGUAGES[code].wordfreq
    with caplog.at_level(logging.WARNING):
        assert main(["lexicon", "build", str(words_file), "--lang", code, "-o", str(tmp_path / "lex.txt")]) == 0
        assert main(["lexicon", "build", str(words_file), "--lang", code, "-o", str(tmp_path / "lex.txt")]) == 0
    notes = [r.getMessage() for r in caplog.records if "without eSpeak's in-context" in r.getMessage()]
    assert len(notes) == 1 and code in notes[0]  # once per language, one line
    assert "\n" not in notes[0]


def test_zero_shot_ends_in_a_model_or_one_paragraph_for_every_language(base_model, words_file, tmp_path, capsys):
    outcomes, bad = {}, {}
    for code in LANGUAGES:
        out = tmp_path / code
        status = main(["add-language", "--model", str(base_model), "--lang", code, "--zero-shot",
                       "--text-file", str(words_file), "-o", str(out), "--replace-head"])
        captured = capsys.readouterr()
        if status == 0 and (out / "model.safetensors").is_file():
            outcomes[code] = "model"
        elif status == 2 and _one_paragraph(captured.err):
            outcomes[code] = "message"
        else:
            bad[code] = (status, captured.err[-300:])
    assert bad == {}
    made = {c for c, o in outcomes.items() if o == "model"}
    assert {"sw", "ru", "ar", "hi", "ka", "el", "he", "hy", "th", "es"} <= made  # each script of the text
    assert len(made) > 80


def test_the_readme_swahili_zero_shot_runs_as_written(base_model, tmp_path, capsys, caplog):
    """``add-language --lang sw --zero-shot -o DIR``: no word list, no file: eSpeak's number words, with a note."""
    out = tmp_path / "exp" / "add-sw-zero-shot"
    with caplog.at_level(logging.WARNING):
        assert main(["add-language", "--model", str(base_model), "--lang", "sw", "--zero-shot", "-o", str(out)]) == 0
    assert any("wordfreq has no word list for sw" in r.getMessage() for r in caplog.records)
    model = load_model(out / "model")
    assert model.languages == ["en", "es", "sw"]
    assert {"a", "e", "i", "o", "u", "m", "t"} <= set(model.inventories["sw"].phonemes)
    from speechtl.decoding.recognizer import Recognizer  # decode --lang sw --words: G2P without context

    prepared = Recognizer.load(out / "model").prepare("sw", words=["maji", "tatu"])
    assert prepared.lexicon.pronunciations("tatu") == [("t", "a", "t", "u")]


def test_a_language_with_neither_word_list_nor_numbers_gets_one_paragraph(base_model, tmp_path, capsys):
    assert main(["add-language", "--model", str(base_model), "--lang", "grc", "--zero-shot",
                 "-o", str(tmp_path / "grc")]) == 2
    err = capsys.readouterr().err
    assert "--text-file" in err and "Ancient" in err and _one_paragraph(err)


@pytest.mark.parametrize("typed", ["SW", " sw", "Sw "])
def test_language_codes_are_normalised_before_they_name_a_head(typed, base_model, tmp_path, capsys):
    out = tmp_path / "zs"
    lexicon = tmp_path / "sw.txt"
    lexicon.write_text("maji m a ɟ i\n", encoding="utf-8")
    assert main(["add-language", "--model", str(base_model), "--lang", typed, "--zero-shot", "--lexicon",
                 str(lexicon), "-o", str(out)]) == 0
    assert load_model(out / "model").languages == ["en", "es", "sw"]
    assert main(["add-language", "--model", str(out / "model"), "--lang", "sw", "--zero-shot", "--lexicon",
                 str(lexicon), "-o", str(tmp_path / "again")]) == 2  # the same head, not a second one
    assert "already has a head for 'sw'" in capsys.readouterr().err
    assert main(["lexicon", "build", str(lexicon.with_name("w.txt")), "--lang", typed, "-o",
                 str(tmp_path / "l.txt")]) == 2  # the word list is missing; the code itself was accepted
    assert "unknown language" not in capsys.readouterr().err


@pytest.mark.parametrize("typed, close", [("swa", "sw"), ("klingon", "piqd"), ("pt_PT", "pt"), ("eng", "en"),
                                         ("deu", "de"), ("iw", "he")])
def test_an_unknown_code_suggests_the_closest(typed, close, words_file, tmp_path, capsys):
    assert main(["lexicon", "build", str(words_file), "--lang", typed, "-o", str(tmp_path / "l.txt")]) == 2
    err = capsys.readouterr().err
    assert f"unknown language {typed!r}" in err and f"{close} (" in err


def test_recipe_language_codes_are_normalised():
    from speechtl.data.config import DataConfig
    from speechtl.errors import RecipeError

    from speechtl.data.config import CorpusPart

    config = DataConfig(languages=["EN", " de", "pt_BR", "my-own-corpus"], corpus="lhotse",
                        parts=[CorpusPart(path="cuts.jsonl.gz", split="train", language="DE ")])
    config.validate()
    assert config.languages == ["en", "de", "pt-br", "my-own-corpus"]  # a code eSpeak lacks is left to its check
    assert config.parts[0].language == "de"
    with pytest.raises(RecipeError, match="en listed more than once"):
        DataConfig(languages=["en", "EN"]).validate()


def test_an_empty_lexicon_gives_no_inventory_and_says_so(base_model, tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n", encoding="utf-8")
    assert main(["add-language", "--model", str(base_model), "--lang", "sw", "--zero-shot", "--lexicon", str(empty),
                 "-o", str(tmp_path / "zs")]) == 2
    assert "no pronunciation to take the sw inventory from" in capsys.readouterr().err
