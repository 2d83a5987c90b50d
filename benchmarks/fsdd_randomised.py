"""Synthetic to real with a domain-randomised source: FSDD word accuracy without real labels, and an ablation.

Each rotation (held-out pairs george + jackson, lucas + nicolas, theo + yweweler)
trains ``recipes/fsdd-randomised.yaml`` twice, with the same data and steps:
without the domain loss (``transfer.methods=[]``) and with DANN, each followed by
the recipe's self-training rounds. The model before the rounds (``round-0``) is
the source-only or DANN column, so four methods come from two runs. Each is scored
by word accuracy (HTK style, 1 - WER) on the 2 held-out speakers' recordings,
decoded with the 10 digit words; with ``--peer``, pocketsphinx with the same 10
words scores the same files. Each rotation's t-SNE map (source-only, DANN, DANN +
self-training; features of the synthetic test split and the target recordings,
coloured by domain) is saved in its run directory; the first one is copied to
``docs/results/figures/``. The helpers are ``fsdd_dann.py``'s.

``--ablation`` trains DANN without self-training (600 steps) with each group of
randomisations removed in turn from the recipe's channel, and with none of them
(no randomised copies), on the rotations given with ``--pairs``.

Run it alone, one thread::

    OMP_NUM_THREADS=1 python -m benchmarks.fsdd_randomised --peer
    OMP_NUM_THREADS=1 python -m benchmarks.fsdd_randomised --ablation --pairs 1
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import shutil
import sys
import time

from benchmarks.common import REPO, machine, summary, write_result
from benchmarks.fsdd_dann import NO_ST, PAIRS, SPEAKERS, pocketsphinx_peer, run, score, target_parts, train_run, tsne_pair

from speechtl.config import safe_load

RECIPE = "recipes/fsdd-randomised.yaml"
# run -> overrides; each run is scored as the methods it yields: method -> model folder inside the run
RUNS = {"dann+st": [], "source-only": ["transfer.methods=[]", NO_ST], "source-only+st": ["transfer.methods=[]"]}
YIELDS = {"dann+st": {"dann": "self-training/round-0", "dann+st": ""}, "source-only": {"source-only": ""},
          "source-only+st": {"source-only+st": ""}}
METHODS = ["source-only", "dann", "source-only+st", "dann+st"]
# ablation group -> the channel stages it removes
GROUPS = {"noise": ["noise"], "babble": ["babble"], "rooms": ["room"], "eq": ["eq"], "speed": ["speed"],
          "codecs": ["telephone", "mulaw"]}


def recipe_channels(recipe: str) -> list[str]:
    return safe_load((REPO / recipe).read_text())["data"]["augment"]


def without(spec: str, stages: list[str]) -> str:
    """``spec`` without the stages named ``stages`` (a stage's name is the text before ``:`` or ``@``)."""
    return "+".join(s for s in spec.split("+") if s.split(":")[0].split("@")[0].strip() not in stages)


def augment_override(channels: list[str]) -> str:
    return "data.augment=[" + ", ".join(f'"{c}"' for c in channels) + "]"


def train_and_self_train(recipe: str, exp, overrides: list[str]) -> float:
    """``speechtl train``, then (unless the overrides turn it off, or it is done) ``speechtl self-train``; seconds."""
    seconds = train_run(recipe, exp, overrides)
    if NO_ST not in overrides and not (exp / "self_training.json").is_file():
        sets = [x for o in [*overrides, f"train.exp_dir={exp}", "train.num_threads=1"] for x in ("--set", o)]
        start = time.perf_counter()
        run(["self-train", recipe, *sets], exp.with_suffix(".self-train.log"))
        seconds += time.perf_counter() - start
    return seconds


def run_pair(k: int, run: str, args, root, out: dict) -> None:
    """Train one run of held-out pair ``k`` and score the methods it yields into ``out`` (the pair's record)."""
    test = PAIRS[k - 1]
    exp = root / f"pair{k}-{run}"
    exp.parent.mkdir(parents=True, exist_ok=True)
    seconds = train_and_self_train(args.recipe, exp, [*args.overrides, target_parts(test), *RUNS[run]])
    out["train_seconds"][run] = round(seconds, 1)
    for method, sub in YIELDS[run].items():
        out["methods"][method] = score(exp / sub if sub else exp)
        print(f"pair {k} {test} {method}: {out['methods'][method]['word_accuracy']}%", flush=True)
    if "tsne" not in out and {"source-only", "dann+st"} <= set(out["methods"]):
        models = {"source-only": root / f"pair{k}-source-only" / "model",
                  "DANN": root / f"pair{k}-dann+st" / "self-training" / "round-0" / "model",
                  "DANN + self-training": root / f"pair{k}-dann+st" / "model"}
        plot = tsne_pair(models, root / f"pair{k}-dann+st" / "tsne_source_vs_dann.png")
        out["tsne"] = str(plot.relative_to(REPO))
        if k == 1:
            img = REPO / "docs" / "results" / "figures" / "tsne-fsdd-randomised.png"
            img.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(plot, img)
    if args.peer and "pocketsphinx_word_accuracy" not in out:
        out["pocketsphinx_word_accuracy"] = pocketsphinx_peer(test, root / "pocketsphinx")


def ablation(k: int, args, root, out: dict, save) -> None:
    """DANN without self-training with all randomisations, none, and each group removed in turn, into ``out``.

    ``save`` is called after every variant, so a benchmark stopped early keeps the variants it finished.
    """
    test = PAIRS[k - 1]
    channels = recipe_channels(args.recipe)
    variants = {"all": channels, "none": [], **{f"-{g}": [without(c, s) for c in channels] for g, s in GROUPS.items()}}
    out.update({"pair": k, "test_speakers": test, "channels": {}, "runs": {}})
    for name, chans in variants.items():
        exp = root / f"ablation-pair{k}{name}"
        if name == "all" and (root / f"pair{k}-dann+st" / "self-training" / "round-0" / "model.safetensors").is_file():
            exp, seconds = root / f"pair{k}-dann+st" / "self-training" / "round-0", None  # the main run's DANN model
        else:
            # without copies the source is a third as large: the target audio once keeps the domains' balance
            balance = ["data.target.repeat=1"] if not chans else []
            seconds = train_run(args.recipe, exp, [*args.overrides, target_parts(test), NO_ST,
                                                   augment_override(chans), *balance])
        out["channels"][name] = chans
        out["runs"][name] = {**score(exp), "train_seconds": None if seconds is None else round(seconds, 1)}
        print(f"ablation pair {k} {name}: {out['runs'][name]['word_accuracy']}%", flush=True)
        save()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", default=RECIPE)
    ap.add_argument("--exp", default="exp/fsdd-randomised", help="runs go to EXP/pairN-RUN")
    ap.add_argument("--pairs", type=int, nargs="+", default=[1, 2, 3], help="rotations (held-out pairs) to run")
    ap.add_argument("--runs", nargs="+", default=list(RUNS), choices=list(RUNS),
                    help="runs to train, each over all the pairs before the next (the JSON keeps earlier ones)")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--peer", action="store_true", help="also score pocketsphinx on the same test speakers")
    ap.add_argument("--ablation", action="store_true", help="the ablation of the randomisations instead")
    ap.add_argument("--out", default=None, help="default fsdd_randomised (fsdd_randomised_ablation)")
    args = ap.parse_args()
    args.out = args.out or ("fsdd_randomised_ablation" if args.ablation else "fsdd_randomised")
    started = time.perf_counter()
    command = "OMP_NUM_THREADS=1 python " + shlex.join(sys.argv)
    done = REPO / "benchmarks" / "results" / f"{args.out}.json"
    report = {"recipe": args.recipe, "overrides": args.overrides, "command": command, "machine": machine(),
              "rotations": []}
    if done.is_file() and not args.ablation:  # earlier runs of the same benchmark are kept
        report = json.loads(done.read_text())
        report["earlier_seconds"] = report["seconds"]
        report.setdefault("continued", []).append(command)
    root = REPO / args.exp

    def save() -> None:  # after every run: an interrupted benchmark keeps what it measured
        report["rotations"].sort(key=lambda r: r["pair"])
        if not args.ablation:
            rots = report["rotations"]
            names = [m for m in METHODS if all(m in r["methods"] for r in rots)]
            names += ["pocketsphinx"] if all("pocketsphinx_word_accuracy" in r for r in rots) else []
            report["summary"] = {m: summary([r["pocketsphinx_word_accuracy"] if m == "pocketsphinx"
                                             else r["methods"][m]["word_accuracy"] for r in rots]) for m in names}
        report["seconds"] = round(report.get("earlier_seconds", 0.0) + time.perf_counter() - started, 1)
        report["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        report["date"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="minutes")
        write_result(args.out, report)

    if args.ablation:
        for k in args.pairs:
            report["rotations"].append({})
            ablation(k, args, root, report["rotations"][-1], save)
        return
    pairs = {r["pair"]: r for r in report["rotations"]}
    for run in args.runs:
        for k in args.pairs:
            if k not in pairs:
                pairs[k] = {"pair": k, "test_speakers": PAIRS[k - 1],
                            "train_speakers": [s for s in SPEAKERS if s not in PAIRS[k - 1]],
                            "methods": {}, "train_seconds": {}}
                report["rotations"].append(pairs[k])
            if run not in pairs[k]["train_seconds"]:
                run_pair(k, run, args, root, pairs[k])
                save()
    print(json.dumps(report.get("summary", {}), indent=1))


if __name__ == "__main__":
    main()
