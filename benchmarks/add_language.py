"""Add a language with 10 minutes of audio: scratch vs fine-tune vs layer transfer vs conservative.

The base is the README demo model (8 languages). The new language (Swedish by
default) gets ``--minutes`` of synthetic training audio; each strategy runs with
several seeds. Reported per strategy (mean and spread over seeds): the new
language's test PER, its relative reduction over scratch, and the old languages'
PER change after adding (forgetting; the base's PER is measured once).

    python benchmarks/add_language.py --base exp/multilingual-synth/model \\
        [--lang sv --data recipes/add-language-sv.yaml --minutes 10 --seeds 0 1 2] \\
        [--set train.num_threads=1]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from statistics import mean, pstdev

from common import machine, write_result

from speechtl.workflows.add_language import STRATEGIES, add_language, load_base, old_language_recipe, per_by_language


def spread(values: list[float]) -> dict:
    return {"mean": mean(values), "std": pstdev(values), "runs": values}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="exp/multilingual-synth/model", help="the demo model (make demo writes it)")
    ap.add_argument("--lang", default="sv")
    ap.add_argument("--data", default="recipes/add-language-sv.yaml")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=STRATEGIES)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="overrides for every adaptation run (e.g. train.num_threads=1)")
    ap.add_argument("--out", default="add_language", help="results file benchmarks/results/OUT.json")
    ap.add_argument("--exp", default="exp/add-language", help="the runs' experiment directories go here")
    args = ap.parse_args()
    if not Path(args.base).with_suffix(".json").is_file() and not Path(args.base).is_dir():
        raise SystemExit(f"{args.base}: train the base model first (make demo)")
    info = machine()
    base = load_base(args.base)
    old = [lang for lang in base.languages if lang != args.lang]
    root = Path(args.exp)
    before = per_by_language(args.base, old_language_recipe(base, old), root / "base_eval.json")
    runs = []
    for strategy in args.strategies:
        for seed in args.seeds:
            start = time.perf_counter()
            result = add_language(args.base, args.lang, args.data, strategy, root / strategy / f"seed{seed}",
                                  minutes=args.minutes, overrides=[f"train.seed={seed}", *args.overrides],
                                  before=before, progress=False)
            r = result.report
            runs.append({"strategy": strategy, "seed": seed, "new_per": r["new"][args.lang],
                         "old_mean_change": r["mean_change"], "old_max_change": r["max_change"],
                         "old_after": {k: v["after"] for k, v in r["old"].items()},
                         "seconds": round(time.perf_counter() - start, 1)})
            print(f"{strategy} seed {seed}: new PER {100 * r['new'][args.lang]:.2f}%"
                  + ("" if r["mean_change"] is None else f", old change {100 * r['mean_change']:+.2f}"), flush=True)
    summary = {}
    for strategy in args.strategies:
        mine = [r for r in runs if r["strategy"] == strategy]
        summary[strategy] = {"new_per": spread([r["new_per"] for r in mine])}
        if mine[0]["old_mean_change"] is not None:
            summary[strategy]["old_mean_change"] = spread([r["old_mean_change"] for r in mine])
            summary[strategy]["old_max_change"] = spread([r["old_max_change"] for r in mine])
    if "scratch" in summary:
        ref = summary["scratch"]["new_per"]["mean"]
        for s in summary.values():
            s["relative_reduction_vs_scratch"] = (ref - s["new_per"]["mean"]) / ref
    lines = [f"{'strategy':<16} {'new PER %':>16} {'vs scratch':>11} {'old change (mean)':>18} {'old change (max)':>17}"]
    for strategy, s in summary.items():
        new = f"{100 * s['new_per']['mean']:.2f} ± {100 * s['new_per']['std']:.2f}"
        rel = f"{-100 * s['relative_reduction_vs_scratch']:+.1f}%" if "relative_reduction_vs_scratch" in s else ""
        om = s.get("old_mean_change")
        ox = s.get("old_max_change")
        lines.append(f"{strategy:<16} {new:>16} {rel:>11} "
                     + (f"{100 * om['mean']:>+11.2f} ± {100 * om['std']:.2f}" if om else f"{'-':>18}")
                     + (f" {100 * ox['mean']:>+10.2f} ± {100 * ox['std']:.2f}" if ox else f" {'-':>17}"))
    table = "\n".join(lines)
    print(table)
    out = write_result(args.out, {
        "command": "python benchmarks/add_language.py " + " ".join(
            [f"--base {args.base}", f"--lang {args.lang}", f"--data {args.data}", f"--minutes {args.minutes:g}",
             "--strategies " + " ".join(args.strategies), "--seeds " + " ".join(map(str, args.seeds))] + [f"--set {o}" for o in args.overrides]),
        "machine": info, "base": args.base, "language": args.lang, "minutes": args.minutes,
        "old_languages_before": before, "runs": runs, "summary": summary, "table": table,
    })
    print(f"written to {out}")


if __name__ == "__main__":
    main()
