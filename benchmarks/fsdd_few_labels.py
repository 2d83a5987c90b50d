"""Few real labels from the synthetic model: FSDD word accuracy with 1 and 2 labelled speakers.

The synthetic model is recipes/dann-fsdd.yaml's eSpeak NG digit words alone (no FSDD audio:
no target domain, no DANN, no self-training) with recipes/fsdd-few-labels.yaml's front end.
Each rotation holds out one pair of Free Spoken Digit Dataset speakers as its test (all their
1,000 recordings) and labels the first speaker (1 speaker), then both speakers (2 speakers), of
the next pair: rotation 1 tests george+jackson and labels lucas(+nicolas), rotation 2 tests
lucas+nicolas and labels theo(+yweweler), rotation 3 tests theo+yweweler and labels
george(+jackson). Four arms see the same labelled recordings in the same order for the same steps
with the same front end; they differ only in where the weights start and what holds them:

- scratch: random initialisation;
- fine-tune: every weight from the synthetic model;
- layer transfer: the same, with the front end and first k encoder blocks frozen;
- conservative: fine-tune with L2-SP and KL towards the synthetic model (Li et al. 2018; Yu et al. 2013).

``--select`` chooses the settings without rotation K's test pair (``--rotation K``, default 1;
``selection_speakers``): rotation K's labelled speaker trains, and the two speakers rotation K neither
labels nor tests are the speaker-held-out dev (rotation 1: lucas; theo + yweweler). The studies
measured so far ran for rotation 1 only and their choice was used in every rotation, which is not
nested: rotation 2 tests on the speaker that study trained and rotation 3's test pair is its dev pair,
so only rotation 1 (``FREE_OF_SELECTION``) is free of the selection (as in
benchmarks/fsdd_supervised.py's study). Nested: one study per rotation, then ``--pairs K --set ...``.

Run it alone, one thread::

    OMP_NUM_THREADS=1 python -m benchmarks.fsdd_few_labels --select
    OMP_NUM_THREADS=1 python -m benchmarks.fsdd_few_labels --sizes 1
    OMP_NUM_THREADS=1 python -m benchmarks.fsdd_few_labels --sizes 1 2
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

from benchmarks.common import REPO, machine, summary, write_result
from benchmarks.fsdd_supervised import PAIRS, SYNTH_RECIPE, front_end, parts, run_one, score, train

FEW_RECIPE = "recipes/fsdd-few-labels.yaml"
PROVENANCE = ("command", "machine", "uptime", "started", "total_seconds", "load_average_at_end")
# the synthetic model: eSpeak words only, with the few-labels recipe's front end (what its arms read)
SYNTHETIC = [*front_end(FEW_RECIPE), "transfer.methods=[]", "transfer.self_training.rounds=0", "data.target.corpus="]
# layer transfer: frozen front end + first k of the 6 TDNN blocks; conservative: the penalty weights (both from --select)
FREEZE_BLOCKS = 2
CONSERVATIVE = ["transfer.methods=[l2sp,kl]", "transfer.l2sp.weight=0.01", "transfer.kl.weight=1.0"]
# arm -> overrides of recipes/fsdd-few-labels.yaml (which fine-tunes from transfer.source)
METHODS = {
    "scratch": ["transfer.source="],
    "fine-tune": [],
    "layer transfer": ["transfer.layers.freeze=true", f"transfer.layers.freeze_blocks={FREEZE_BLOCKS}"],
    "conservative": CONSERVATIVE,
}
# beyond the comparison (run with --methods): the dev's best fine-tune, 400 steps, which the
# budget kept out of the arms (2.4x the training time for 1.9 points on dev, one run each)
EXTRA = {"fine-tune, 400 steps": ["train.max_steps=400", "train.warmup_steps=40"]}
ARMS = {**METHODS, **EXTRA}
# settings study on the speaker-held-out dev: name -> overrides (each arm's knobs, then steps and lr)
SELECT = {
    "fine-tune, 150 steps, lr 0.001 (recipe)": [],
    "fine-tune, 50 steps": ["train.max_steps=50", "train.warmup_steps=5"],
    "fine-tune, lr 0.003": ["train.lr=0.003"],
    "layer transfer, k=2": METHODS["layer transfer"],
    "layer transfer, k=4": ["transfer.layers.freeze=true", "transfer.layers.freeze_blocks=4"],
    "conservative, l2sp 0.01 / kl 1": CONSERVATIVE,
    "conservative, l2sp 1 / kl 100": ["transfer.methods=[l2sp,kl]", "transfer.l2sp.weight=1.0", "transfer.kl.weight=100"],
    # second stage, after the first showed the recipe's fine-tune best and k=2 above k=4
    "fine-tune, 400 steps": ["train.max_steps=400", "train.warmup_steps=40"],
    "fine-tune, 4 EQ copies": ["data.augment=[eq:15, eq:15, eq:15, eq:15]"],
    "layer transfer, k=1": ["transfer.layers.freeze=true", "transfer.layers.freeze_blocks=1"],
}


def labelled(pair: int, size: int) -> list[str]:
    """The labelled speakers of rotation ``pair`` (1-3): the first ``size`` of the next pair."""
    return PAIRS[pair % len(PAIRS)][:size]


# rotations whose test pair the settings study neither trained on nor scored
FREE_OF_SELECTION = [1]


def selection_speakers(rotation: int = 1) -> tuple[list[str], list[str]]:
    """The settings study's (labelled, dev) speakers for ``rotation`` (1-3): its labelled speaker, and the pair it
    neither labels nor tests."""
    return labelled(rotation, 1), PAIRS[(rotation + 1) % len(PAIRS)]


def synthetic_model(root: Path, overrides: list[str]) -> tuple[Path, float]:
    """Train the synthetic model once (unless it exists); its directory and training seconds.

    The seconds run from the experiment's recipe.yaml (written first, before the corpus and its
    features are made) to its model file, so a model trained by an earlier call reports them too.
    """
    exp = root / "synthetic"
    root.mkdir(parents=True, exist_ok=True)
    train(SYNTH_RECIPE, exp, [*SYNTHETIC, *overrides], root / "synthetic.train.log")
    return exp, (exp / "model.safetensors").stat().st_mtime - (exp / "recipe.yaml").stat().st_mtime


def score_synthetic(exp: Path, train_spk: list[str], test_spk: list[str], data_root: Path,
                    overrides: list[str]) -> dict:
    """The synthetic model alone (no real label) on ``test_spk``, read through the few-labels recipe's front end."""
    from speechtl.tasks import load_recipe

    recipe = load_recipe(REPO / FEW_RECIPE, [parts(train_spk, test_spk), f"data.root={data_root}", *overrides])
    return score(exp, "test", data=recipe)


def arm(name: str, source: Path, overrides: list[str], train_spk: list[str], test_spk: list[str], exp: Path) -> dict:
    """One run of the few-labels recipe from ``source`` (scratch clears it)."""
    return run_one(name, FEW_RECIPE, [f"transfer.source={source}", *overrides], train_spk, test_spk, exp)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--select", action="store_true", help="the settings study (speaker-held-out dev without --rotation's test pair)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 2], help="labelled speakers per run (1, 2)")
    ap.add_argument("--rotation", type=int, default=1, choices=[1, 2, 3],
                    help="--select: choose for this rotation, without its test pair (nested); outputs of rotations "
                         "2-3 get a _rotationK suffix")
    ap.add_argument("--pairs", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(ARMS))
    ap.add_argument("--exp", default="exp/fsdd-few-labels-bench")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="a recipe setting for the synthetic model and every arm (e.g. features.cmvn=speaker)")
    ap.add_argument("--variants", nargs="+", default=list(SELECT), choices=list(SELECT), help="--select: which variants")
    ap.add_argument("--out", default=None, help="the raw output's name (default fsdd_few_labels[_select])")
    args = ap.parse_args(argv)
    root = REPO / args.exp
    suffix = "" if args.rotation == 1 else f"_rotation{args.rotation}"
    name = args.out or (f"fsdd_few_labels_select{suffix}" if args.select else "fsdd_few_labels")
    sets = args.overrides
    out = REPO / "benchmarks" / "results" / f"{name}.json"
    report = {"command": "OMP_NUM_THREADS=1 python " + shlex.join(sys.argv), "machine": machine(),
              "uptime": os.popen("uptime").read().strip(), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "recipe": FEW_RECIPE, "synthetic_recipe": SYNTH_RECIPE, "synthetic_overrides": [*SYNTHETIC, *sets],
              "overrides": sets}
    started = time.perf_counter()
    source, seconds = synthetic_model(root, sets)
    report["synthetic_train_seconds"] = round(seconds, 1)
    done = json.loads(out.read_text()) if out.is_file() else {}
    if args.select:
        train_spk, dev_spk = selection_speakers(args.rotation)
        folder = root / f"select{suffix}"
        report.update(rotation=args.rotation, train_speakers=train_spk, dev_speakers=dev_spk,
                      variants=done.get("variants", {}))
        report["synthetic_only"] = score_synthetic(source, train_spk, dev_spk, folder / "data-supervised", sets)
        for i, (variant, overrides) in enumerate(SELECT.items()):
            if variant in args.variants and variant not in report["variants"]:  # measured by an earlier call (the study grew in stages)
                report["variants"][variant] = arm(variant, source, [*overrides, *sets], train_spk, dev_spk,
                                                  folder / f"v{i}")
            report["total_seconds"] = round(time.perf_counter() - started, 1)
            report["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
            write_result(name, report)
        return
    report["methods"] = {**done.get("methods", {}), **{m: ARMS[m] for m in args.methods}}
    # the calls that measured the runs kept from before (command, machine, load, seconds)
    report["earlier_calls"] = [*done.get("earlier_calls", []),
                               *([{k: done[k] for k in PROVENANCE if k in done}] if done else [])]
    report["rotations"] = done.get("rotations", {})  # earlier sizes/pairs stay; a rerun replaces what it measures
    for size in args.sizes:
        for k in args.pairs:
            test, train_spk = PAIRS[k - 1], labelled(k, size)
            rot = report["rotations"].setdefault(str(k), {"test_speakers": test, "sizes": {}})
            folder = root / f"pair{k}-n{size}"
            if "synthetic_only" not in rot:
                rot["synthetic_only"] = score_synthetic(source, train_spk, test, folder / "data-supervised", sets)
            runs = rot["sizes"].setdefault(str(size), {"labelled": train_spk, "runs": {}})["runs"]
            for method in args.methods:
                runs[method] = arm(method, source, [*ARMS[method], *sets], train_spk, test,
                                   folder / method.replace(" ", "-").replace(",", ""))
                report["summary"] = summarise(report["rotations"])
                report["total_seconds"] = round(time.perf_counter() - started, 1)
                report["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
                write_result(name, report)  # after every run: an interrupted benchmark keeps what it measured
    print(json.dumps(report["summary"], indent=1))
    print("written to", out)


def summarise(rotations: dict) -> dict:
    """Per size and method: mean ± std over the rotations measured (``rotations`` lists which)."""
    out = {"synthetic only": summary([r["synthetic_only"]["word_accuracy"] for r in rotations.values()])}
    out["synthetic only"]["rotations"] = sorted(rotations)
    for size in ("1", "2"):
        for method in ARMS:
            have = {k: r["sizes"][size]["runs"][method] for k, r in sorted(rotations.items())
                    if method in r["sizes"].get(size, {}).get("runs", {})}
            if have:
                out.setdefault(size, {})[method] = {
                    **summary([v["word_accuracy"] for v in have.values()]), "rotations": sorted(have),
                    "train_seconds": summary([v["train_seconds"] for v in have.values()])}
    return out


if __name__ == "__main__":
    main()
