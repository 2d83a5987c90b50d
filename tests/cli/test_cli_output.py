"""Command-line outputs: --help without torch, -v/-q/--log-file after the subcommand, VTT/TSV, --output-dir."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

import pytest

import speechtl
from speechtl.cli import _HANDLERS, build_parser, main, setup_logging
from speechtl.decoding import formats
from speechtl.decoding.align import WordSegment
from speechtl.decoding.recognizer import Transcript

ROOT = Path(speechtl.__file__).resolve().parents[1]


def imported_modules(*args: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run ``python -X importtime -m speechtl ARGS``; the modules it imported."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "speechtl", *args], capture_output=True,
                          text=True, env=env, timeout=120)
    modules = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    return done, modules


@pytest.mark.parametrize("args", [["--help"], ["decode", "--help"], ["score", "--help"]])
def test_help_imports_neither_torch_nor_numpy(args):
    done, modules = imported_modules(*args)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage: speechtl" in done.stdout
    assert "speechtl.decoding.formats" in modules  # the measurement sees the subcommands' own imports
    assert not {"torch", "numpy", "lhotse", "torchaudio"} & modules


def test_logging_options_are_accepted_after_the_subcommand_too():
    parser = build_parser()
    late = parser.parse_args(["decode", "--model", "m", "a.wav", "-v", "--log-file", "x.log"])
    early = parser.parse_args(["-v", "--log-file", "x.log", "decode", "--model", "m", "a.wav"])
    assert late.verbose and early.verbose and late.log_file == early.log_file == "x.log"
    plain = parser.parse_args(["decode", "--model", "m", "a.wav"])
    assert not plain.verbose and not plain.quiet and plain.log_file is None
    assert parser.parse_args(["-q", "decode", "--model", "m", "a.wav"]).quiet  # not reset by the subcommand
    with pytest.raises(SystemExit):
        parser.parse_args(["decode", "--model", "m", "a.wav", "-v", "-q"])


def test_log_file_gets_the_log_and_quiet_stderr_only_warnings(tmp_path):
    root = logging.getLogger()
    kept = root.handlers[:]
    level = root.level
    root.handlers = []  # as in a plain `speechtl` process
    try:
        setup_logging(Namespace(verbose=False, quiet=True, log_file=str(tmp_path / "run.log")))
        stream, file = _HANDLERS
        assert stream.level == logging.WARNING and file.level == logging.INFO
        logging.getLogger("speechtl.test").info("written to the file only")
        file.flush()
        assert "written to the file only" in (tmp_path / "run.log").read_text()
    finally:
        for handler in _HANDLERS:
            root.removeHandler(handler)
            handler.close()
        _HANDLERS.clear()
        root.handlers = kept
        root.setLevel(level)


def test_an_unwritable_log_file_is_a_user_error(tmp_path, capsys):
    assert main(["recipes", "list", "--log-file", str(tmp_path / "missing" / "run.log")]) == 2
    assert "--log-file" in capsys.readouterr().err


def transcript(source: str = "a.wav") -> Transcript:
    words = [WordSegment("one", 0.12, 0.5, ["w", "ʌ", "n"], 0.9), WordSegment("two", 0.8, 1.1, ["t", "uː"], 0.8),
             WordSegment("three", 3.0, 3.4, ["θ", "ɹ", "iː"], 0.7)]  # after a 1.9 s pause: a second cue
    return Transcript(source, "en", 4.0, words)


def test_vtt_and_tsv_cues_split_at_pauses():
    t = transcript()
    assert formats.vtt(t) == ("WEBVTT\n\n00:00:00.120 --> 00:00:01.100\none two\n"
                              "\n00:00:03.000 --> 00:00:03.400\nthree\n")
    assert formats.tsv(t) == "start\tend\ttext\n120\t1100\tone two\n3000\t3400\tthree\n"
    empty = Transcript("b.wav", "en", 1.0, [])
    assert formats.vtt(empty) == "WEBVTT\n" and formats.tsv(empty) == "start\tend\ttext\n"


@pytest.mark.parametrize("fmt", formats.FORMATS)
def test_output_dir_writes_one_file_per_recording(fmt, tmp_path):
    from speechtl.cli.decode import Output

    out = Output(fmt, None, False, True, str(tmp_path / "out"))
    for uid in ("a", "sub/b"):
        out.write(uid, transcript(f"{uid}.wav"))
    out.close()
    ext = formats.EXTENSIONS[fmt]
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == [f"a.{ext}", f"sub_b.{ext}"]
    assert (tmp_path / "out" / f"a.{ext}").read_text(encoding="utf-8") == formats.render(fmt, "a", transcript("a.wav"))


def test_documents_of_several_recordings_need_a_folder():
    from speechtl.cli.decode import Output
    from speechtl.errors import SpeechtlError

    with pytest.raises(SpeechtlError, match="--format vtt with several recordings needs --output-dir"):
        Output("vtt", None, False, True)
    with pytest.raises(SpeechtlError, match="not both"):
        Output("text", "x.txt", False, True, "dir")


def test_decode_cli_output_dir_vtt(tdnn_en_model, en_phrases, tmp_path, capsys):
    import soundfile as sf

    vocabulary, phrases = en_phrases
    for i, (samples, _) in enumerate(phrases[:2]):
        sf.write(tmp_path / f"p{i}.wav", samples.numpy(), 16000)
    words = tmp_path / "words.txt"
    words.write_text("\n".join(vocabulary) + "\n", encoding="utf-8")
    argv = ["decode", "--model", str(tdnn_en_model), "--words", str(words), "--format", "vtt",
            "--output-dir", str(tmp_path / "subs"), str(tmp_path / "p0.wav"), str(tmp_path / "p1.wav"), "-q"]
    assert main(argv) == 0
    assert capsys.readouterr().out == ""
    for i in range(2):
        vtt = (tmp_path / "subs" / f"p{i}.vtt").read_text(encoding="utf-8")
        assert vtt.startswith("WEBVTT\n\n00:00:") and " --> " in vtt
