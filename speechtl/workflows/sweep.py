"""Sweeps: train one recipe over values of a key and seeds, and tabulate the dev figures.

Settings are chosen on dev: each run is scored on the dev split (speech: its
corpus's dev split; images: the dev images held out of training), never on test.
"""

from __future__ import annotations

import json
from pathlib import Path
from statistics import mean, pstdev

from speechtl.tasks import load_recipe, task_of
from speechtl.workflows.train import train


def sweep(recipe_path: str | Path, key: str, values: list[str], seeds: list[int] = (0,),
          overrides: list[str] = (), split: str = "dev", progress: bool = False) -> dict:
    """Train ``recipe_path`` once per ``key=value`` and seed; tabulate mean and spread of the ``split`` figures.

    Runs go to ``EXP/sweep/KEY=VALUE/seedN``; the table to ``EXP/sweep.json``.
    """
    base = load_recipe(recipe_path, list(overrides))
    task = task_of(base)
    root = Path(base.train.exp_dir) / "sweep"
    rows = []
    for value in values:
        for seed in seeds:
            recipe = load_recipe(recipe_path, [*overrides, f"{key}={value}", f"train.seed={seed}",
                                               f"train.exp_dir={root / f'{key}={value}' / f'seed{seed}'}"])
            exp = train(recipe, overwrite=True, progress=progress)
            report = task.evaluate(exp / "model", split, output=exp / f"eval_{split}.json", progress=False)
            rows.append({"value": value, "seed": seed, **task.metrics(report)})
    metrics = [k for k in rows[0] if k not in ("value", "seed")]
    summary = {}
    lines = [f"{key:>24} " + " ".join(f"{m:>22}" for m in metrics)]
    for value in values:
        mine = [r for r in rows if r["value"] == value]
        summary[value] = {m: {"mean": mean(r[m] for r in mine), "std": pstdev(r[m] for r in mine)} for m in metrics}
        lines.append(f"{value:>24} " + " ".join(
            f"{summary[value][m]['mean']:>14.4f} ± {summary[value][m]['std']:.4f}" for m in metrics))
    result = {"recipe": str(recipe_path), "key": key, "split": split, "seeds": list(seeds), "runs": rows,
              "summary": summary, "table": f"scored on {split}\n" + "\n".join(lines)}
    root.parent.mkdir(parents=True, exist_ok=True)
    (root.parent / "sweep.json").write_text(json.dumps(result, indent=2))
    return result
