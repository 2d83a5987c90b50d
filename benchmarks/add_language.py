"""Add a language with 10 minutes of audio: scratch vs fine-tune vs layer transfer vs conservative.

The base is the README demo model (8 languages). The new language (Swedish by
default) gets ``--minutes`` of synthetic training audio; each strategy runs with
several seeds. Reported per strategy (mean and spread over seeds): the new
language's test PER, its relative reduction over scratch, and the old languages'
PER change after adding (forgetting; the base's PER is measured once).

With ``--conservative-grid KL:L2SP ...`` the conservative weights are chosen on the
**dev** splits first (never on test): each pair is trained with the first seed and
scored on the old and new languages' dev splits; the pair with the lowest new-language
dev PER among those whose old languages' mean dev PER change is at most
``--max-forgetting`` (else the pair that forgets least) is then the conservative
strategy's weights in the test runs. The dev scores and the choice go to the JSON.

    python -m benchmarks.add_language --base exp/multilingual-synth/model \\
        [--lang sv --data recipes/add-language-sv.yaml --minutes 10 --seeds 0 1 2] \\
        [--conservative-grid 10:0.1 30:0.3 100:1.0] [--set train.num_threads=1]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from statistics import mean, pstdev

from benchmarks.common import machine, write_result

from speechtl.tasks.speech.add_language import load_base, old_language_recipe
from speechtl.workflows.add_language import STRATEGIES, add_language, per_by_language
from speechtl.workflows.evaluate import evaluate


def spread(values: list[float]) -> dict:
    return {"mean": mean(values), "std": pstdev(values), "runs": values}


def choose_on_dev(candidates: list[dict], max_forgetting: float) -> dict:
    """The candidate to use: lowest ``new_dev_per`` among those with ``old_dev_change <= max_forgetting``.

    When none keeps forgetting within the bound, the one with the least ``old_dev_change``.
    """
    within = [c for c in candidates if c["old_dev_change"] <= max_forgetting]
    if within:
        return min(within, key=lambda c: c["new_dev_per"])
    return min(candidates, key=lambda c: c["old_dev_change"])


def dev_per(model: str | Path, recipe, output: Path) -> dict[str, float]:
    report = evaluate(model, "dev", recipe=recipe, output=output, progress=False, words=False)
    return {lang: r["rate"] for lang, r in report["per"].items()}


def select_conservative_weights(args, base, old: list[str], root: Path, before_test: dict) -> dict:
    """Train the conservative strategy for each ``KL:L2SP`` pair (first seed); score on the dev splits."""
    before = dev_per(args.base, old_language_recipe(base, old), root / "dev-selection" / "base_dev.json")
    candidates = []
    for pair in args.conservative_grid:
        kl, l2sp = (float(x) for x in pair.split(":"))
        exp = root / "dev-selection" / f"kl{kl:g}-l2sp{l2sp:g}"
        result = add_language(args.base, args.lang, args.data, "conservative", exp, minutes=args.minutes,
                              overrides=[f"train.seed={args.seeds[0]}", *args.overrides,
                                         f"transfer.kl.weight={kl:g}", f"transfer.l2sp.weight={l2sp:g}"],
                              before=before_test, progress=False)
        model = result.exp_dir / "model"
        after = dev_per(model, old_language_recipe(base, old), exp / "old_dev.json")
        new = dev_per(model, None, exp / "new_dev.json")[args.lang]
        change = mean(after[lang] - before[lang] for lang in old)
        candidates.append({"kl": kl, "l2sp": l2sp, "new_dev_per": new, "old_dev_change": change})
        print(f"dev: KL {kl:g} + L2-SP {l2sp:g}: new PER {100 * new:.2f}%, old change {100 * change:+.2f}", flush=True)
    chosen = choose_on_dev(candidates, args.max_forgetting)
    return {"split": "dev", "seed": args.seeds[0], "max_forgetting": args.max_forgetting,
            "old_dev_before": before, "candidates": candidates, "chosen": chosen}


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
    ap.add_argument("--conservative-grid", nargs="*", default=[], metavar="KL:L2SP",
                    help="choose the conservative weights on the dev splits among these pairs")
    ap.add_argument("--max-forgetting", type=float, default=0.01,
                    help="dev bound on the old languages' mean PER change (0.01 = +1.0 point)")
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
    selection = select_conservative_weights(args, base, old, root, before) if args.conservative_grid else None
    chosen = [] if selection is None else [f"transfer.kl.weight={selection['chosen']['kl']:g}",
                                           f"transfer.l2sp.weight={selection['chosen']['l2sp']:g}"]
    runs = []
    for strategy in args.strategies:
        for seed in args.seeds:
            start = time.perf_counter()
            extra = chosen if strategy == "conservative" else []
            result = add_language(args.base, args.lang, args.data, strategy, root / strategy / f"seed{seed}",
                                  minutes=args.minutes, overrides=[f"train.seed={seed}", *args.overrides, *extra],
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
        "command": "python -m benchmarks.add_language " + " ".join(
            [f"--base {args.base}", f"--lang {args.lang}", f"--data {args.data}", f"--minutes {args.minutes:g}",
             "--strategies " + " ".join(args.strategies), "--seeds " + " ".join(map(str, args.seeds))]
            + ([f"--conservative-grid {' '.join(args.conservative_grid)}", f"--max-forgetting {args.max_forgetting:g}"]
               if args.conservative_grid else [])
            + [f"--set {o}" for o in args.overrides]),
        "dev_selection": selection,
        "machine": info, "base": args.base, "language": args.lang, "minutes": args.minutes,
        "old_languages_before": before, "runs": runs, "summary": summary, "table": table,
    })
    print(f"written to {out}")


if __name__ == "__main__":
    main()
