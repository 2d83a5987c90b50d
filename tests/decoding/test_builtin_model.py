"""The shipped model ``builtin:multilingual-synth``: it loads with no training, recognises English, and
``Recognizer.from_pretrained`` takes a local folder or a Hub id (offline here: the network is never used)."""

from __future__ import annotations

import json
import shutil
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

from speechtl.cli import main
from speechtl.data.espeak import Espeak
from speechtl.decoding.metrics import error_counts
from speechtl.decoding.recognizer import Recognizer
from speechtl.errors import CheckpointError
from speechtl.resources import builtin_model
from speechtl.text.g2p import phonemize_words

NAME = "multilingual-synth"
LANGUAGES = ["de", "en", "es", "fr", "it", "nl", "pl", "pt"]
# read by eSpeak NG's en-us voice (not a variant of the training pools) at its default pitch
SENTENCE = "the children were playing in the garden after school"


@pytest.fixture(scope="module")
def shipped():
    return Recognizer.load(f"builtin:{NAME}")


@pytest.fixture(scope="module")
def english():
    """``(samples, rate)``: the sentence spoken by eSpeak NG (22,050 Hz, resampled by the recogniser)."""
    engine = Espeak.instance()
    return engine.synthesize(SENTENCE, "en-us", 165, 50).astype(np.float32) / 32768, engine.sample_rate


def test_the_shipped_folder_is_a_small_float16_hub_folder(shipped):
    from safetensors import safe_open

    folder = builtin_model(f"builtin:{NAME}")
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "model.json", "model.safetensors"]
    assert sum(p.stat().st_size for p in folder.iterdir()) < 20_000_000  # the CI hook's limit
    meta = json.loads((folder / "model.json").read_text())
    assert meta["weights_dtype"] == "float16" and meta["model"]["attributes"] > 0  # zero-shot works from it
    with safe_open(str(folder / "model.safetensors"), "pt") as f:
        dtypes = {k: f.get_slice(k).get_dtype() for k in f.keys()}
    params = [name for name, _ in shipped.model.named_parameters()]
    assert params and all(dtypes[name] == "F16" for name in params)  # stored in half precision
    card = (folder / "README.md").read_text()
    assert all(f"| {lang} |" in card for lang in LANGUAGES) and "synthetic speech only" in card.lower()


def test_the_shipped_model_loads_in_float32_and_has_eight_heads(shipped):
    assert sorted(shipped.languages) == LANGUAGES
    assert {p.dtype for p in shipped.model.parameters()} == {torch.float32}  # upcast when loaded


def test_the_shipped_model_recognises_an_english_sentence(shipped, english):
    audio, rate = english
    out = shipped.transcribe(audio, "en", sample_rate=rate)
    ref = " ".join(p for word in phonemize_words(SENTENCE.split(), "en") for p in word)
    hyp = " ".join(p for p in out.phonemes.split() if p != "|")
    per = error_counts([ref], [hyp]).rate
    # measured 2026-12-07: PER 15.2%, 6 of the 10 words right (no language model, 20,000 lexicon words);
    # wrong weights (a shuffled head, weights not upcast) give a PER near 100% and no right word
    assert per < 0.35, (per, ref, hyp)
    assert len(set(SENTENCE.split()) & set(out.text.split())) >= 3, out.text


def test_decode_command_with_the_builtin_model(tmp_path, english, capsys):
    audio, rate = english
    sf.write(tmp_path / "x.wav", audio, rate)
    assert main(["decode", "--model", f"builtin:{NAME}", "--lang", "en", str(tmp_path / "x.wav"), "-q"]) == 0
    text = capsys.readouterr().out
    assert len(set(SENTENCE.split()) & set(text.split())) >= 3, text


def test_an_unknown_builtin_name_lists_the_shipped_ones(capsys):
    with pytest.raises(CheckpointError, match=f"no builtin model named 'nope'; shipped: .*{NAME}"):
        Recognizer.load("builtin:nope")
    assert main(["decode", "--model", "builtin:nope", "--lang", "en", "x.wav"]) == 2
    err = capsys.readouterr().err
    assert f"shipped: {NAME}" in err and "Traceback" not in err


def test_from_pretrained_loads_a_local_folder(tmp_path):
    folder = tmp_path / "my-model"
    shutil.copytree(builtin_model(f"builtin:{NAME}"), folder)
    assert sorted(Recognizer.from_pretrained(folder).languages) == LANGUAGES
    assert sorted(Recognizer.from_pretrained(str(folder)).languages) == LANGUAGES


def test_a_hub_id_offline_says_so_in_one_line_and_names_the_cache(tmp_path, monkeypatch):
    hub = pytest.importorskip("huggingface_hub")
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # read at import; the test must never reach the network
    monkeypatch.chdir(tmp_path)  # "someone/model" is no folder here
    cache = tmp_path / "hf-cache"
    with pytest.raises(CheckpointError) as err:
        Recognizer.from_pretrained("someone/speechtl-model", cache_dir=cache)
    message = str(err.value)
    assert "\n" not in message and str(cache) in message and "cannot be reached" in message
    assert hub.__name__ == "huggingface_hub"


def test_a_hub_id_without_huggingface_hub_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # import fails as if not installed
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CheckpointError, match=r"someone/speechtl-model: no such folder; .*pip install 'speechtl\[hub\]'"):
        Recognizer.from_pretrained("someone/speechtl-model")


def test_neither_folder_nor_hub_id(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CheckpointError, match="no such folder, and not a Hugging Face Hub id"):
        Recognizer.from_pretrained("not/a/hub/id")


def test_a_zero_shot_language_from_the_shipped_model(tmp_path):
    """The attribute detectors compose a Swedish head with no audio (``add-language --zero-shot``)."""
    out = tmp_path / "sv"
    assert main(["add-language", "--model", f"builtin:{NAME}", "--lang", "sv", "--zero-shot", "-o", str(out), "-q"]) == 0
    rec = Recognizer.load(out / "model")
    assert sorted(rec.languages) == sorted([*LANGUAGES, "sv"])
    assert "ʉ" in rec.model.inventories["sv"].tokens  # Swedish's own vowel, composed from its attributes
