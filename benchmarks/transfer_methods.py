"""Benchmark of the transfer methods on images (scikit-learn digits), several seeds.

Three experiments, each run through the image recipes and the one training loop:

1. DANN, digits -> digits-M: source-only vs DANN vs train-on-target, accuracy on
   the digits-M test images (recipes/image-dann.yaml).
2. Fine-tuning with little data: source task digits 0-4 (recipes/image-source.yaml),
   target task digits 5-9 with 5 and 20 labelled images per class: scratch, full
   fine-tune, layer transfer with the first k blocks frozen (k = 0..3), L2-SP
   (recipes/image-finetune.yaml). The best k is chosen on the dev images (mean
   over seeds), never on test.
3. Zero-shot: 7 seen classes, 3 unseen (3, 6, 9): DAP, label embedding + hinge
   (attributes; and class-name vectors), ConSE with class-name vectors
   (recipes/image-zeroshot.yaml).

Usage::

    PYTHONPATH=. python -m benchmarks.transfer_methods [--seeds 0 1 2] [--only dann finetune zeroshot]

Writes ``benchmarks/results/transfer_methods.json`` (every run and mean/std per
variant). Runs take seconds each on one core (``train.num_threads: 1``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import sys
import time
from datetime import date
from pathlib import Path

import torch

from speechtl.tasks import load_recipe
from speechtl.workflows.evaluate import evaluate
from speechtl.workflows.train import train as train_image

ROOT = Path(__file__).resolve().parent.parent
RECIPES = ROOT / "recipes"
OUT = ROOT / "benchmarks" / "results" / "transfer_methods.json"


def run(recipe: str, overrides: list[str], exp: Path) -> dict:
    r = load_recipe(RECIPES / recipe, [*overrides, f"train.exp_dir={exp}"])
    start = time.perf_counter()
    exp_dir = train_image(r, progress=False)  # train() no longer evaluates (speechtl.run does)
    report = evaluate(exp_dir / "model", "test", progress=False)
    report["seconds"] = round(time.perf_counter() - start, 1)
    return report


def summarise(values: list[float]) -> dict:
    return {"mean": statistics.mean(values), "std": statistics.pstdev(values), "n": len(values),
            "values": values}


def dann(seeds: list[int], work: Path) -> dict:
    variants = {
        "source-only": ["transfer.methods=[]"],  # same batches as DANN, target images unused
        "dann": [],
        "train-on-target": ["transfer.methods=[]", "data.source=digits-m", "data.target=''",
                            "data.eval_domains=[digits]"],
    }
    runs = {}
    for name, ov in variants.items():
        runs[name] = [run("image-dann.yaml", [*ov, f"train.seed={s}"], work / "dann" / name / f"seed{s}")
                      for s in seeds]
    return {
        "target_accuracy": {n: summarise([r["accuracy"]["digits-m"]["accuracy"] for r in rs]) for n, rs in runs.items()},
        "source_accuracy": {n: summarise([r["accuracy"]["digits"]["accuracy"] for r in rs]) for n, rs in runs.items()},
        "seconds": {n: [r["seconds"] for r in rs] for n, rs in runs.items()},
    }


def finetune(seeds: list[int], work: Path, shots: list[int] = (5, 20)) -> dict:
    variants = {"scratch": ["transfer.source=''"], "fine-tune": [], "l2sp": ["transfer.methods=[l2sp]"]}
    for k in range(4):
        variants[f"layer-transfer-k{k}"] = [f"transfer.layers.blocks={k}", "transfer.layers.freeze=true"]
    out: dict = {}
    sources = {}
    for s in seeds:
        src = run("image-source.yaml", [f"train.seed={s}"], work / "source" / f"seed{s}")
        sources[s] = src["model"]
        out.setdefault("source_accuracy_0_4", []).append(src["accuracy"]["digits"]["accuracy"])
    for n in shots:
        table, dev = {}, {}
        for name, ov in variants.items():
            # the variant's overrides come last: scratch clears transfer.source
            reports = [run("image-finetune.yaml", [f"transfer.source={sources[s]}", f"data.shots={n}",
                                                   f"train.seed={s}", *ov], work / f"finetune-{n}" / name / f"seed{s}")
                       for s in seeds]
            table[name] = summarise([r["accuracy"]["digits"]["accuracy"] for r in reports])
            dev[name] = summarise([evaluate(r["model"], "dev", progress=False)["accuracy"]["digits"]["accuracy"]
                                   for r in reports])
        best = max((k for k in dev if k.startswith("layer-transfer")), key=lambda k: dev[k]["mean"])
        out[f"{n}-shot"] = {"accuracy": table, "dev_accuracy": dev, "best_layer_transfer": best,
                            "best_chosen_on": "dev"}
    return out


def zeroshot(seeds: list[int], work: Path) -> dict:
    variants = {
        "dap": (["transfer.methods=[dap]"], "dap"),
        "embedding-attributes": (["transfer.methods=[embedding]"], "embedding"),
        "embedding-names": (["transfer.methods=[embedding]", "transfer.embedding.vectors=names"], "embedding"),
        "conse-names": (["transfer.methods=[conse]"], "conse"),
    }
    table, seen, chance = {}, {}, None
    for name, (ov, method) in variants.items():
        reports = [run("image-zeroshot.yaml", [*ov, f"train.seed={s}"], work / "zeroshot" / name / f"seed{s}")
                   for s in seeds]
        table[name] = summarise([r["zero_shot"][method]["accuracy"] for r in reports])
        seen[name] = summarise([r["accuracy"]["digits"]["accuracy"] for r in reports])
        chance = reports[0]["zero_shot"][method]["chance"]
    return {"unseen_accuracy": table, "seen_class_accuracy": seen, "chance": chance,
            "unseen_classes": ["3", "6", "9"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--only", nargs="+", default=["dann", "finetune", "zeroshot"])
    parser.add_argument("--work", default=str(ROOT / "exp" / "bench-transfer"), help="experiment directories")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    work = Path(args.work)
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.is_file() else {}
    results["meta"] = {"date": date.today().isoformat(), "seeds": args.seeds, "torch": torch.__version__,
                       "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
                       "threads": 1, "command": "PYTHONPATH=. python -m benchmarks.transfer_methods "
                       + " ".join(sys.argv[1:]), "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
    experiments = {"dann": dann, "finetune": finetune, "zeroshot": zeroshot}
    for name in args.only:
        start = time.perf_counter()
        results[name] = experiments[name](args.seeds, work)
        results[name]["wall_seconds"] = round(time.perf_counter() - start, 1)
        out.parent.mkdir(parents=True, exist_ok=True)
        results["meta"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        out.write_text(json.dumps(results, indent=2))
        print(f"{name}: done in {results[name]['wall_seconds']} s", flush=True)


if __name__ == "__main__":
    main()
