"""``decode --isolated`` (one word per recording, never empty) and ``decode --phoneset`` (a CMUdict lexicon)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile
import torch

from speechtl.cli import main
from speechtl.models.acoustic import AcousticModelConfig, build_acoustic_model
from speechtl.models.config import ModelConfig
from speechtl.models.io import save_model
from speechtl.text.inventory import Inventory

EN = "p t k b d ɡ s z m n l ɹ w j h iː ɪ ɛ æ ɑː ɑːɹ ʌ ʊ uː ə eɪ aɪ aɪɚ oʊ".split()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """An untrained one-head model whose blank dominates (the beam search answers nothing) and 3 recordings."""
    root = tmp_path_factory.mktemp("flags")
    torch.manual_seed(0)
    model = build_acoustic_model(AcousticModelConfig(model=ModelConfig(encoder="tdnn", dim=16, layers=1)),
                                 {"en": Inventory(EN)})
    with torch.no_grad():
        model.heads.head("en").bias[0] += 20.0  # blank everywhere: the sentence search's empty answer
    save_model(model, root / "model")
    rng = np.random.default_rng(0)
    for i in range(3):
        soundfile.write(root / f"rec{i}.wav", 0.1 * rng.standard_normal(16000).astype("float32"), 16000)
    (root / "words.txt").write_text("car\nfire\ntomato\n", encoding="utf-8")
    (root / "cmu.txt").write_text(";;; made up for this test\nCAR  K AA1 R\nFIRE  F AY1 ER0\n"
                                  "TOMATO  T AH0 M EY1 T OW2\nTOMATO(1)  T AH0 M AA1 T OW2\n", encoding="utf-8")
    return root


def _decode(setup, capsys, *extra) -> list[dict]:
    wavs = [str(setup / f"rec{i}.wav") for i in range(3)]
    assert main(["decode", *wavs, "--model", str(setup / "model"), "--format", "jsonl", *extra]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


def test_isolated_answers_one_word_per_recording_where_the_beam_search_answers_nothing(setup, capsys):
    beam = _decode(setup, capsys, "--words", str(setup / "words.txt"))
    assert all(r["text"] == "" for r in beam)
    isolated = _decode(setup, capsys, "--words", str(setup / "words.txt"), "--isolated", "--lang", " EN")
    assert len(isolated) == 3 and all(r["text"] in {"car", "fire", "tomato"} for r in isolated)


def test_decode_reads_a_cmudict_lexicon_with_phoneset(setup, capsys):
    out = _decode(setup, capsys, "--lexicon", str(setup / "cmu.txt"), "--phoneset", "arpabet", "--isolated")
    assert all(r["text"] in {"car", "fire", "tomato"} for r in out)  # folded: never 'CAR' or 'tomato(1)'
    assert main(["decode", str(setup / "rec0.wav"), "--model", str(setup / "model"), "--lexicon",
                 str(setup / "cmu.txt")]) == 2  # read as eSpeak IPA: ARPAbet named, with the flag to pass
    assert "--phoneset arpabet" in capsys.readouterr().err


def test_the_demo_ends_saying_what_the_model_hears_and_what_to_run_next():
    import shlex

    from speechtl.cli import build_parser
    from speechtl.cli.run import next_steps

    text = next_steps("exp/multilingual-synth", ["en", "de"])
    assert "can hear" in text and "cannot" in text and "real voices" in text
    assert "eSpeak NG's synthetic voices" in text  # the default engine
    mixed = next_steps("exp/x", ["en"], ["espeak", "flite", "piper"])
    assert "eSpeak NG, Flite and Piper's synthetic voices" in mixed and "only heard eSpeak NG, Flite and Piper" in mixed
    commands = [line.split("#")[0].strip() for line in text.splitlines() if line.strip().startswith("speechtl ")]
    assert len(commands) == 4 and any("--isolated" in c for c in commands)
    parser = build_parser()
    for command in commands:  # every suggested command is one the CLI accepts as written
        parser.parse_args(shlex.split(command)[1:])
