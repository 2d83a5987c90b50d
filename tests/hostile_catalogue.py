"""The hostile-input catalogue of issue #18: each probe a command line, the message it must give, and the exit code.

Shared by ``tests/test_hostile_catalogue.py`` (runs every probe through
:func:`speechtl.cli.main` in-process) and ``benchmarks/hostile_catalogue.py``
(runs every probe as a real ``python -m speechtl`` process and writes the
table of ``docs/results/hardening.md``). ``before`` is the behaviour found on
the earlier main, as issue #18 reports it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import soundfile as sf
import torch

CAFE_NFD = "cafe\u0301"  # "café" with a combining acute accent
CAFE_NFC = "caf\u00e9"


@dataclass(frozen=True)
class Probe:
    """One hostile input: what it is, what it did before, and what it must do now."""

    name: str  # short id (test ids, JSON keys)
    input: str  # the hostile input, in words
    before: str  # behaviour on the earlier main (issue #18)
    argv: Callable[[Path], list[str]]  # the command line, given the fixtures folder
    expect: str  # regular expression the stderr must match
    code: int = 2  # expected exit status


def make_fixtures(root: Path) -> Path:
    """Write what the probes use into ``root``: a tiny untrained model, audio, lexicons, recipes."""
    from speechtl.models.config import ModelConfig
    from speechtl.models.io import save_model
    from speechtl.tasks.speech.model import build_model
    from speechtl.tasks.speech.recipe import Recipe
    from speechtl.text.inventory import Inventory

    root.mkdir(parents=True, exist_ok=True)
    inventory = Inventory(["h", "ə", "l", "oʊ", "k", "æ", "f", "eɪ"])
    torch.manual_seed(0)
    model = build_model(Recipe(model=ModelConfig(encoder="tdnn", dim=8, layers=1)), {"en": inventory})
    with torch.no_grad():  # an untrained model that hears nothing: blank wins every frame
        model.heads.heads["en"].bias[inventory.blank] += 20.0
    save_model(model, root / "model")
    meta = json.loads((root / "model.json").read_text(encoding="utf-8"))
    weights = (root / "model.safetensors").read_bytes()
    broken = {"inventories-string": {**meta, "inventories": "h ə l oʊ"},
              "negative-dim": {**meta, "model": {**meta["model"], "dim": -8}},
              "zero-shift": {**meta, "features": {**meta["features"], "frame_shift_ms": 0}},
              "future": {**meta, "version": 99}}
    for stem, data in broken.items():
        (root / f"{stem}.safetensors").write_bytes(weights)
        (root / f"{stem}.json").write_text(json.dumps(data), encoding="utf-8")
    (root / "evil.pt").write_bytes(b"\x80\x04K\x01.")  # a pickle
    rng = np.random.default_rng(0)
    sf.write(root / "speech.wav", (0.1 * rng.standard_normal(16000)).astype(np.float32), 16000)
    sf.write(root / "silence.wav", np.zeros(16000, np.float32), 16000)
    sf.write(root / "huge.wav", (1e30 * np.sin(np.arange(16000) / 5)).astype(np.float32), 16000, subtype="FLOAT")
    (root / "empty.wav").write_bytes(b"")
    (root / "folder.wav").mkdir(exist_ok=True)
    (root / "lexicon.txt").write_text("hello h ə l oʊ\n", encoding="utf-8")
    (root / "bad-lexicon.txt").write_text("hello h ə l oʊ\nhallo h a l o\nhullo h ʊ l oʊ\n", encoding="utf-8")
    (root / "utf16-lexicon.txt").write_bytes("hello h ə l oʊ\ncafé k æ f eɪ\n".encode("utf-16"))
    (root / "nfd-lexicon.txt").write_text(f"{CAFE_NFD} k æ f eɪ\n", encoding="utf-8")
    (root / "nfc-words.txt").write_text(f"{CAFE_NFC}\n", encoding="utf-8")
    # an "anchor bomb": 9 levels of 9 aliases each would expand to 387 million strings
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    (root / "bomb.yaml").write_text("\n".join(levels) + "\nname: *a8\n", encoding="utf-8")
    (root / "recipe.yaml").write_text(f"name: probe\ndata: {{root: {root / 'data'}, languages: [en]}}\n"
                                      f"train: {{exp_dir: {root / 'exp'}}}\n", encoding="utf-8")
    (root / "long-name.yaml").write_text(f"name: [{', '.join(['x' * 50] * 15000)}]\n", encoding="utf-8")
    (root / "recipe-folder").mkdir(exist_ok=True)
    return root


def _train(*overrides: str) -> Callable[[Path], list[str]]:
    return lambda d: ["train", str(d / "recipe.yaml"), *[a for o in overrides for a in ("--set", o)]]


def _decode(model: str, *args: str) -> Callable[[Path], list[str]]:
    return lambda d: ["decode", "--model", str(d / model), *[str(d / a) if "." in a and not a.startswith("-")
                                                              else a for a in args]]


OUT_OF_RANGE = r"{key}: {value} is out of range; expected a value in {interval}"

PROBES = [
    # ---------------------------------------------------------------- recipes
    Probe("yaml-anchor-bomb", "a recipe of a few hundred bytes whose name: is 9 levels of 9 nested YAML aliases",
          "a 30 MB one-line error; two more levels: MemoryError",
          lambda d: ["train", str(d / "bomb.yaml")], r"bomb\.yaml: not valid YAML: YAML alias \*a0 refused"),
    Probe("long-value", "a recipe whose name: is a list of 15,000 50-character strings (800 kB)",
          "the whole value printed in the error (megabytes)",
          lambda d: ["train", str(d / "long-name.yaml")],
          r"name: expected str, got list \['x+\.\.\.<\d+ more characters>\.\.\.x+'\]$"),
    Probe("model-dim-0", "model.dim: 0", "traceback", _train("model.dim=0"),
          OUT_OF_RANGE.format(key=r"model\.dim", value="0", interval=r"\[1, inf\)")),
    Probe("train-lr-negative", "train.lr: -1", "traceback", _train("train.lr=-1"),
          OUT_OF_RANGE.format(key=r"train\.lr", value=r"-1\.0", interval=r"\(0, inf\)")),
    Probe("data-languages-empty", "data.languages: []", "traceback", _train("data.languages=[]"),
          r"data\.languages: \[\] names no language"),
    Probe("train-max-duration-0", "train.max_duration: 0 (the batch size; it was train.max_frames)",
          "traceback (train.max_frames: 0)", _train("train.max_duration=0"),
          OUT_OF_RANGE.format(key=r"train\.max_duration", value=r"0\.0", interval=r"\(0, inf\)")),
    Probe("train-max-steps-0", "train.max_steps: 0", "an untrained model written, exit 0", _train("train.max_steps=0"),
          OUT_OF_RANGE.format(key=r"train\.max_steps", value="0", interval=r"\[1, inf\)")),
    Probe("train-max-steps-negative", "train.max_steps: -5", "an untrained model written, exit 0",
          _train("train.max_steps=-5"),
          OUT_OF_RANGE.format(key=r"train\.max_steps", value="-5", interval=r"\[1, inf\)")),
    Probe("model-layers-negative", "model.layers: -1", "a model without encoder blocks trained",
          _train("model.layers=-1"), OUT_OF_RANGE.format(key=r"model\.layers", value="-1", interval=r"\[1, inf\)")),
    Probe("nan-in-recipe", "train.lr: .nan (YAML's NaN)", "not probed in #18", _train("train.lr=.nan"),
          r"train\.lr: expected a finite number, got nan"),
    Probe("recipe-is-folder", "a directory given as the recipe", "not probed in #18",
          lambda d: ["train", str(d / "recipe-folder")], r"recipe-folder: is a directory; expected a recipe YAML"),
    # ------------------------------------------------------------ model files
    Probe("meta-inventories-string", "model.json whose inventories is a string", "traceback",
          _decode("inventories-string", "speech.wav", "--greedy"),
          r"malformed model metadata: inventories: expected dict\[str, list\[str\]\], got str"),
    Probe("meta-negative-dim", "model.json with model.dim: -8", "traceback",
          _decode("negative-dim", "speech.wav", "--greedy"),
          r"malformed model metadata: " + OUT_OF_RANGE.format(key=r"model\.dim", value="-8",
                                                              interval=r"\[1, inf\)")),
    Probe("meta-zero-frame-shift", "model.json with features.frame_shift_ms: 0", "traceback",
          _decode("zero-shift", "speech.wav", "--greedy"),
          r"malformed model metadata: " + OUT_OF_RANGE.format(key=r"features\.frame_shift_ms", value=r"0\.0",
                                                              interval=r"\[1, 1000\]")),
    Probe("meta-future-version", "model.json of format version 99", "loaded",
          _decode("future", "speech.wav", "--greedy"),
          r"model format version '99'; this speechtl reads versions 1 to \d"),
    Probe("model-pt", "--model evil.pt (a pickle)", "\"evil.json: model file not found\"",
          _decode("evil.pt", "speech.wav"), r"evil\.pt: not a speechtl model; a model is NAME\.safetensors"),
    Probe("model-missing", "--model missing.pt (no such file)", "not probed in #18 (evil.pt: the .json was named)",
          _decode("missing.pt", "speech.wav"), r"missing\.pt: model file not found \(no .*missing\.json\)"),
    # ------------------------------------------------------- decoding options
    Probe("lm-weight-nan", "--lm-weight nan", "accepted", _decode("model", "speech.wav", "--lm-weight", "nan"),
          r"argument --lm-weight: expected a finite number, got 'nan'"),
    Probe("word-score-inf", "--word-score inf", "accepted", _decode("model", "speech.wav", "--word-score", "inf"),
          r"argument --word-score: expected a finite number, got 'inf'"),
    Probe("beam-0", "--beam 0", "not probed in #18", _decode("model", "speech.wav", "--beam", "0"),
          OUT_OF_RANGE.format(key=r"decode\.beam_size", value="0", interval=r"\[1, inf\)")),
    # ------------------------------------------------------------------ audio
    Probe("audio-empty-file", "a zero-byte .wav", "\"Format not recognised\"",
          _decode("model", "empty.wav", "--greedy"), r"empty\.wav: the file is empty \(0 bytes\)"),
    Probe("audio-directory", "a directory given as audio", "\"no such audio file\"",
          _decode("model", "folder.wav", "--greedy"), r"folder\.wav: a folder with no audio files in it"),
    Probe("audio-huge-samples", "float WAV with samples of 1e30", "NaN features, an empty transcript, no note",
          _decode("model", "huge.wav", "--lexicon", "lexicon.txt"),
          r"note: .*huge\.wav: at 0\.00 s: samples reach 1e\+30, far outside \[-1, 1\]; scaled down to peak 1",
          code=0),
    Probe("empty-transcript", "audio in which no lexicon word scores", "\"FILE: \" and no note",
          _decode("model", "silence.wav", "--lexicon", "lexicon.txt"),
          r"note: .*silence\.wav: no words recognised: no lexicon word scored within the beam", code=0),
    # --------------------------------------------------------------- lexicons
    Probe("lexicon-problem-header", "lexicon check with two unknown phonemes",
          "\"lexicon: 3 problems\" (the inventory hint counted, the file not named)",
          lambda d: ["lexicon", "check", "--strict", "--model", str(d / "model"), "--lang", "en",
                     str(d / "bad-lexicon.txt")],
          r"bad-lexicon\.txt: 2 problems:\n.*:2: unknown phoneme 'a'.*\n.*:3: unknown phoneme 'ʊ'.*\n"
          r"  the model's en inventory has: "),
    Probe("lexicon-utf16", "a lexicon saved as UTF-16", "11 problems, no hint about the encoding",
          lambda d: ["lexicon", "check", "--model", str(d / "model"), "--lang", "en", str(d / "utf16-lexicon.txt")],
          r"utf16-lexicon\.txt: looks like UTF-16 text .*convert it, e\.g\. iconv -f UTF-16 -t UTF-8"),
    Probe("output-inside-a-file", "-o a path under a regular file (lexicon build -o speech.wav/x.txt)",
          "not probed in #18",
          lambda d: ["lexicon", "build", str(d / "nfc-words.txt"), "--lang", "en", "-o", str(d / "speech.wav" / "x.txt")],
          r"speech\.wav.*: Not a directory"),
    Probe("output-missing-folder", "-o a path in a folder that does not exist (lexicon build -o new/words.txt)",
          "traceback",
          lambda d: ["lexicon", "build", str(d / "nfc-words.txt"), "--lang", "en", "-o", str(d / "new" / "words.txt")],
          r"^(?![\s\S]*error)", code=0),  # no error at all: the folder is made
]
