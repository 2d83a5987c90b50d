"""Per-recording level normalisation (``features.level_dbfs``) on FSDD, decode only: no model is retrained.

FSDD's theo and yweweler record 12-21 dB quieter than the other speakers; a gain is an
additive offset in log-mel that global CMVN does not remove. Here each recording is scaled
to a target speech level (:mod:`speechtl.data.level`, reading that recording alone) before
its features, the target being the MEDIAN LEVEL OF THE MODEL'S OWN TRAINING RECORDINGS
(never of test recordings):

* the models of ``studies/add-language-fsdd.yaml``'s arm ``conservative`` (3 rotations x 3 grid points, en head
  retrained from the shipped model on 1 FSDD speaker): the median over the training cuts each run wrote
  (``runs/CELL/data/cuts.jsonl.gz``: the FSDD speaker's 500 recordings and the replayed synthetic ones, before
  augmentation); and (added after a first run had shown rotation 3 worse, so not blind) the synthetic ones';
* the shipped model ``builtin:multilingual-synth``: the median over its synthetic
  training corpus (every ``--synth-every``-th training recording of each language).

Every recording is decoded alone (``Recognizer.transcribe``, the model's isolated decoding, the 10 digit
words). Per rotation, without the step: the point the study chose on its dev speaker; with it: the study's
rule on the re-decoded dev accuracy (best among the points whose old languages' dev PER moved at most the
bound, read from the cell record: the step is not applied to the synthetic dev sets here).

    speechtl prepare recipes/multilingual-synth-shipped.yaml --jobs 1   # the synthetic corpus (data/multilingual-synth)
    OMP_NUM_THREADS=1 speechtl study studies/add-language-fsdd.yaml -o studies/results/add-language-fsdd --set train.num_threads=1
    OMP_NUM_THREADS=1 nice -n 10 python -m benchmarks.level_norm_fsdd
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path
from statistics import mean, median, stdev

import torch
import yaml

from benchmarks.common import machine, write_result
from benchmarks.serve_common import DIGITS, fsdd_files

from speechtl.data.audio import load_audio
from speechtl.data.level import speech_level_dbfs
from speechtl.decoding.recognizer import Recognizer

ARM = "conservative"  # the study's arm whose dev grid holds the models
CONFIGS = ["defaults", "voice-augmentation", "voice-augmentation-300-steps"]  # the grid's points, by index
# decoded without the step, with it at the median level of all the model's training recordings (the primary
# target), and at the median level of its synthetic (replayed) training recordings alone
KEYS = ("without", "with", "with_synth")
RATE = 16000  # the models' features.sample_rate: levels are measured on what the features read


def level_of(path: str) -> float:
    return speech_level_dbfs(load_audio(path, sample_rate=RATE), RATE)


def training_levels(run: Path) -> dict:
    """Median speech level of a run's training cuts (sources read from ``data/cuts.jsonl.gz``)."""
    levels: dict[str, list[float]] = {"fsdd": [], "replay": []}
    with gzip.open(run / "data" / "cuts.jsonl.gz", "rt") as f:
        for line in f:
            cut = json.loads(line)
            group = "replay" if cut["custom"]["speaker_group"].startswith("replay/") else "fsdd"
            levels[group].append(level_of(cut["recording"]["sources"][0]["source"]))
    both = levels["fsdd"] + levels["replay"]
    return {"target": round(median(both), 2), "recordings": len(both),
            "median_fsdd_speaker": round(median(levels["fsdd"]), 2), "fsdd_recordings": len(levels["fsdd"]),
            "median_replay": round(median(levels["replay"]), 2), "replay_recordings": len(levels["replay"])}


def synth_level(manifests: Path, every: int) -> dict:
    """Median speech level of every ``every``-th training recording of each language of a synthetic corpus."""
    levels = []
    for path in sorted(manifests.glob("synth_*_recordings_train.jsonl.gz")):
        with gzip.open(path, "rt") as f:
            for i, line in enumerate(f):
                if i % every == 0:
                    levels.append(level_of(json.loads(line)["sources"][0]["source"]))
    return {"target": round(median(levels), 2), "recordings": len(levels), "manifests": str(manifests)}


def decode(rec: Recognizer, files: list[Path]) -> dict:
    """Word accuracy of each file decoded alone (exactly the one right digit word), overall and per speaker."""
    by_speaker: dict[str, list[bool]] = {}
    for path in files:
        truth = DIGITS[int(path.name.split("_")[0])]
        words = [w.word for w in rec.transcribe(path, "en", words=DIGITS).words]
        by_speaker.setdefault(path.name.split("_")[1], []).append(words == [truth])
    n = sum(len(v) for v in by_speaker.values())
    return {"recordings": n, "accuracy": round(sum(sum(v) for v in by_speaker.values()) / n, 4),
            "by_speaker": {s: round(sum(v) / len(v), 4) for s, v in sorted(by_speaker.items())}}


def roles(record: dict) -> dict[str, list[str]]:
    """``{split: speakers}`` of a study cell, read from its ``data.parts`` override."""
    parts = next(o for o in record["overrides"] if o.startswith("data.parts="))
    return {p["split"]: p["speakers"] for p in yaml.safe_load(parts.split("=", 1)[1])}


def run_model(exp: Path, record: dict, files: list[Path]) -> dict:
    """One grid cell's model (``EXP/runs/CELL``) decoded without and with the step; its study figures beside."""
    run, metrics, speakers = exp / "runs" / record["cell"], record["metrics"], roles(record)
    level = training_levels(run)
    out = {"config": CONFIGS[int(record["point_name"].split("-", 1)[0])], "point": record["point_name"],
           "training_level_dbfs": level,
           "original": {"dev": metrics["dev"]["word_accuracy"], "test": metrics["test"]["word_accuracy"],
                        "dev_old_mean_change": metrics["dev"]["mean_change"]}}
    for name, target in (("without", None), ("with", level["target"]), ("with_synth", level["median_replay"])):
        rec = Recognizer.load(run / "model", level_dbfs=target)
        out[name] = {split: decode(rec, [p for p in files if p.name.split("_")[1] in speakers[split]])
                     for split in ("dev", "test")}
    return out


def choose(runs: list[dict], key: str, bound: float) -> dict:
    """The study's rule: best dev accuracy among runs whose dev forgetting is at most ``bound``."""
    within = [r for r in runs if r["original"]["dev_old_mean_change"] <= bound]
    if not within:
        return min(runs, key=lambda r: r["original"]["dev_old_mean_change"])
    return max(within, key=lambda r: r[key]["dev"]["accuracy"])


def decode_rotation(exp: Path, study: dict, rotation: str, files: list[Path]) -> dict:
    """A rotation's speakers, its grid's models decoded, and the point chosen without and with the step."""
    selection = study["selection"][ARM][rotation]
    records = [json.loads(p.read_text()) for p in sorted((exp / "cells" / ARM / rotation).rglob("*.json"))]
    runs = [run_model(exp, r, files) for r in records]
    chosen = {"without": next(r["config"] for r in runs if r["point"] == selection["chosen"])}
    chosen |= {key: choose(runs, key, selection["constraint"]["at_most"])["config"] for key in KEYS[1:]}
    return {"rotation": rotation, **roles(records[0]), "runs": runs, "chosen": chosen}


def spread(values: list[float]) -> dict:
    return {"mean": round(mean(values), 4), "std": round(stdev(values), 4) if len(values) > 1 else 0.0,
            "runs": values}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--exp", default="studies/results/add-language-fsdd",
                    help="the add-language-fsdd study's output (summary.json, cells/, runs/CELL with its model)")
    ap.add_argument("--shipped", default="builtin:multilingual-synth")
    ap.add_argument("--synth-manifests", default="data/multilingual-synth/manifests",
                    help="the shipped model's synthetic training corpus (its level is the shipped model's target)")
    ap.add_argument("--synth-every", type=int, default=20)
    ap.add_argument("--skip-shipped", action="store_true")
    args = ap.parse_args()
    if not args.skip_shipped and not list(Path(args.synth_manifests).glob("synth_*_recordings_train.jsonl.gz")):
        ap.error(f"--synth-manifests {args.synth_manifests}: no synth_*_recordings_train.jsonl.gz there")
    torch.set_num_threads(1)
    files = fsdd_files()
    result = {"command": "OMP_NUM_THREADS=1 nice -n 10 python -m benchmarks.level_norm_fsdd " + " ".join(sys.argv[1:]),
              "machine": machine(), "date": machine()["date"], "exp": args.exp, "rotations": [], "digits": DIGITS}
    start = time.perf_counter()
    study = json.loads((Path(args.exp) / "summary.json").read_text())
    for rotation in study["rotations"]:  # the study file's order
        result["rotations"].append(rot := decode_rotation(Path(args.exp), study, rotation, files))
        write_result("level_norm_fsdd", result)  # what is done so far survives a later failure
        print(rotation, rot["chosen"], [(r["config"], *(r[k]["test"]["accuracy"] for k in KEYS)) for r in rot["runs"]],
              flush=True)
    chosen = [{key: next(x for x in r["runs"] if x["config"] == r["chosen"][key]) for key in KEYS}
              for r in result["rotations"]]
    result["summary"] = {key: spread([c[key][key]["test"]["accuracy"] for c in chosen]) for key in KEYS}
    result["summary"]["original_chosen"] = spread([c["without"]["original"]["test"] for c in chosen])
    if not args.skip_shipped:
        level = synth_level(Path(args.synth_manifests), args.synth_every)
        shipped = {"model": args.shipped, "training_level_dbfs": level}
        for name, target in (("without", None), ("with", level["target"])):
            shipped[name] = decode(Recognizer.load(args.shipped, level_dbfs=target), files)
        result["shipped"] = shipped
        print("shipped", shipped["without"]["accuracy"], shipped["with"]["accuracy"], flush=True)
    result["wall_seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps(result["summary"]))
    write_result("level_norm_fsdd", result)


if __name__ == "__main__":
    main()
