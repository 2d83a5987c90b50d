"""Sweeps: train one recipe over values of a key and seeds, and tabulate the test figures."""

from __future__ import annotations

import json
from pathlib import Path

from speechtl.experiment import evaluate, train


def run_metrics(recipe, exp: Path) -> dict[str, float]:
    """A trained run's test figures: image accuracy per domain (and zero-shot), or speech PER."""
    if getattr(recipe, "task", "speech") == "image":
        report = json.loads((exp / "eval.json").read_text())
        out = {f"acc_{d}": r["accuracy"] for d, r in report["accuracy"].items()}
        out.update({f"zeroshot_{m}": r["accuracy"] for m, r in report.get("zero_shot", {}).items()})
        return out
    report = evaluate(exp / "model", "test", progress=False)
    out = {f"per_{lang}": r["rate"] for lang, r in report["per"].items()}
    out["per_mean"] = sum(out.values()) / max(len(out), 1)
    return out


def sweep(recipe_path: str | Path, key: str, values: list[str], seeds: list[int] = (0,),
          overrides: list[str] = ()) -> dict:
    """Train ``recipe_path`` once per ``key=value`` and seed; tabulate mean and spread of the test figures.

    Runs go to ``EXP/sweep/KEY=VALUE/seedN``; the table to ``EXP/sweep.json``.
    """
    from statistics import mean, pstdev

    from speechtl.recipe import load_recipe

    base = load_recipe(recipe_path, list(overrides))
    root = Path(base.train.exp_dir) / "sweep"
    rows = []
    for value in values:
        for seed in seeds:
            recipe = load_recipe(recipe_path, [*overrides, f"{key}={value}", f"train.seed={seed}",
                                               f"train.exp_dir={root / f'{key}={value}' / f'seed{seed}'}"])
            rows.append({"value": value, "seed": seed, **run_metrics(recipe, train(recipe, progress=False))})
    metrics = [k for k in rows[0] if k not in ("value", "seed")]
    summary = {}
    lines = [f"{key:>24} " + " ".join(f"{m:>22}" for m in metrics)]
    for value in values:
        mine = [r for r in rows if r["value"] == value]
        summary[value] = {m: {"mean": mean(r[m] for r in mine), "std": pstdev(r[m] for r in mine)} for m in metrics}
        lines.append(f"{value:>24} " + " ".join(
            f"{summary[value][m]['mean']:>14.4f} ± {summary[value][m]['std']:.4f}" for m in metrics))
    result = {"recipe": str(recipe_path), "key": key, "seeds": list(seeds), "runs": rows, "summary": summary,
              "table": "\n".join(lines)}
    root.parent.mkdir(parents=True, exist_ok=True)
    (root.parent / "sweep.json").write_text(json.dumps(result, indent=2))
    return result
