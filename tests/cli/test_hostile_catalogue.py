"""Issue #18's hostile-input catalogue: every probe a clear message, the right exit code, never a traceback.

The probes live in ``tests/hostile_catalogue.py`` (``python -m tests.hostile_catalogue``
runs the same probes as separate processes for ``docs/results/hardening.md``).
"""

from __future__ import annotations

import re

import pytest

from hostile_catalogue import PROBES, make_fixtures
from speechtl.cli import main


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    return make_fixtures(tmp_path_factory.mktemp("hostile"))


@pytest.mark.parametrize("probe", PROBES, ids=[p.name for p in PROBES])
def test_hostile_probe(probe, fixtures, capsys):
    code = main(probe.argv(fixtures))
    err = capsys.readouterr().err
    assert code == probe.code, err[-2000:]
    assert re.search(probe.expect, err, re.M), err[-2000:]
    assert "Traceback" not in err and len(err) < 5000  # one paragraph, values cut
    if code == 2:
        assert not (fixtures / "exp").exists()  # refused before anything was written


# ------------------------------------------------------------------ the boundary itself
def test_a_bug_is_a_short_report_naming_a_full_log(monkeypatch, tmp_path, capsys):
    import speechtl.cli
    from speechtl.cli import export as export_cli

    def broken(args):
        raise ZeroDivisionError("deep inside speechtl")

    monkeypatch.setattr(speechtl.cli, "crash_log_dir", lambda: tmp_path)
    monkeypatch.setattr(export_cli, "run", broken)
    code = main(["export", "--model", "m", "-o", "out.onnx"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and len(err.splitlines()) == 2
    assert "internal error (a bug in speechtl, not in your input): ZeroDivisionError: deep inside speechtl" in err
    (log,) = tmp_path.glob("speechtl-error-*.log")
    assert str(log) in err
    report = log.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in report and "in broken" in report and "out.onnx" in report


# ------------------------------------------------------------------ the Python API
def test_the_channel_layout_rule_is_enforced():
    import numpy as np
    import torch

    from speechtl.data.audio import samples_to_mono
    from speechtl.errors import AudioError

    wave = np.sin(np.arange(16000) / 5).astype(np.float32)
    assert samples_to_mono(wave).shape == (16000,)
    stereo = np.stack([wave, -wave], axis=1)  # (samples, channels): soundfile's layout
    assert samples_to_mono(stereo).shape == (16000,) and np.allclose(samples_to_mono(stereo), 0)
    for channels_first in (torch.from_numpy(wave)[None], np.stack([wave, wave])):  # torchaudio.load's (C, N)
        with pytest.raises(AudioError, match=r"looks channels-first .*pass wave\[0\] for one channel or wave\.T"):
            samples_to_mono(channels_first)
    with pytest.raises(AudioError, match="the samples are empty"):
        samples_to_mono(np.zeros((0,), np.float32))
    with pytest.raises(AudioError, match=r"expected samples \(samples,\) or \(samples, channels\)"):
        samples_to_mono(np.zeros((2, 3, 4), np.float32))


def test_huge_float_samples_are_scaled_with_a_note(fixtures):
    import numpy as np

    from speechtl.data.audio import limit_peak
    from speechtl.decoding.recognizer import Recognizer

    import torch

    quiet = torch.full((10,), 0.5)
    assert limit_peak(quiet) == (quiet, "")
    loud, note = limit_peak(torch.tensor([3e30, -1e30]))
    assert torch.equal(loud, torch.tensor([1.0, -1e30 / 3e30])) and "samples reach 3e+30" in note
    recognizer = Recognizer.load(fixtures / "model")
    samples = (32767 * np.sin(np.arange(16000) / 5)).astype(np.float32)  # int16 values passed as floats
    out = recognizer.transcribe(samples, "en", lexicon=fixtures / "lexicon.txt", sample_rate=16000)
    assert any("scaled down to peak 1" in n for n in out.notes) and all(np.isfinite(w.start) for w in out.words)


def test_an_nfd_lexicon_word_matches_the_nfc_word_list(fixtures):
    from hostile_catalogue import CAFE_NFC, CAFE_NFD

    from speechtl.decoding.recognizer import Recognizer
    from speechtl.decoding.metrics import error_counts
    from speechtl.text.lexicon import Lexicon, read_word_list

    lexicon = Lexicon.read(fixtures / "nfd-lexicon.txt")
    assert lexicon.words == [CAFE_NFC] and CAFE_NFD in lexicon and lexicon.pronunciations(CAFE_NFD)
    assert read_word_list(fixtures / "nfc-words.txt") == [CAFE_NFC]
    prepared = Recognizer.load(fixtures / "model").prepare("en", fixtures / "nfd-lexicon.txt", [CAFE_NFD])
    # the user's pronunciation, from the user's file: G2P did not replace it
    assert prepared.lexicon.pronunciations(CAFE_NFC) == [("k", "æ", "f", "eɪ")]
    assert prepared.lexicon.origin(CAFE_NFD, ("k", "æ", "f", "eɪ")).endswith("nfd-lexicon.txt:1")
    assert error_counts([f"un {CAFE_NFD}"], [f"un {CAFE_NFC}"]).errors == 0


def test_a_corrupt_trainer_state_is_named(tmp_path):
    from speechtl.errors import CheckpointError
    from speechtl.training.checkpoint import load_trainer_state

    (tmp_path / "trainer.json").write_text('{"state": {"__tensor__": "s.x"}}', encoding="utf-8")
    (tmp_path / "trainer.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError, match=r"unreadable trainer state .*start again with --overwrite"):
        load_trainer_state(tmp_path)


def test_override_values_are_checked_like_recipe_values(fixtures):
    from speechtl.errors import RecipeError
    from speechtl.tasks import load_recipe

    with pytest.raises(RecipeError, match=r"YAML alias \*x refused"):
        load_recipe(fixtures / "recipe.yaml", ["name=*x"])
    with pytest.raises(RecipeError, match=r"train\.device: 'gpu'; expected auto, cpu, cuda or cuda:N"):
        load_recipe(fixtures / "recipe.yaml", ["train.device=gpu"])
    with pytest.raises(RecipeError, match=r"data\.synth\.rate: \[300, 200\] is not a range"):
        load_recipe(fixtures / "recipe.yaml", ["data.synth.rate=[300, 200]"])
    with pytest.raises(RecipeError, match=r"model\.kernel_size: 4; expected an odd width"):
        load_recipe(fixtures / "recipe.yaml", ["model.kernel_size=4"])
    with pytest.raises(RecipeError, match=r"transfer\.multitask\.task_weights\.en: -1\.0 is out of range"):
        load_recipe(fixtures / "recipe.yaml", ["transfer.multitask.task_weights={en: -1.0}"])
    with pytest.raises(RecipeError, match=r"\.\.\.<\d+ more characters>\.\.\."):
        load_recipe(fixtures / "recipe.yaml", ["name=" + "y" * 100000 + ": 1"])


@pytest.mark.parametrize("field, value, message", [
    ("size", -16, r"size: -16 is out of range; expected a value in \[4, 1024\]"),
    ("size", "16", r"size: expected int, got str '16'"),
    ("classes", "0123456789", r"classes: expected list\[str \| int\], got str"),
    ("classes", ["7"], r"classes: \['7'\]; expected at least two"),
    ("model", {"dropout": 1.5}, r"model\.dropout: 1\.5 is out of range; expected a value in \[0, 1\)"),
])
def test_image_model_metadata_is_checked(tmp_path, field, value, message):
    import json

    from speechtl.errors import CheckpointError
    from speechtl.tasks.image.model import build_image_model, load_image_model, save_image_model
    from speechtl.tasks.image.recipe import ImageModelConfig

    cfg = ImageModelConfig(width=4, dim=8)
    save_image_model(build_image_model(cfg, 16, ["0", "1"]), tmp_path / "m", cfg, 16)
    meta = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    (tmp_path / "m.json").write_text(json.dumps({**meta, field: value}), encoding="utf-8")
    with pytest.raises(CheckpointError, match="malformed image model metadata: " + message):
        load_image_model(tmp_path / "m")
