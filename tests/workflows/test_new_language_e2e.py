"""Issue #15's "done when": languages outside the old 29-language table, in non-Latin scripts, end to end.

From the command line alone, as a new user would: Arabic (Arabic script) is
synthesised and a base model with attribute detectors is trained on it; Hindi
(Devanagari) is synthesised, added with ``--zero-shot`` (no audio, head composed
from its inventory) and with its audio (the usual add-language, starting from
the composed head), and its audio is decoded with a word list of its own
script. Neither code was in the old table; every step is tiny (seconds), so the
test shows the plumbing, not accuracy (benchmarks/zero_shot_languages.py
measures that).
"""

from __future__ import annotations

import json

import yaml

from speechtl.cli import main
from speechtl.models.io import load_model

SYNTH = dict(vocabulary=60, train_utterances=16, dev_utterances=2, test_utterances=4, train_speakers=4,
             dev_speakers=1, test_speakers=1, words_per_utterance=[1, 2], seed=0)
FAST = ["--set", "train.max_steps=4", "--set", "train.warmup_steps=1", "--set", "train.checkpoint_every=4",
        "--set", "train.log_every=1", "--set", "train.max_duration=20", "--set", "train.num_threads=1"]


def recipe(path, root, languages, **model):
    body = {"name": path.stem, "data": {"corpus": "synthetic", "root": str(root), "languages": languages,
                                        "synth": SYNTH},
            "model": {"encoder": "tdnn", "dim": 32, "layers": 1, "dropout": 0.0, **model},
            "train": {"exp_dir": str(path.parent / f"exp-{path.stem}")}}
    path.write_text(yaml.safe_dump(body, allow_unicode=True), encoding="utf-8")
    return path


def test_arabic_and_hindi_from_synthesis_to_decoding(tmp_path, capsys):
    from speechtl.data.manifests import corpus_lexicon_path

    root = tmp_path / "corpus"
    base_recipe = recipe(tmp_path / "ar.yaml", root, ["ar"], attributes=0.5)
    hi_recipe = recipe(tmp_path / "hi.yaml", root, ["hi"])
    assert main(["synth", str(base_recipe), "--jobs", "1"]) == 0
    assert main(["synth", str(hi_recipe), "--jobs", "1"]) == 0
    test_words = corpus_lexicon_path(str(root), "hi", "test").read_text(encoding="utf-8").split()
    assert test_words and all(any("\u0900" <= c <= "\u097f" for c in w) for w in test_words)  # Devanagari

    assert main(["train", str(base_recipe), *FAST]) == 0  # train: a base with attribute detectors, on Arabic
    base = tmp_path / "exp-ar" / "model"
    assert load_model(base).attributes is not None and load_model(base).languages == ["ar"]

    zero = tmp_path / "hi-zero-shot"  # add-language --zero-shot: no Hindi audio
    assert main(["add-language", "--model", str(base), "--lang", "hi", "--zero-shot", "-o", str(zero)]) == 0
    assert "head composed (attributes, " in capsys.readouterr().out
    composed = load_model(zero / "model")
    assert composed.languages == ["ar", "hi"] and "ʈ" in composed.inventories["hi"].phonemes  # retroflex: no ar

    audio = tmp_path / "hi.yaml"  # add-language with audio: the same recipe's Hindi training split
    with_audio = tmp_path / "hi-audio"
    assert main(["add-language", "--model", str(base), "--lang", "hi", "--data", str(audio),
                 "--strategy", "finetune", "-o", str(with_audio), *FAST]) == 0
    adapted = load_model(with_audio / "model")
    assert adapted.languages == ["ar", "hi"]

    words = tmp_path / "words.txt"  # decode Hindi test audio with a Devanagari word list (G2P pronunciations)
    words.write_text("\n".join(test_words) + "\n", encoding="utf-8")
    wav = sorted((root / "audio" / "hi" / "test").glob("*.wav"))[0]
    capsys.readouterr()
    for model in (zero / "model", with_audio / "model"):
        out = tmp_path / f"{model.parent.name}.jsonl"
        assert main(["decode", "--model", str(model), "--lang", "hi", "--words", str(words), "--json",
                     "-o", str(out), str(wav)]) == 0
        result = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
        assert set(result["text"].split()) <= set(test_words)  # only the word list's Devanagari words
