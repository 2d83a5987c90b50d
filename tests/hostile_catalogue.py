"""The hostile-input catalogue of issue #18: each probe a command line, the message it must give, and the exit code.

``tests/cli/test_hostile_catalogue.py`` runs every probe through :func:`speechtl.cli.main`
in-process; ``python -m tests.hostile_catalogue`` runs every probe as a real
``python -m speechtl`` process and writes ``benchmarks/results/hostile_catalogue.json``,
from which ``python -m scripts.make_results`` writes ``docs/results/hardening.md``.
``before`` is the behaviour found on the earlier main, as issue #18 reports it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
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
    show: str = ""  # regular expression of the stderr line the results table shows (default: the first message)


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
    make_file_fixtures(root, meta, weights)
    return root


def make_file_fixtures(root: Path, meta: dict, weights: bytes) -> None:
    """What issue #27's file probes use: hostile model files, a locked and a cluttered experiment folder."""
    import os
    import socket

    deep = json.dumps(meta)[:-1] + ', "x": ' + "[" * 10000 + "]" * 10000 + "}"
    zeroed = weights[:-1000] + bytes(1000)
    hostile = {"deep": (deep, weights), "dim-4096": ({**meta, "model": {**meta["model"], "dim": 4096}}, weights),
               "unverified": ({k: v for k, v in meta.items() if k != "sha256"}, zeroed)}
    for stem, (data, blob) in hostile.items():
        (root / f"{stem}.safetensors").write_bytes(blob)
        (root / f"{stem}.json").write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    step = root / "fifo-exp" / "checkpoints" / "step-0000001"
    step.mkdir(parents=True, exist_ok=True)
    (step / "model.safetensors").write_bytes(weights)
    if not (step / "model.json").exists():
        os.mkfifo(step / "model.json")
    (root / "deep.yaml").write_text("name: " + "[" * 50000 + "]" * 50000 + "\n", encoding="utf-8")
    (root / "rec.wav").write_bytes((root / "speech.wav").read_bytes())
    (root / "report.txt").write_text("last week's report\n", encoding="utf-8")
    few = root / "few"
    few.mkdir(exist_ok=True)
    rng = np.random.default_rng(1)
    for i in range(7):
        sf.write(few / f"r{i}.wav", (0.1 * rng.standard_normal(8000 + 800 * i)).astype(np.float32), 16000)
    if not (few / "pipe.wav").exists():
        os.mkfifo(few / "pipe.wav")
        (few / "gone.wav").symlink_to(root / "nowhere.wav")
    for name in ("few-exp", "cluttered-exp", "locked-exp"):
        (root / f"{name}.yaml").write_text(
            f"model: {{encoder: tdnn, dim: 16, layers: 1, dropout: 0.0}}\n"
            f"pretrain: {{audio: [{few}], codebook_size: 8, mask_prob: 0.05, mask_span: 5}}\n"
            f"train: {{exp_dir: {root / name}, max_steps: 2, warmup_steps: 1, max_duration: 5, num_threads: 1, "
            f"checkpoint_every: 1000}}\n", encoding="utf-8")
    cluttered = root / "cluttered-exp"  # the probe's folder: a stray model.json beside the user's work
    (cluttered / "thesis").mkdir(parents=True, exist_ok=True)
    (cluttered / "thesis" / "chapter1.tex").write_text("\\chapter{One}", encoding="utf-8")
    (cluttered / "mydata").mkdir(exist_ok=True)
    (cluttered / "model.json").write_text("{}", encoding="utf-8")
    (root / "locked-exp").mkdir(exist_ok=True)  # held by a live process (PID 1 always runs)
    (root / "locked-exp" / ".speechtl.lock").write_text(json.dumps(
        {"pid": 1, "host": socket.gethostname(), "started": "2026-12-07T09:00:00+00:00",
         "command": "speechtl train other.yaml"}), encoding="utf-8")


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
    # ------------------------------------------------ files the user owns (issue #27)
    Probe("decode-into-its-input", "decode rec.wav -o rec.wav", "the recording emptied (output opened first)",
          _decode("model", "rec.wav", "--greedy", "-o", "rec.wav"),
          r"error: -o .*rec\.wav: is one of the inputs \(.*rec\.wav\); writing there would destroy it"),
    Probe("decode-missing-into-report", "decode missing.wav -o report.txt (an earlier report there)",
          "the earlier report emptied", _decode("model", "missing.wav", "--greedy", "-o", "report.txt"),
          r"note: nothing written to .*report\.txt \(it stays as it was\)"),
    Probe("disk-full", "decode -o /dev/full (every write: No space left on device)",
          "exit 1 \"internal error (a bug ...): No space left on device\" (train, add-language -o)",
          lambda d: ["decode", "--model", str(d / "model"), str(d / "speech.wav"), "--greedy", "-o", "/dev/full"],
          r"error: /dev/full: cannot write: No space left on device \(free some space"),
    Probe("overwrite-beside-user-files", "pretrain --overwrite into a folder holding a stray model.json, "
          "thesis/chapter1.tex and mydata/", "the whole folder deleted (train --overwrite)",
          lambda d: ["pretrain", str(d / "cluttered-exp.yaml"), "--overwrite"],
          r"^(?![\s\S]*error)", code=0, show="--overwrite: kept"),  # tests/training/test_file_safety.py checks the files
    Probe("second-run-same-folder", "a run into a folder another live run holds (its lock names PID 1)",
          "both start; one dies on checkpoints/latest.tmp: No such file or directory",
          lambda d: ["pretrain", str(d / "locked-exp.yaml"), "--overwrite"],
          r"locked-exp: in use by another run \(pid 1, started 2026-12-07T09:00:00\+00:00: speechtl train"),
    Probe("pretrain-seven-files", "pretrain on a folder of 7 readable files, a FIFO and a dangling link",
          "AssertionError (10 buckets > 7 recordings); FIFOs and dangling links skipped uncounted",
          lambda d: ["pretrain", str(d / "few-exp.yaml")], r"^(?![\s\S]*error)", code=0,
          show="unlabelled audio: kept"),
    # ------------------------------------------------ model and recipe files (issue #27)
    Probe("model-json-deep", "model.json nested 10,000 deep", "RecursionError reported as an internal error",
          _decode("deep", "speech.wav", "--greedy"), r"deep\.json: not a speechtl model metadata file: JSON nested "
          r"more than 64 levels deep"),
    Probe("recipe-deep", "a recipe nested 50,000 deep", "RecursionError reported as an internal error",
          lambda d: ["train", str(d / "deep.yaml")], r"deep\.yaml: not valid YAML: nested more than 32 levels deep"),
    Probe("set-deep", "--set name=[[[...]]] nested 50,000 deep", "RecursionError reported as an internal error",
          lambda d: ["train", str(d / "recipe.yaml"), "--set", "name=" + "[" * 50000 + "]" * 50000],
          r"--set name: value .* is not valid YAML: nested more than 32 levels deep"),
    Probe("model-dim-edited", "model.json with model.dim edited from 8 to 4096",
          "2.4 GB and 13 s before the refusal (16384: a memory-allocation failure)",
          _decode("dim-4096", "speech.wav", "--greedy"),
          r"dim-4096\.json: weights do not fit the recorded model: it describes .* with shape \[4096.*\], "
          r"the weights hold \[8"),
    Probe("model-json-fifo", "a FIFO where a checkpoint's model.json should be", "hangs",
          _decode("fifo-exp/checkpoints/step-0000001", "speech.wav", "--greedy"),
          r"step-0000001/model\.json: is a FIFO; speechtl reads this only from a regular file"),
    Probe("model-unverified", "model.json without its sha256, 1,000 weight bytes zeroed", "loads and decodes silently",
          _decode("unverified", "speech.wav", "--greedy"),
          r"unverified\.json: records no SHA-256 of its weights.*pass --accept-unverified"),
]


REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results" / "hostile_catalogue.json"


def run_probe(probe, fixtures: Path) -> dict:
    """Run one probe in its own process; what it printed, its exit status, and whether it passed."""
    cmd = [sys.executable, "-m", "speechtl", *probe.argv(fixtures)]
    proc = subprocess.run(cmd, env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}, cwd=REPO, capture_output=True, text=True, timeout=600)
    err = proc.stderr.replace(str(fixtures) + "/", "")  # paths relative to the fixtures folder
    lines = err.splitlines()
    first = next((i for i, line in enumerate(lines) if line.startswith("speechtl")), max(len(lines) - 1, 0))
    message = lines[first : first + 4]  # the message (and, for a lexicon, its first problems)
    shown = [re.sub(r"^\d\d:\d\d:\d\d ", "", line) for line in lines if probe.show and re.search(probe.show, line)]
    message = shown[:1] or message  # a probe that succeeds: the line that says what it did
    if not message and proc.stdout.strip():  # no complaint: what it printed instead
        message = ["(stdout) " + proc.stdout.strip().splitlines()[0].replace(str(fixtures) + "/", "")]
    return {"name": probe.name, "input": probe.input, "before": probe.before,
            "argv": ["speechtl", *[a.replace(str(fixtures) + "/", "") for a in cmd[3:]]],
            "exit_code": proc.returncode, "expected_exit_code": probe.code,
            "message": "\n".join(message), "stderr_bytes": len(proc.stderr.encode()),
            "traceback": "Traceback" in proc.stderr,
            "passed": proc.returncode == probe.code and "Traceback" not in proc.stderr
            and re.search(probe.expect, proc.stderr, re.M) is not None}


def _machine() -> dict:
    """What the probes ran on (the page names it)."""
    return {"date": datetime.date.today().isoformat(), "cpu": platform.processor() or platform.machine(),
            "cpus_usable": len(os.sched_getaffinity(0)), "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
            "torch": torch.__version__, "python": platform.python_version()}


def main() -> None:
    """Run every probe (or ``--only`` some) as a real process; the raw results to ``RESULTS``."""
    parser = argparse.ArgumentParser(description="the hostile-input catalogue, each probe a real speechtl process")
    parser.add_argument("--only", nargs="+", metavar="PROBE",
                        help="rerun these probes and replace their rows in the JSON (the others are kept)")
    args = parser.parse_args()
    earlier = json.loads(RESULTS.read_text(encoding="utf-8"))["probes"] if args.only else []
    with tempfile.TemporaryDirectory() as tmp:
        fixtures = make_fixtures(Path(tmp) / "fixtures")
        fresh = {}
        for probe in PROBES:
            if args.only and probe.name not in args.only:
                continue
            fresh[probe.name] = run_probe(probe, fixtures)
            print(f"{probe.name}: exit {fresh[probe.name]['exit_code']}, "
                  f"{'ok' if fresh[probe.name]['passed'] else 'NOT AS EXPECTED'}", flush=True)
    kept = {r["name"]: r for r in earlier}
    probes = [fresh.get(p.name) or kept[p.name] for p in PROBES]
    RESULTS.write_text(json.dumps({"machine": _machine(), "probes": probes}, indent=2) + "\n")
    print(f"wrote {RESULTS}; the page: python -m scripts.make_results")


if __name__ == "__main__":
    main()
