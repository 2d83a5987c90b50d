"""Which shared encoder trains best on 2 CPU cores? Train each for the same number of
epochs on the demo corpus and report throughput, wall time and dev PER.

    python -m benchmarks.encoder_choice [--epochs 4] [--out benchmarks/results/encoder_choice.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from speechtl.workflows.evaluate import evaluate

from speechtl.workflows.train import train
from speechtl.tasks import load_recipe

CANDIDATES = {
    "blstm-320x3-sub2": ["model.encoder=blstm", "model.dim=320", "model.layers=3", "model.subsampling=2"],
    "tdnn-384x8-sub4": ["model.encoder=tdnn", "model.dim=384", "model.layers=8", "model.subsampling=4"],
    "conformer-144x4-sub4": ["model.encoder=conformer", "model.dim=144", "model.layers=4",
                             "model.ff_dim=576", "model.subsampling=4"],
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", default="recipes/multilingual-synth.yaml")
    ap.add_argument("--steps", type=int, default=250, help="optimizer steps per candidate")
    ap.add_argument("--only", nargs="*", help="candidate names to run")
    ap.add_argument("--out", default="benchmarks/results/encoder_choice.json")
    args = ap.parse_args()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    results = json.loads(out.read_text()) if out.is_file() else {}
    for name, overrides in CANDIDATES.items():
        if args.only and name not in args.only:
            continue
        exp = f"exp/encoder-choice/{name}"
        recipe = load_recipe(args.recipe, overrides + [f"train.exp_dir={exp}", f"train.max_steps={args.steps}",
                                                       f"train.checkpoint_every={args.steps}"])
        start = time.perf_counter()
        train(recipe, progress=False)
        wall = time.perf_counter() - start
        log = [json.loads(x) for x in (Path(exp) / "train_log.jsonl").read_text().splitlines()]
        dev = evaluate(Path(exp) / "model", "dev", progress=False)
        per = {k: v["rate"] for k, v in dev["per"].items()}
        results[name] = {
            "overrides": overrides, "steps": args.steps, "train_wall_s": round(wall, 1),
            "audio_sec_per_sec": round(sum(r["audio_sec_per_sec"] for r in log[1:]) / max(1, len(log) - 1), 1),
            "final_loss": log[-1]["loss"], "dev_per_mean": sum(per.values()) / len(per), "dev_per": per,
        }
        print(name, json.dumps(results[name]), flush=True)
        out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
