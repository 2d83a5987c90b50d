import pytest

from speechtl.cli import main


def test_recipe_error_is_one_line_not_a_traceback(tmp_path, capsys):
    p = tmp_path / "r.yaml"
    p.write_text("model:\n  layers: many\n")
    assert main(["train", str(p)]) == 2
    err = capsys.readouterr().err
    assert "model.layers: expected int" in err and "Traceback" not in err


def test_unsupported_language_error(tmp_path, capsys):
    p = tmp_path / "r.yaml"
    p.write_text(f"data:\n  root: {tmp_path}/data\n  languages: [en, xx]\n")
    assert main(["synth", str(p)]) == 2
    assert "unknown language 'xx': eSpeak NG has no such language" in capsys.readouterr().err


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for cmd in ("synth", "train", "eval", "run"):
        assert cmd in out
