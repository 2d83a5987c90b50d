"""Benchmark: DANN across a channel (clean -> noisy telephone), on the synthetic English corpus.

Three variants of ``recipes/dann-channel.yaml``, each over several seeds, all scored by
target-domain PER (the test split's labelled audio through ``data.target.channel``):

* ``source-only``: the same batches as DANN (the unlabelled target audio included, so the same
  data order and the same global normalisation statistics) with the domain loss off
  (``transfer.methods=[]``): the runs differ only in the method under test;
* ``dann``: plus the target domain's unlabelled audio (other utterances: the dev split) behind a
  gradient-reversed domain classifier;
* ``upper-bound``: multi-condition training with the target audio's labels, no DANN.

The figure of merit is the fraction of the source-only -> upper-bound gap DANN closes.
A t-SNE map of encoder features by domain (source-only next to DANN, seed 0) goes to
``EXP/tsne_source_vs_dann.png`` and ``docs/results/figures/``.

Usage (one core, under the shared lock)::

    OMP_NUM_THREADS=1 PYTHONPATH=. flock /work/heavy.lock python -m benchmarks.dann_speech \
        [--seeds 0 1 2] [--split test] [--set transfer.dann.weight=1.0 ...] [--speaker]

``--split dev`` scores the target domain's dev split instead (the unlabelled audio DANN
trains on, with its labels): use it to choose settings, and ``test`` to report them.
``--speaker`` also runs ``recipes/dann-speaker.yaml`` (DANN vs source-only, first seed).
Writes ``benchmarks/results/dann_channel.json`` (``--out`` to change).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from benchmarks.common import machine
from speechtl.workflows.evaluate import evaluate
from speechtl.workflows.train import train
from speechtl.tasks import load_recipe

VARIANTS = {
    "source-only": ["transfer.methods=[]"],  # same batches and CMVN statistics as DANN, no domain loss
    "dann": [],
    "upper-bound": ["transfer.methods=[]", "data.target.labelled=true"],
}


def per_of(report: dict) -> float:
    rates = [r["rate"] for r in report["per"].values()]
    return sum(rates) / len(rates)


def run_one(recipe_path: Path, overrides: list[str], exp: Path, split: str) -> dict:
    """Train one variant and score it on the target domain (with the DANN recipe's target settings)."""
    recipe = load_recipe(recipe_path, [*overrides, f"train.exp_dir={exp}", "train.num_threads=1"])
    scoring = load_recipe(recipe_path, [o for o in overrides if o.startswith(("data.synth", "data.target.channel"))])
    start = time.perf_counter()
    train(recipe, progress=False)
    seconds = time.perf_counter() - start
    target = evaluate(exp / "model", split, recipe=scoring, progress=False, words=False, domain="target")
    source = evaluate(exp / "model", split, recipe=scoring, progress=False, words=False)
    log = [json.loads(x) for x in (exp / "train_log.jsonl").read_text().splitlines()]
    return {"target_per": per_of(target), "source_per": per_of(source), "train_seconds": round(seconds, 1),
            "final_log": log[-1]}


def summarise(values: list[float]) -> dict:
    return {"mean": statistics.mean(values), "std": statistics.pstdev(values), "values": values}


def tsne_panels(recipe_path: Path, exps: dict[str, Path], out: Path) -> Path:
    from speechtl.workflows.plot import features, plot_tsne, tsne_2d

    scoring = load_recipe(recipe_path)
    panels = []
    for title, exp in exps.items():
        feats, tags = features(exp / "model", "domain", "test", 400, recipe=scoring)
        panels.append((title, tsne_2d(feats), tags))
    return plot_tsne(panels, out, "domain")


def channel_benchmark(args, work: Path) -> dict:
    recipe_path = ROOT / args.recipe
    runs: dict[str, list[dict]] = {}
    for name, extra in VARIANTS.items():
        if args.only and name not in args.only:
            continue
        for seed in args.seeds:
            exp = work / name / f"seed{seed}"
            r = run_one(recipe_path, [*args.overrides, *extra, f"train.seed={seed}"], exp, args.split)
            r["seed"] = seed
            runs.setdefault(name, []).append(r)
            logging.info("%s seed %d: target PER %.4f (source %.4f) in %.0f s", name, seed, r["target_per"],
                         r["source_per"], r["train_seconds"])
    summary = {name: {"target_per": summarise([r["target_per"] for r in rs]),
                      "source_per": summarise([r["source_per"] for r in rs])} for name, rs in runs.items()}
    result = {"recipe": args.recipe, "overrides": args.overrides, "split": args.split, "seeds": args.seeds,
              "variants": VARIANTS, "runs": runs, "summary": summary}
    if {"source-only", "dann", "upper-bound"} <= set(summary):
        src, dann, up = (summary[k]["target_per"]["mean"] for k in ("source-only", "dann", "upper-bound"))
        result["gap_closed"] = (src - dann) / (src - up) if src != up else None
        per_seed = [(s["target_per"] - d["target_per"]) / (s["target_per"] - u["target_per"])
                    for s, d, u in zip(runs["source-only"], runs["dann"], runs["upper-bound"])
                    if s["target_per"] != u["target_per"]]
        result["gap_closed_per_seed"] = per_seed
    if {"source-only", "dann"} <= set(runs) and not args.no_plot:
        seed = args.seeds[0]
        out = tsne_panels(recipe_path, {"source-only": work / "source-only" / f"seed{seed}",
                                        "DANN": work / "dann" / f"seed{seed}"}, work / "tsne_source_vs_dann.png")
        docs = ROOT / "docs" / "results" / "figures" / "tsne-speech-channel-dann.png"
        docs.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out, docs)
        result["tsne"] = str(docs.relative_to(ROOT))
    return result


def speaker_benchmark(args, work: Path) -> dict:
    recipe_path = ROOT / "recipes" / "dann-speaker.yaml"
    seed = args.seeds[0]
    out = {}
    for name in ("source-only", "dann"):
        exp = work / "speaker" / name
        out[name] = run_one(recipe_path, [*VARIANTS[name], f"train.seed={seed}"], exp, args.split)
        out[name]["seed"] = seed
        logging.info("speaker %s: target PER %.4f", name, out[name]["target_per"])
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--recipe", default="recipes/dann-channel.yaml")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--split", default="test", help="target-domain split scored: test (report) or dev (tuning)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--only", nargs="*", choices=list(VARIANTS), help="run only these variants")
    p.add_argument("--speaker", action="store_true", help="also run recipes/dann-speaker.yaml once")
    p.add_argument("--no-plot", action="store_true")
    p.add_argument("--work", default="exp/bench-dann-speech")
    p.add_argument("--out", default="benchmarks/results/dann_channel.json")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("speechtl").setLevel(logging.WARNING)
    work = ROOT / args.work
    start = time.perf_counter()
    result = {"machine": machine(), "command": "python " + " ".join(sys.argv)}
    result["channel"] = channel_benchmark(args, work)
    if args.speaker:
        result["speaker"] = speaker_benchmark(args, work)
    result["seconds"] = round(time.perf_counter() - start, 1)
    result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    out = ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    for name, s in result["channel"]["summary"].items():
        print(f"{name:>12}: target PER {100 * s['target_per']['mean']:.2f} ± {100 * s['target_per']['std']:.2f}"
              f"   source PER {100 * s['source_per']['mean']:.2f} ± {100 * s['source_per']['std']:.2f}")
    if result["channel"].get("gap_closed") is not None:
        print(f"gap closed by DANN: {100 * result['channel']['gap_closed']:.1f}%")
    for name, r in result.get("speaker", {}).items():
        print(f"speaker {name}: target PER {100 * r['target_per']:.2f}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
