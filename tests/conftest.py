"""Shared fixtures: a tiny synthetic corpus made once per test session."""

from __future__ import annotations

import copy

import pytest
import torch

from speechtl.data.config import DataConfig, SynthConfig

from speechtl.tasks.speech.recipe import Recipe

FAKE_FSDD_SPEAKERS = ["ann", "bob", "cy"]
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
    recipe = Recipe(name="tiny-test", data=copy.deepcopy(tiny_corpus))  # tests may change it
    recipe.model.encoder = "tdnn"
    recipe.model.dim = 128
    recipe.model.layers = 4
    recipe.model.dropout = 0.0
    recipe.train.exp_dir = str(tmp_path / "exp")
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
    from speechtl.workflows.train import train

    recipe = Recipe(name="tiny-es", data=copy.deepcopy(tiny_corpus))  # a copy: shared
    recipe.data.languages = ["es"]
    recipe.model.encoder, recipe.model.dim, recipe.model.layers, recipe.model.dropout = "blstm", 96, 2, 0.0
    recipe.train.exp_dir = str(tmp_path_factory.mktemp("es-exp"))
    recipe.train.max_duration, recipe.train.max_steps, recipe.train.warmup_steps = 40, 500, 10
    recipe.train.lr, recipe.train.num_threads = 3e-3, 1
    recipe.train.log_every, recipe.train.checkpoint_every = 100, 1000
    torch.manual_seed(0)
    return train(recipe, progress=False) / "model"


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
