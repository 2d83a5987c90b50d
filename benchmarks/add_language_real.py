"""Adding real recordings to the synthetic model: forgetting and empty transcripts, before and after the fix.

The base is the README demo model (8 languages, eSpeak audio). The new data is
real: FSDD's English digit words of 1 and of 2 labelled speakers
(``recipes/add-language-fsdd.yaml``; English already has a head, so it is
retrained, ``--replace-head en``), tested on two speakers never heard (theo,
yweweler) with the 10 digit words. Each run: ``speechtl add-language --strategy
conservative``, 150 steps, same data order per seed; the two variants differ
only in what the fix changed:

* ``before``: as shipped before the fix -- KL on every source head (the
  retrained en head included) on the new audio only, no replay, and the base's
  sentence beam search (word_score -4) with the digit words;
* ``after``: the defaults now -- the base's own training audio replayed
  (``transfer.replay``, ``--replay-minutes``), KL leaving out the retrained head,
  and the data recipe's ``decode.isolated`` (the best word of the list).

Reported per run and as mean ± std over seeds: the FSDD test PER and word
accuracy, the empty transcripts, the 7 other languages' test PER change (the
goal: at most +1.0) and the en head's change on its own synthetic test.

``--diagnose`` finds the causes first, one change at a time, on the **dev**
splits only (the old languages' dev splits, and a third FSDD speaker, lucas):
1 labelled speaker, seed 0. A run whose experiment directory already holds its
finished report is scored again, not retrained (so a stopped benchmark resumes).

    OMP_NUM_THREADS=1 python -m benchmarks.add_language_real --diagnose --set train.num_threads=1
    OMP_NUM_THREADS=1 python -m benchmarks.add_language_real --set train.num_threads=1
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

from benchmarks.add_language import spread
from benchmarks.common import machine, write_result

from speechtl.decoding.evaluate import lexicon_decoders, recognize_words
from speechtl.tasks.speech.data import load_split
from speechtl.tasks.speech.evaluate import evaluation_lexicons
from speechtl.tasks.speech.task import load_trained
from speechtl.tasks.speech.add_language import load_base, old_language_recipe
from speechtl.workflows.add_language import REPLAY_MINUTES, add_language, per_by_language
from speechtl.workflows.evaluate import evaluate

FSDD = "../shared/data/fsdd"
LANG = "en"
SPEAKER_SETS = {"1 speaker": ["george"], "2 speakers": ["george", "jackson"]}
DEV, TEST = ["lucas"], ["theo", "yweweler"]
DIGITS = "decode.words=[zero, one, two, three, four, five, six, seven, eight, nine]"
# the pre-fix behaviour: nothing replayed, KL on every head, the base's sentence beam search
VARIANTS = {
    "before": {"replay": 0.0, "overrides": ["transfer.kl.exclude=[]", "decode.isolated=false", DIGITS]},
    "after": {"replay": REPLAY_MINUTES, "overrides": []},
}


# --diagnose: (name, directory, strategy, replay minutes, overrides); each differs from the first in one thing
# (then both fixes; fine-tuning shows what L2-SP and KL do at all)
DIAGNOSIS = [
    ("conservative as shipped (KL on every head, no replay)", "cons", "conservative", 0.0, ["transfer.kl.exclude=[]"]),
    ("+ KL leaves out the retrained en head", "cons-excl", "conservative", 0.0, []),
    ("+ 1 min per language of the base's audio replayed", "cons-replay1-noexcl", "conservative", 1.0,
     ["transfer.kl.exclude=[]"]),
    ("+ both (the defaults now)", "cons-replay1", "conservative", 1.0, []),
    ("fine-tune as shipped (no L2-SP, no KL, no replay)", "ft", "finetune", 0.0, []),
]


def parts(train: list[str]) -> str:
    """``data.parts``: all recordings of ``train``, the dev speaker, the test speakers."""
    return (f"data.parts=[{{path: {FSDD}, split: train, speakers: [{', '.join(train)}]}}, "
            f"{{path: {FSDD}, split: dev, speakers: [{', '.join(DEV)}]}}, "
            f"{{path: {FSDD}, split: test, speakers: [{', '.join(TEST)}]}}]")


def word_outputs(model_path: Path) -> dict:
    """Test-speaker recordings decoded with the model's own decode settings: correct and empty outputs."""
    model, recipe, decode = load_trained(model_path)
    utts = load_split(recipe, "test")
    hyps = recognize_words(model, utts, lexicon_decoders(model, evaluation_lexicons(recipe, [LANG]), decode))
    correct = sum(h == u.text for h, u in zip(hyps, utts))
    return {"recordings": len(utts), "correct": correct, "accuracy": correct / len(utts),
            "empty": sum(not h.strip() for h in hyps), "isolated": decode.isolated, "word_score": decode.word_score}


def trained(base: str, data: str, strategy: str, exp: Path, replay: float, overrides: list[str], before: dict
            ) -> dict:
    """``add_language``'s report, or the report of the finished run already in ``exp``."""
    done = exp / "forgetting.json"
    if done.is_file():
        return json.loads(done.read_text())
    return add_language(base, LANG, data, strategy, exp, replace_head=True, replay_minutes=replay, before=before,
                        progress=False, overrides=overrides).report


def dev_per(model: str | Path, recipe, output: Path) -> dict[str, float]:
    return {lang: r["rate"] for lang, r in
            evaluate(model, "dev", recipe=recipe, output=output, progress=False, words=False)["per"].items()}


def dev_words(model_path: Path) -> dict:
    """The dev speaker's recordings, by beam search and by the isolated-word decoder: correct and empty."""
    model, recipe, decode = load_trained(model_path)
    utts = load_split(recipe, "dev")
    lexicons = evaluation_lexicons(recipe, [LANG])
    out = {}
    for name, isolated in (("beam", False), ("isolated", True)):
        config = dataclasses.replace(decode, isolated=isolated)
        hyps = recognize_words(model, utts, lexicon_decoders(model, lexicons, config))
        out[name] = {"accuracy": sum(h == u.text for h, u in zip(hyps, utts)) / len(utts),
                     "empty": sum(not h.strip() for h in hyps), "recordings": len(utts), "word_score": config.word_score}
    return out


def diagnose(args, base, root: Path, info: dict) -> None:
    """Each DIAGNOSIS run (1 speaker, seed 0) scored on the dev splits only."""
    before = dev_per(args.base, old_language_recipe(base, base.languages), root / "base_dev.json")
    runs = []
    for name, folder, strategy, replay, overrides in DIAGNOSIS:
        exp = root / "diagnosis" / folder
        start = time.perf_counter()
        trained(args.base, args.data, strategy, exp, replay,
                [f"train.seed={args.seeds[0]}", parts(SPEAKER_SETS["1 speaker"]), *overrides, *args.overrides],
                {lang: 0.0 for lang in before if lang != LANG})  # its test-split report is not used here
        after = dev_per(exp / "model", old_language_recipe(base, base.languages), exp / "old_dev.json")
        change = {lang: after[lang] - before[lang] for lang in before}
        model, recipe, _ = load_trained(exp / "model")
        new = dev_per(exp / "model", recipe, exp / "new_dev.json")[LANG]
        runs.append({"name": name, "strategy": strategy, "replay_minutes": replay, "overrides": overrides,
                     "old_dev_change": change,
                     "old_dev_mean_change": sum(v for k, v in change.items() if k != LANG) / (len(change) - 1),
                     "en_synth_dev_change": change[LANG], "fsdd_dev_per": new, **dev_words(exp / "model"),
                     "seconds": round(time.perf_counter() - start, 1)})
        print(f"{name}: old dev change {100 * runs[-1]['old_dev_mean_change']:+.2f}, en synthetic "
              f"{100 * change[LANG]:+.2f}, FSDD dev PER {100 * new:.2f}%, beam {runs[-1]['beam']}, "
              f"isolated {runs[-1]['isolated']}", flush=True)
    out = write_result(f"{args.out}_diagnosis", {
        "command": f"python -m benchmarks.add_language_real --diagnose --base {args.base} --data {args.data} "
                   f"--seeds {args.seeds[0]}" + "".join(f" --set {o}" for o in args.overrides),
        "machine": info, "base": args.base, "split": "dev", "dev_speakers": DEV, "seed": args.seeds[0],
        "train_speakers": SPEAKER_SETS["1 speaker"], "old_languages_dev_before": before, "runs": runs})
    print(f"written to {out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="exp/multilingual-synth/model", help="the demo model (make demo writes it)")
    ap.add_argument("--data", default="recipes/add-language-fsdd.yaml")
    ap.add_argument("--speakers", nargs="+", default=list(SPEAKER_SETS), choices=list(SPEAKER_SETS))
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="overrides for every run (e.g. train.num_threads=1)")
    ap.add_argument("--out", default="add_language_real", help="results file benchmarks/results/OUT.json")
    ap.add_argument("--exp", default="exp/add-language-real", help="the runs' experiment directories go here")
    ap.add_argument("--diagnose", action="store_true", help="the one-change-at-a-time study on the dev splits")
    ap.add_argument("--no-new-runs", action="store_true",
                    help="write the results of the runs already finished only (a benchmark stopped at a deadline)")
    args = ap.parse_args()
    info = machine()
    base = load_base(args.base)
    root = Path(args.exp)
    if args.diagnose:
        diagnose(args, base, root, info)
        return
    before = per_by_language(args.base, old_language_recipe(base, base.languages), root / "base_eval.json")
    old = {lang: per for lang, per in before.items() if lang != LANG}
    # runs a stopped benchmark finished (scored and recorded) are kept, not scored again
    finished = json.loads((root / "runs.json").read_text()) if (root / "runs.json").is_file() else []
    runs = []
    for speakers in args.speakers:
        for variant in args.variants:
            v = VARIANTS[variant]
            for seed in args.seeds:
                exp = root / f"{len(SPEAKER_SETS[speakers])}spk" / variant / f"seed{seed}"
                done = [r for r in finished if (r["speakers"], r["variant"], r["seed"]) == (speakers, variant, seed)]
                if done:
                    runs.append(done[0])
                    continue
                if args.no_new_runs:
                    continue
                start = time.perf_counter()
                r = trained(args.base, args.data, "conservative", exp, v["replay"],
                            [f"train.seed={seed}", parts(SPEAKER_SETS[speakers]), *v["overrides"], *args.overrides], old)
                en_synth = per_by_language(exp / "model", old_language_recipe(base, [LANG]), exp / "eval_en_synth.json")
                words = word_outputs(exp / "model")
                runs.append({"speakers": speakers, "variant": variant, "seed": seed, "new_per": r["new"][LANG],
                             "words": words, "old_mean_change": r["mean_change"], "old_max_change": r["max_change"],
                             "old_after": {k: v2["after"] for k, v2 in r["old"].items()},
                             "en_synthetic_change": en_synth[LANG] - before[LANG],
                             "replay_minutes": r["replay_minutes"], "seconds": round(time.perf_counter() - start, 1)})
                (root / "runs.json").write_text(json.dumps(runs + [r for r in finished if r not in runs], indent=1))
                print(f"{speakers} {variant} seed {seed}: PER {100 * r['new'][LANG]:.2f}%, words "
                      f"{100 * words['accuracy']:.1f}% ({words['empty']} empty), old change "
                      f"{100 * r['mean_change']:+.2f}, en synthetic {100 * runs[-1]['en_synthetic_change']:+.2f}",
                      flush=True)
    summary = {}
    for speakers in args.speakers:
        for variant in args.variants:
            mine = [r for r in runs if r["speakers"] == speakers and r["variant"] == variant]
            if not mine:
                continue
            summary[f"{speakers}, {variant}"] = {
                "speakers": speakers, "variant": variant, "seeds": [r["seed"] for r in mine],
                "new_per": spread([r["new_per"] for r in mine]),
                "word_accuracy": spread([r["words"]["accuracy"] for r in mine]),
                "empty": spread([r["words"]["empty"] for r in mine]),
                "old_mean_change": spread([r["old_mean_change"] for r in mine]),
                "old_max_change": spread([r["old_max_change"] for r in mine]),
                "en_synthetic_change": spread([r["en_synthetic_change"] for r in mine])}
    out = write_result(args.out, {
        "command": "python -m benchmarks.add_language_real " + " ".join(
            [f"--base {args.base}", f"--data {args.data}", "--speakers " + " ".join(f"'{s}'" for s in args.speakers),
             "--variants " + " ".join(args.variants), "--seeds " + " ".join(map(str, args.seeds))]
            + [f"--set {o}" for o in args.overrides]),
        "machine": info, "base": args.base, "language": LANG, "dev_speakers": DEV, "test_speakers": TEST,
        "speaker_sets": SPEAKER_SETS, "variants": {k: {"replay_minutes": v["replay"], "overrides": v["overrides"]}
                                                   for k, v in VARIANTS.items()},
        "old_languages_before": before, "runs": runs, "summary": summary,
        "complete": len(runs) == len(args.speakers) * len(args.variants) * len(args.seeds),
        "planned_runs": len(args.speakers) * len(args.variants) * len(args.seeds),
    })
    print(f"written to {out}")


if __name__ == "__main__":
    main()
