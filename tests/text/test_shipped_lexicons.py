"""The README's lexicon workflow in every shipped language, against a trained tiny model (issue #18, item 1).

`lexicon merge` over the shipped lexicon, then `lexicon check`, then `decode --lexicon`:
the shipped lexicons use phonemes a model trained on a small corpus never saw
(``x``, ``iːː``, ``r``, ``ɑ̃`` ...); each is mapped to the head's nearest phoneme
by articulatory features and reported, never silently dropped.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from speechtl.cli import main
from speechtl.data.config import DEFAULT_LANGUAGES
from speechtl.models.io import load_model
from speechtl.tasks.speech.recipe import Recipe
from speechtl.text.g2p_lexicon import shipped_lexicon
from speechtl.text.lexicon import Lexicon
from speechtl.workflows.train import train

from conftest import tiny_data_config

USER_WORDS = {"en": "zorblat z ɔː ɹ b l æ t", "de": "zorblat t s ɔ ʁ b l a t", "es": "zorblat θ o ɾ β l a t",
              "fr": "zorblat z ɔ ʁ b l a t", "it": "zorblat d z o r b l a t", "nl": "zorblat z ɔ r b l ɑ t",
              "pt": "zorblat z o ɾ b l a t", "pl": "zorblat z ɔ r b l a t"}


@pytest.fixture(scope="module")
def model8(tmp_path_factory):
    """A tiny TDNN trained briefly on a small corpus of all 8 shipped languages."""
    from speechtl.data.synth import synthesize_corpus

    cfg = tiny_data_config(tmp_path_factory.mktemp("corpus8"), vocabulary=20, train_utterances=8,
                           dev_utterances=2, test_utterances=2, train_speakers=2, dev_speakers=1, test_speakers=1)
    cfg.languages = list(DEFAULT_LANGUAGES)
    synthesize_corpus(cfg, jobs=2, progress=False)
    recipe = Recipe(name="tiny-8", data=copy.deepcopy(cfg))
    recipe.model.encoder, recipe.model.dim, recipe.model.layers, recipe.model.dropout = "tdnn", 32, 2, 0.0
    recipe.train.exp_dir = str(tmp_path_factory.mktemp("exp8"))
    recipe.train.max_duration, recipe.train.max_steps, recipe.train.warmup_steps = 40, 6, 1
    recipe.train.log_every, recipe.train.checkpoint_every, recipe.train.num_threads = 3, 6, 1
    return train(recipe, progress=False) / "model", cfg


def test_the_shipped_lexicons_use_phonemes_the_tiny_model_lacks(model8):
    model = load_model(model8[0])
    lacking = {lang: set(shipped_lexicon(lang).symbols()) - set(model.inventories[lang].phonemes)
               for lang in DEFAULT_LANGUAGES}
    assert all(lacking.values()), lacking  # so the workflow below exercises the mapping in every language


@pytest.mark.parametrize("lang", DEFAULT_LANGUAGES)
def test_merge_check_decode_works_for_every_shipped_language(model8, lang, tmp_path, capsys):
    model_path, cfg = model8
    user = tmp_path / "my.txt"
    user.write_text(USER_WORDS[lang] + "\n", encoding="utf-8")
    merged = tmp_path / "merged.txt"
    assert main(["lexicon", "merge", "--lang", lang, str(user), "-o", str(merged)]) == 0
    capsys.readouterr()

    assert main(["lexicon", "check", str(merged), "--model", str(model_path), "--lang", lang]) == 0
    out = capsys.readouterr().out
    inventory = load_model(model_path).inventories[lang]
    lacking = sorted(Lexicon.read(merged).symbols() - set(inventory.phonemes))
    mapped = [line for line in out.splitlines() if line.startswith("  mapped ")]
    # every symbol the head lacks is reported once (Unicode-equivalent spellings are the same symbol)
    assert lacking and len(mapped) <= len(lacking) and mapped
    assert "phonemes the " in out and "--strict refuses them" in out
    assert main(["lexicon", "check", str(merged), "--model", str(model_path), "--lang", lang, "--strict"]) == 2
    assert "unknown phoneme" in capsys.readouterr().err

    wav = sorted(Path(cfg.root).glob(f"audio/{lang}/test/*.wav"))[0]
    assert main(["decode", "--model", str(model_path), "--lang", lang, "--lexicon", str(merged), str(wav)]) == 0
    assert capsys.readouterr().out.startswith(f"{wav}: ")
