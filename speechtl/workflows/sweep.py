"""Sweeps: train one recipe over values of a key and seeds, and tabulate the dev figures.

Settings are chosen on dev: each run is scored on the dev split (speech: its
corpus's dev split; images: the dev images held out of training), never on test.
"""

from __future__ import annotations

import json
from pathlib import Path

from speechtl.tasks import load_recipe
from speechtl.workflows.study_cells import score_run
from speechtl.workflows.study_stats import spread


def sweep(recipe_path: str | Path, key: str, values: list[str], seeds: list[int] = (0,),
          overrides: list[str] = (), split: str = "dev", progress: bool = False) -> dict:
    """Train ``recipe_path`` once per ``key=value`` and seed; tabulate mean and spread of the ``split`` figures.

    Each run is one study cell's training and scoring (:func:`~speechtl.workflows.study_cells.score_run`);
    the spread is the studies' (mean, sample std, n). For arms, rotations and dev selection, write a
    study file (``speechtl study``). Runs go to ``EXP/sweep/KEY=VALUE/seedN``; the table to ``EXP/sweep.json``.
    """
    base = load_recipe(recipe_path, list(overrides))
    root = Path(base.train.exp_dir) / "sweep"
    rows = []
    for value in values:
        for seed in seeds:
            recipe = load_recipe(recipe_path, [*overrides, f"{key}={value}", f"train.seed={seed}",
                                               f"train.exp_dir={root / f'{key}={value}' / f'seed{seed}'}"])
            rows.append({"value": value, "seed": seed, **score_run(recipe, [split], progress)[split]})
    metrics = [k for k in rows[0] if k not in ("value", "seed")]
    summary = {}
    lines = [f"{key:>24} " + " ".join(f"{m:>22}" for m in metrics)]
    for value in values:
        mine = [r for r in rows if r["value"] == value]
        summary[value] = {m: spread([r[m] for r in mine]) for m in metrics}  # sample std: None for one seed
        lines.append(f"{value:>24} " + " ".join(
            f"{summary[value][m]['mean']:>14.4f} ± {summary[value][m]['std'] or 0:.4f}" for m in metrics))
    result = {"recipe": str(recipe_path), "key": key, "split": split, "seeds": list(seeds), "runs": rows,
              "summary": summary, "table": f"scored on {split}\n" + "\n".join(lines)}
    root.parent.mkdir(parents=True, exist_ok=True)
    (root.parent / "sweep.json").write_text(json.dumps(result, indent=2))
    return result
