"""``speechtl lexicon build | merge | check`` from the command line."""

from speechtl.cli import main
from speechtl.text.lexicon import Lexicon


def test_build_reports_words_g2p_cannot_pronounce(tmp_path, capsys):
    words = tmp_path / "words.txt"
    words.write_text("hello\nworld\n1999\n", encoding="utf-8")
    out = tmp_path / "lex.txt"
    assert main(["lexicon", "build", "--lang", "en", str(words), "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert "cannot pronounce '1999' natively" in captured.err
    lex = Lexicon.read(out)
    assert lex.words == ["hello", "world"]


def test_merge_over_the_shipped_lexicon_user_wins(tmp_path, capsys):
    user = tmp_path / "user.txt"
    user.write_text("the ð ʌ\nspeechtl s p iː tʃ t iː ɛ l\n", encoding="utf-8")
    out = tmp_path / "merged.txt"
    assert main(["lexicon", "merge", "--lang", "en", str(user), "-o", str(out)]) == 0
    merged = Lexicon.read(out)
    assert merged.pronunciations("the") == [("ð", "ʌ")]
    assert "speechtl" in merged and "and" in merged and len(merged) == 20001
    assert main(["lexicon", "merge", str(user), "-o", str(out)]) == 2  # neither --lang nor --base
    assert "exactly one of --lang" in capsys.readouterr().err


def test_bad_lexicon_file_is_one_clear_line_per_problem(tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"ok o k\nempty\n\xff\xfe x\n")
    out = tmp_path / "o.txt"
    assert main(["lexicon", "merge", "--base-lexicon", str(bad), str(bad), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:2: empty pronunciation for word 'empty'" in err
    assert f"{bad}:3: not UTF-8 (byte 0xff at column 1)" in err and "Traceback" not in err


def test_help_lists_decode_and_lexicon(capsys):
    assert main(["--help"]) == 0  # main returns argparse's exit status (it never raises SystemExit)
    out = capsys.readouterr().out
    assert "decode" in out and "lexicon" in out
