"""Shared fixtures: a tiny synthetic corpus made once per test session."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch

from speechtl.data.config import DataConfig, SynthConfig

from speechtl.tasks.speech.recipe import Recipe
from trained import train_small

FAKE_FSDD_SPEAKERS = ["ann", "bob", "cy"]
# a valid study file of two arms on the tiny recipe (tests of study files change one line of it)
TINY_STUDY = f"""name: t
recipe: {Path(__file__).resolve().parents[1] / "recipes" / "tiny.yaml"}
seeds: [0, 1]
arms:
  a: [model.dim=64]
  b: [model.dim=32]
metrics: {{test.per_mean: lower}}
"""
TINY_LANGUAGES = ["en", "de", "es"]


def tiny_data_config(root, **synth) -> DataConfig:
    defaults = dict(vocabulary=300, train_utterances=150, dev_utterances=8, test_utterances=20,
                    train_speakers=12, dev_speakers=2, test_speakers=4, words_per_utterance=(2, 4), seed=0)
    defaults.update(synth)
    return DataConfig(root=str(root), languages=list(TINY_LANGUAGES), synth=SynthConfig(**defaults))


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory):
    """A 3-language synthetic corpus (about a minute of audio per language)."""
    from speechtl.data.synth import synthesize_corpus

    cfg = tiny_data_config(tmp_path_factory.mktemp("tiny-corpus"))
    synthesize_corpus(cfg, jobs=2, progress=False)
    return cfg


@pytest.fixture
def tiny_recipe(tiny_corpus, tmp_path) -> Recipe:
    """A small, fast recipe over the tiny corpus, writing into a fresh experiment dir."""
    return tiny_recipe_for(tiny_corpus, tmp_path)


def tiny_recipe_for(tiny_corpus, folder) -> Recipe:
    """:func:`tiny_recipe` for fixtures of a wider scope (``folder``: where its experiment goes)."""
    recipe = Recipe(name="tiny-test", data=copy.deepcopy(tiny_corpus))  # tests may change it
    recipe.model.encoder = "tdnn"
    recipe.model.dim = 128
    recipe.model.layers = 4
    recipe.model.dropout = 0.0
    recipe.train.exp_dir = str(folder / "exp")
    recipe.train.max_duration = 40
    recipe.train.warmup_steps = 10
    recipe.train.lr = 3e-3
    recipe.train.log_every = 5
    recipe.train.checkpoint_every = 10
    recipe.train.num_threads = 1
    return recipe


@pytest.fixture(scope="session")
def es_model(tiny_corpus, tmp_path_factory):
    """A 2-layer BLSTM trained 500 steps on the tiny corpus's Spanish (words of train only)."""
    return train_small(tiny_corpus, tmp_path_factory.mktemp("es-exp"), "es", "blstm", 96, 2, 500)


@pytest.fixture(scope="session")
def fake_fsdd(tmp_path_factory):
    """An FSDD-layout folder: eSpeak saying 3 digits, 2 takes each, for 3 speakers, at 8 kHz."""
    import numpy as np

    from speechtl.data.audio import resample, save_audio
    from speechtl.data.espeak import Espeak
    from speechtl.data.fsdd import DIGIT_WORDS

    root = tmp_path_factory.mktemp("fsdd")
    (root / "recordings").mkdir()
    engine = Espeak.instance()
    for s, speaker in enumerate(FAKE_FSDD_SPEAKERS):
        for digit in (1, 4, 7):
            for take in range(2):
                samples = engine.synthesize(DIGIT_WORDS[digit], "en-us", 150 + 20 * take, 30 + 15 * s)
                wave = resample(torch.from_numpy(samples.astype(np.float32) / 32768.0), engine.sample_rate, 8000)
                save_audio(root / "recordings" / f"{digit}_{speaker}_{take}.wav", wave, 8000)
    (root / "recordings" / "README.txt").write_text("not a recording")
    return root


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)
    yield


@pytest.fixture(scope="session")
def tdnn_en_model(tiny_corpus, tmp_path_factory):
    """An English TDNN (global CMVN: it can stream) trained 300 steps on the tiny corpus; the model stem.

    Shared by the streaming, serving and batch decoding tests (about 30 s on 2 cores).
    """
    return train_small(tiny_corpus, tmp_path_factory.mktemp("en-tdnn"), "en", "tdnn", 128, 4, 300)


@pytest.fixture(scope="session")
def en_phrases(tiny_corpus):
    """``(vocabulary, [(samples at 16 kHz, text)])``: English training words and the first 6 training utterances."""
    from speechtl.data.manifests import corpus_lexicon_path, load_cuts
    from speechtl.text.lexicon import read_word_list

    vocabulary = read_word_list(corpus_lexicon_path(tiny_corpus.root, "en", "train"))
    cuts = list(load_cuts(tiny_corpus.root, "train", prefix="synth_en"))[:6]
    return vocabulary, [(torch.from_numpy(c.load_audio()[0]), c.supervisions[0].text) for c in cuts]


@pytest.fixture(scope="module")
def served(tdnn_en_model):
    """``tdnn_en_model`` as the server holds it, named ``en-tdnn`` (one per test module: tests may change it)."""
    from speechtl.serve.work import ServedModel

    return ServedModel.load(tdnn_en_model, "en-tdnn")


@pytest.fixture(scope="module")
def wav_phrase(en_phrases):
    """``(vocabulary, samples, WAV bytes)``: two training utterances with a 0.2 s pause, 16 kHz 16-bit.

    ``samples`` are the WAV's, as a server reads them back (float32).
    """
    import io

    import soundfile as sf

    vocabulary, phrases = en_phrases
    wave = torch.cat([phrases[0][0], torch.zeros(3200), phrases[1][0]]).numpy()
    buffer = io.BytesIO()
    sf.write(buffer, wave, 16000, format="WAV", subtype="PCM_16")
    return vocabulary, sf.read(io.BytesIO(buffer.getvalue()), dtype="float32")[0], buffer.getvalue()
