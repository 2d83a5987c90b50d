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
    assert main(["--help"]) == 0  # main returns argparse's exit status (it never raises SystemExit)
    out = capsys.readouterr().out
    for cmd in ("synth", "train", "eval", "run"):
        assert cmd in out


def test_every_option_of_every_command_has_help_and_shows_its_default():
    import argparse

    from speechtl.cli import build_parser

    def parsers(p: argparse.ArgumentParser, name: str = "speechtl"):
        yield name, p
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    yield from parsers(sub, f"{name} {sub_name}")

    missing = [f"{name} {'/'.join(a.option_strings) or a.dest}" for name, p in parsers(build_parser())
               for a in p._actions if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))
               and not a.help]
    assert missing == []
    help_text = build_parser()._subparsers._group_actions[0].choices["train"].format_help()
    assert "(default: 0)" in help_text and "--overwrite" in help_text and "--device" in help_text


def test_one_vocabulary_across_commands():
    from speechtl.cli import build_parser

    choices = build_parser()._subparsers._group_actions[0].choices
    for command in ("eval", "decode", "export", "add-language"):
        assert "--model" in choices[command].format_help(), command
    for command in ("decode", "add-language", "export"):
        assert "--lang" in choices[command].format_help(), command
    for command in ("train", "run", "eval", "decode", "sweep", "add-language"):
        text = choices[command].format_help()
        assert "--device" in text and "--threads" in text, command
    for command in ("eval", "export", "add-language"):
        assert "-o OUTPUT, --output OUTPUT" in choices[command].format_help(), command
