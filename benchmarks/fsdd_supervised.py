"""Supervised check on real speech: FSDD word accuracy with 4 labelled speakers, tested on the 2 others.

Plain supervised CTC training (no transfer method) on the true labels of 4 Free
Spoken Digit Dataset speakers (their recordings 5-49; 0-4 are the recipe's dev
split), scored on the 2 speakers never heard in training (1,000 recordings),
decoded with the 10 digit words; rotated over the 3 held-out pairs. Every run
sees the same data order and steps; the runs differ only in the setting named.

``--select`` is the settings study, made without rotation K's test pair
(``--rotation K``, default 1; ``selection_speakers``): on rotation K's four training
speakers, train on three and score the fourth (rotation 1: lucas, nicolas, theo;
yweweler) -- a speaker-held-out dev, since held-out recordings of the training
speakers (the recipe's dev split, 94-98% correct) cannot show whether a setting
generalises to new voices. The studies measured so far ran for rotation 1 only and
their choice was used in every rotation, which is not nested: rotations 2 and 3
test on speakers they trained on or scored (yweweler is a test speaker of
rotation 3), so only rotation 1 (``FREE_OF_SELECTION``) is free of the selection.
Nested: one study per rotation (``--rotation 1``, ``2``, ``3``), then each rotation
run with its own choice (``--pairs K --set ...``).

``--curve`` is the learning curve on rotation 1: 1, 2, 3 and 4 labelled speakers.

``--norm`` chooses the feature normalisation (``features.cmvn``: per utterance, global,
sliding window) on the same speaker-held-out dev as ``--select``, over ``--seeds``.

Run it alone, one thread::

    OMP_NUM_THREADS=1 python -m benchmarks.fsdd_supervised --select
    OMP_NUM_THREADS=1 python -m benchmarks.fsdd_supervised
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import REPO, env, machine, speechtl_cmd, summary, write_result

FSDD = "../shared/data/fsdd"
SPEAKERS = ["george", "jackson", "lucas", "nicolas", "theo", "yweweler"]
PAIRS = [SPEAKERS[i:i + 2] for i in range(0, 6, 2)]
RECIPE = "recipes/fsdd-supervised.yaml"
# rotations whose test pair the settings studies measured so far (--select, --norm, rotation 1's speakers,
# their choice used in every rotation) neither trained on nor scored; the docs say so beside the others' figures
FREE_OF_SELECTION = [1]
SYNTH_RECIPE = "recipes/dann-fsdd.yaml"
# the recipe before this study: its front end as recipes/dann-fsdd.yaml had it (16 kHz features, full band)
OLD = ["features.sample_rate=16000", "features.bandwidth=0", "data.augment=[]", "specaugment.vtlp=[1.0, 1.0]"]
# selection study: name -> (run directory, overrides of recipes/fsdd-supervised.yaml), each from the
# old front end
SELECT = {
    "old front end (16 kHz features, full band, no copies)": ("sel-base", OLD),
    "+ 2x speed copies (0.9, 1.1)": ("sel-speedaug", [*OLD, "data.augment=[speed:0.9, speed:1.1]"]),
    "+ VTLP [0.85, 1.15]": ("sel-vtlp", [*OLD, "specaugment.vtlp=[0.85, 1.15]"]),
    "+ subsampling 2 instead of 4": ("sel-sub2", [*OLD, "model.subsampling=2"]),
    "+ 2x random EQ copies (eq:15)": ("sel-eq", [*OLD, "data.augment=[eq:15, eq:15]"]),
    "+ crop copies (crop:150, crop:150+pad:150)": ("sel-crop", [*OLD, "data.augment=[crop:150, crop:150+pad:150]"]),
    "+ EQ copies, mel filters capped at 3.8 kHz (features.bandwidth)": (
        "sel-eqbw", [*OLD, "data.augment=[eq:15, eq:15]", "features.bandwidth=3800"]),
    "+ EQ copies, capped at 3.8 kHz with 40 mel filters": (
        "sel-eqbw40", [*OLD, "data.augment=[eq:15, eq:15]", "features.bandwidth=3800", "features.num_mel_bins=40"]),
    "+ EQ copies, one of them cropped (eq:15, eq:15+crop:150+pad:150)": (
        "sel-eqcrop", [*OLD, "data.augment=[eq:15, eq:15+crop:150+pad:150]"]),
}
# normalisation study (--norm): name -> (run directory, overrides of the recipe as it is)
NORM = {
    "per utterance: mean and variance (the recipe then)": ("norm-utterance", ["features.cmvn=utterance"]),
    "global: training-set mean and variance": ("norm-global", ["features.cmvn=global"]),
    "sliding: mean of 300 past frames (Kaldi's defaults, min 100)": ("norm-sliding", ["features.cmvn=sliding"]),
    "sliding: mean of 30 past frames (min 10)": (
        "norm-sliding30", ["features.cmvn=sliding", "features.cmvn_window=30", "features.cmvn_min_window=10"]),
    "per speaker: each speaker's mean and variance (Kaldi's per-speaker CMVN)": ("norm-speaker", ["features.cmvn=speaker"]),
}
# rotations: name -> (recipe, overrides); "+ synthetic words" trains the recipe's front end on
# recipes/dann-fsdd.yaml's eSpeak words (with the recipe's EQ copies) plus the 4 speakers' labelled
# recordings (once each: data.augment reaches the source only), no DANN, no self-training
SYNTH_SAME_FRONT_END = ["transfer.methods=[]", "transfer.self_training.rounds=0", "data.target.labelled=true"]
RUNS = {
    "recipe": (RECIPE, []),
    "recipe + synthetic words": (SYNTH_RECIPE, SYNTH_SAME_FRONT_END),
    "old front end": (RECIPE, OLD),
    "per-speaker CMVN": (RECIPE, ["features.cmvn=speaker"]),
}


def parts(train: list[str], test: list[str]) -> str:
    """``data.parts``: recordings 5-49 of ``train`` to train on, 0-4 as dev, all of ``test`` as test."""
    spk = ", ".join(train)
    return (f"data.parts=[{{path: {FSDD}, split: train, speakers: [{spk}], index: [5, 50]}}, "
            f"{{path: {FSDD}, split: dev, speakers: [{spk}], index: [0, 5]}}, "
            f"{{path: {FSDD}, split: test, speakers: [{', '.join(test)}]}}]")


def target_parts(train: list[str], test: list[str]) -> str:
    """The same parts as the synthetic recipe's target domain (its train split labelled)."""
    return parts(train, test).replace("data.parts=", "data.target.parts=", 1)


def front_end(recipe_path: str) -> list[str]:
    """The supervised recipe's feature, augmentation and SpecAugment settings as overrides (for the synthetic recipe)."""
    import yaml

    r = yaml.safe_load((REPO / recipe_path).read_text())
    out = [f"features.{k}={v}" for k, v in r.get("features", {}).items()]
    out += [f"specaugment.{k}={v}" for k, v in r.get("specaugment", {}).items()]
    out += [f"model.{k}={v}" for k, v in r.get("model", {}).items()]
    if r.get("data", {}).get("augment"):
        out.append("data.augment=[" + ", ".join(r["data"]["augment"]) + "]")
    return out


def train(recipe: str, exp: Path, overrides: list[str], log: Path) -> float:
    """Train one run (unless its model exists); its wall-clock seconds."""
    sets = [x for o in [*overrides, f"train.exp_dir={exp}", "train.num_threads=1"] for x in ("--set", o)]
    start = time.perf_counter()
    if not (exp / "model.safetensors").is_file():
        with log.open("w") as out:
            proc = subprocess.run(speechtl_cmd("train", recipe, *sets), env=env(1), cwd=REPO, stdout=out,
                                  stderr=subprocess.STDOUT)
        if proc.returncode:
            raise RuntimeError(f"speechtl train {recipe} failed; see {log}")
    return time.perf_counter() - start


def score(model_dir: Path, split: str = "test", data=None, alone: bool = False) -> dict:
    """Word accuracy (HTK: 1 - WER) on the real test speakers, per speaker and per word, and what went wrong.

    ``data``: a recipe whose FSDD ``split`` is scored instead of the model's own (e.g. a model
    trained on synthetic speech alone, scored on real speakers); its features must be the model's.
    ``alone``: a per-speaker CMVN model's test recordings each normalised by its own statistics, as
    ``speechtl decode`` and the Recognizer do with a recording they are given alone.
    """
    import dataclasses

    from speechtl.data.cmvn import speaker_cmvn
    from speechtl.decoding.evaluate import lexicon_decoders, recognize_words
    from speechtl.decoding.metrics import error_counts
    from speechtl.tasks.speech.data import load_split, load_target_domain
    from speechtl.tasks.speech.evaluate import evaluation_lexicons
    from speechtl.tasks.speech.task import load_trained

    model, recipe, decode = load_trained(model_dir)
    if data is not None and data.features != recipe.features:
        raise ValueError(f"{model_dir}: its features {recipe.features} differ from the scored recipe's {data.features}")
    corpus = data or recipe
    if alone:
        corpus = dataclasses.replace(corpus, features=dataclasses.replace(corpus.features, cmvn="none"))
    real = corpus.data.corpus == "fsdd"
    utts = load_split(corpus, split) if real else load_target_domain(corpus, split=split)
    if alone:
        for u, feats in zip(utts, speaker_cmvn([u.feats for u in utts], [""] * len(utts), recipe.features)):
            u.feats = feats
    hyps = recognize_words(model, utts, lexicon_decoders(model, evaluation_lexicons(recipe, ["en"]), decode))
    refs = [u.text for u in utts]
    by = collections.defaultdict(list)
    for u, h in zip(utts, hyps):
        by[u.speaker].append(h == u.text)
        by[u.text].append(h == u.text)
    confusions = collections.Counter(f"{u.text}->{h or '(empty)'}" for u, h in zip(utts, hyps) if h != u.text)
    return {"word_accuracy": round(100 * (1 - error_counts(refs, hyps).rate), 2),
            "utterances": len(utts),
            "per_speaker": {k: round(100 * statistics.fmean(v), 1) for k, v in sorted(by.items()) if k in SPEAKERS},
            "per_word": {k: round(100 * statistics.fmean(v), 1) for k, v in sorted(by.items()) if k not in SPEAKERS},
            "empty_outputs": sum(not h for h in hyps),
            "multi_word_outputs": sum(len(h.split()) > 1 for h in hyps),
            "top_confusions": dict(confusions.most_common(8))}


def recording_stats() -> dict:
    """Per speaker: how the recordings differ (length, level, spectral balance, sample resolution)."""
    import numpy as np
    import soundfile as sf
    from scipy.signal import welch

    from speechtl.data.fsdd import fsdd_recordings

    bands = [(0, 250), (250, 500), (500, 1000), (1000, 2000), (2000, 3000), (3000, 4000)]
    out = {}
    for speaker in SPEAKERS:
        files = [f for f in fsdd_recordings(REPO / FSDD) if f[2] == speaker]
        seconds, rms, power, coarse = [], [], 0.0, []
        six = []
        for path, digit, _, _ in files:
            x, rate = sf.read(path, dtype="int16")
            y = x.astype(np.float64) / 32768
            seconds.append(len(x) / rate)
            if digit == 6:
                six.append(len(x) / rate)
            rms.append(20 * np.log10(np.sqrt(np.mean(y ** 2)) + 1e-12))
            coarse.append(bool(np.all(x % 256 == 0)))  # 8-bit audio stored as 16-bit
            freqs, p = welch(y - y.mean(), rate, nperseg=256)
            power = power + p / (p.sum() + 1e-20)
        level = [10 * np.log10(power[(freqs >= lo) & (freqs < hi)].mean() + 1e-20) for lo, hi in bands]
        out[speaker] = {"recordings": len(files), "median_seconds": round(float(np.median(seconds)), 3),
                        "median_six_seconds": round(float(np.median(six)), 3),
                        "mean_rms_dbfs": round(float(np.mean(rms)), 1),
                        "eight_bit_share": round(float(np.mean(coarse)), 3),
                        "band_db_re_strongest": {f"{lo}-{hi}": round(float(v - max(level)), 1)
                                                 for (lo, hi), v in zip(bands, level)}}
    return out



def run_one(name: str, recipe: str, overrides: list[str], train_spk: list[str], test_spk: list[str],
            exp: Path) -> dict:
    sets = [parts(train_spk, test_spk), f"data.root={exp.parent / 'data-supervised'}"]
    if recipe == SYNTH_RECIPE:  # the supervised recipe's front end, on the synthetic recipe's data
        sets = [*front_end(RECIPE), target_parts(train_spk, test_spk), f"data.target.root={exp.parent / 'data-target'}",
                "data.target.split=train", "data.target.test_split=test"]
    exp.parent.mkdir(parents=True, exist_ok=True)
    seconds = train(recipe, exp, [*sets, *overrides], exp.with_suffix(".train.log"))
    out = {"recipe": recipe, "overrides": overrides, "train_speakers": train_spk, "test_speakers": test_spk,
           "train_seconds": round(seconds, 1), **score(exp)}
    if recipe == RECIPE:  # held-out recordings of the training speakers
        out["dev_word_accuracy"] = score(exp, "dev")["word_accuracy"]
    if "features.cmvn=speaker" in overrides:  # what a user decoding one recording at a time gets
        out["alone_word_accuracy"] = score(exp, alone=True)["word_accuracy"]
    print(f"{name} {'+'.join(test_spk)}: {out['word_accuracy']}% ({out['per_speaker']})", flush=True)
    return out


def selection_speakers(rotation: int = 1) -> tuple[list[str], list[str]]:
    """The settings studies' (training, dev) speakers for ``rotation`` (1-3): its four training speakers, three
    to train and the last held out as dev, so the study never reads that rotation's test pair."""
    pool = [s for s in SPEAKERS if s not in PAIRS[rotation - 1]]
    return pool[:3], pool[3:]


def rotations_free_of(speakers: list[str]) -> list[int]:
    """The rotations (1-3) whose test pair holds none of ``speakers``."""
    return [k for k, pair in enumerate(PAIRS, 1) if not set(pair) & set(speakers)]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--select", action="store_true", help="the settings study (speaker-held-out dev without --rotation's test pair)")
    ap.add_argument("--curve", action="store_true", help="learning curve over 1-4 labelled speakers (rotation 1)")
    ap.add_argument("--norm", action="store_true", help="normalisation study (speaker-held-out dev, --seeds)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="--norm: training seeds")
    ap.add_argument("--only", nargs="+", default=[], metavar="NAME",
                    help="--norm: run only the variants whose names start with these; the others' results are kept")
    ap.add_argument("--stats", action="store_true", help="only describe each speaker's recordings (no training)")
    ap.add_argument("--add-dev", action="store_true", help="score the dev split of runs already in the JSON files")
    ap.add_argument("--add-alone", metavar="NAME", help="score per-speaker CMVN runs of raw output NAME (rotations) "
                    "with each test recording normalised alone, as `speechtl decode` does")
    ap.add_argument("--rotation", type=int, default=1, choices=[1, 2, 3],
                    help="--select/--norm: choose for this rotation, on its own training speakers (nested); "
                         "outputs of rotations 2-3 get a _rotationK suffix")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="a recipe setting for every run (e.g. a rotation's own choice: features.cmvn=global)")
    ap.add_argument("--pairs", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--runs", nargs="+", default=list(RUNS)[:2], help="which rotation runs (default: the first two)")
    ap.add_argument("--exp", default="exp/fsdd-supervised-bench")
    ap.add_argument("--out", default="fsdd_supervised", help="rotations: the raw output's name")
    args = ap.parse_args(argv)
    root = REPO / args.exp
    suffix = "" if args.rotation == 1 else f"_rotation{args.rotation}"  # a nested study's outputs and runs
    study_root = root if args.rotation == 1 else root / f"rotation{args.rotation}"
    report = {"command": "OMP_NUM_THREADS=1 python " + shlex.join(sys.argv), "machine": machine(),
              "uptime": os.popen("uptime").read().strip(), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    started = time.perf_counter()
    if args.add_dev:  # the dev split's word accuracy for runs measured before it was recorded
        for name in ("fsdd_supervised", "fsdd_supervised_select"):
            path = REPO / "benchmarks" / "results" / f"{name}.json"
            done = json.loads(path.read_text())
            runs = ([(root / f"pair{r['pair']}-{list(RUNS).index(n)}", v) for r in done.get("rotations", [])
                     for n, v in r["runs"].items()]
                    + [(root / SELECT[n][0], v) for n, v in done.get("variants", {}).items()])
            for folder, v in runs:
                if v["recipe"] == RECIPE and "dev_word_accuracy" not in v and (folder / "model.safetensors").is_file():
                    v["dev_word_accuracy"] = score(folder, "dev")["word_accuracy"]
            path.write_text(json.dumps(done, indent=2) + "\n")
        return
    if args.add_alone:  # for runs measured before the script scored it
        path = REPO / "benchmarks" / "results" / f"{args.add_alone}.json"
        done = json.loads(path.read_text())
        for r in done["rotations"]:
            for i, name in enumerate(r["runs"]):
                v, folder = r["runs"][name], root / f"pair{r['pair']}-{i}"  # i: its place in that call's --runs
                if "features.cmvn=speaker" in v["overrides"] and "alone_word_accuracy" not in v:
                    v["alone_word_accuracy"] = score(folder, alone=True)["word_accuracy"]
        path.write_text(json.dumps(done, indent=2) + "\n")
        return
    if args.stats:
        report["speakers"] = recording_stats()
        print("written to", write_result("fsdd_recordings", report))
        return
    if args.norm:
        train_spk, dev_spk = selection_speakers(args.rotation)
        report["rotation"], report["train_speakers"] = args.rotation, train_spk
        report["dev_speaker"], report["seeds"], report["variants"] = dev_spk, args.seeds, {}
        chosen = [n for n in NORM if not args.only or n.startswith(tuple(args.only))]
        if args.only:  # the other variants' results, measured before, stay as they were (with their command)
            done = json.loads((REPO / "benchmarks" / "results" / f"fsdd_normalisation{suffix}.json").read_text())
            report = {**done, "variants": {n: v for n, v in done["variants"].items() if n not in chosen}}
        for seed in args.seeds:  # every variant at one seed before the next seed: a cut-short study stays balanced
            for name in chosen:
                folder, overrides = NORM[name]
                entry = report["variants"].setdefault(name, {"overrides": overrides, "runs": []})
                if args.only:
                    entry.update(command="OMP_NUM_THREADS=1 python " + shlex.join(sys.argv), uptime=os.popen("uptime").read().strip())
                runs = entry["runs"]
                runs.append(run_one(f"{name} seed {seed}", RECIPE, [*overrides, f"train.seed={seed}", *args.overrides],
                                    train_spk, dev_spk, study_root / f"{folder}-s{seed}"))
                report["variants"][name]["summary"] = summary([r["word_accuracy"] for r in runs])
                write_result(f"fsdd_normalisation{suffix}", report)
        name = f"fsdd_normalisation{suffix}"
    elif args.select:
        train_spk, dev_spk = selection_speakers(args.rotation)
        report["rotation"], report["train_speakers"] = args.rotation, train_spk
        report["dev_speaker"], report["variants"] = dev_spk, {}
        for name, (folder, overrides) in SELECT.items():
            report["variants"][name] = run_one(name, RECIPE, [*overrides, *args.overrides], train_spk, dev_spk,
                                               study_root / folder)
        name = f"fsdd_supervised_select{suffix}"
    elif args.curve:
        test = PAIRS[0]
        pool = [s for s in SPEAKERS if s not in test]
        report["curve"] = {}
        for n in range(1, 5):  # 4 speakers: rotation 1's recipe run
            folder = root / (f"curve-{n}" if n < 4 else f"pair1-{list(RUNS).index('recipe')}")
            report["curve"][str(n)] = run_one(f"{n} speakers", RECIPE, args.overrides, pool[:n], test, folder)
            write_result("fsdd_supervised_curve", report)
        name = "fsdd_supervised_curve"
    else:
        report["rotations"], report["overrides"] = [], args.overrides
        for k in args.pairs:
            test = PAIRS[k - 1]
            train_spk = [s for s in SPEAKERS if s not in test]
            rotation = {"pair": k, "test_speakers": test, "runs": {}}
            for i, name in enumerate(args.runs):
                recipe, overrides = RUNS[name]
                rotation["runs"][name] = run_one(name, recipe, [*overrides, *args.overrides], train_spk, test,
                                                 root / f"pair{k}-{i}")
            report["rotations"].append(rotation)
            report["summary"] = {n: summary([r["runs"][n]["word_accuracy"] for r in report["rotations"]])
                                 for n in args.runs}
            report["total_seconds"] = round(time.perf_counter() - started, 1)
            write_result(args.out, report)  # after every rotation: an interrupted run keeps what it measured
        name = args.out
    report["total_seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report.get("summary", {}), indent=1))
    print("written to", write_result(name, report))


if __name__ == "__main__":
    main()
