"""The transfer tables: demo eval, zero-shot words, add-language, channel DANN tuning (channel and speaker DANN: studies/dann-*.yaml; image transfer: studies/image-*.yaml)."""

from __future__ import annotations

import statistics

from scripts.results.common import LANGS, change_text, md_table, pm_pop, read_raw


def eval_table(name: str = "demo_eval_test.json") -> str:
    """Test PER / WER / WER* per language of a ``speechtl eval`` report (default: the README demo's)."""
    r = read_raw(name)
    langs = [lang for lang in LANGS if lang in r["per"]]
    rows = []
    for lang in langs:
        rows.append([lang, r["per"][lang]["reference_length"], f"{100 * r['per'][lang]['rate']:.2f}",
                     f"{100 * r['wer'][lang]['rate']:.2f}", f"{100 * r['wer_homophones_merged'][lang]['rate']:.2f}"])
    mean = [statistics.fmean(r[k][lang]["rate"] for lang in langs) for k in ("per", "wer", "wer_homophones_merged")]
    rows.append(["mean", "", *(f"{100 * m:.2f}" for m in mean)])
    return md_table(["language", "phonemes", "PER %", "WER %", "WER* %"], rows)


def zero_shot_table(name: str = "zero_shot.json") -> str:
    """Unseen-word WER by distractor count (a ``benchmarks/zero_shot.py`` output)."""
    r = read_raw(name)
    langs = [lang for lang in LANGS if lang in r["wer"]["0"]]
    sizes = {r["lexicon_sizes"]["0"][lang] for lang in langs}
    rows = []
    for n in sorted(r["wer"], key=int):
        words = f" ({sizes.pop()})" if len(sizes) == 1 else ""
        label = f"test words only{words}" if n == "0" else f"+ {int(n):,} distractors"
        rows.append([label, *(f"{r['wer'][n][lang]:.2f}" for lang in langs), f"{r['wer'][n]['mean']:.2f}"])
    if "1000" in r["wer_homophones_merged"]:
        merged = r["wer_homophones_merged"]["1000"]
        rows.append(["+ 1,000, homophones merged", *(f"{merged[lang]:.2f}" for lang in langs), f"{merged['mean']:.2f}"])
    return md_table(["WER % (test, unseen words)", *langs, "mean"], rows)


def zero_shot_provenance(name: str) -> str:
    """Command, date, hardware, load before / after and wall time of a ``benchmarks/zero_shot.py`` output."""
    r = read_raw(name)
    load = r.get("load_average_before_after")
    return md_table(["raw output", "command", "date", "hardware", "load average (1 min) before / after", "seconds"],
                  [[f"`{name}`", f"`python {r['command']}`", r["date"], r["hardware"],
                    " / ".join(f"{x:.2f}" for x in load) if load else "-", r["wall_seconds"]]])


def add_language_table() -> str:
    """Adding Swedish with 10 minutes (``benchmarks/results/add_language.json``)."""
    s = read_raw("add_language.json")["summary"]
    strong = read_raw("add_language_conservative_strong.json")["summary"]["conservative"]
    scratch = s["scratch"]["new_per"]["mean"]
    rows = []
    names = {"scratch": "scratch", "finetune": "fine-tune", "layer-transfer": "layer transfer (4 of 8 blocks frozen)",
             "conservative": "conservative, KL 30 + L2-SP 0.3"}
    for label, v in [*((names[k], s[k]) for k in names),
                     ("conservative, KL 100 + L2-SP 1.0 (weights raised on test)", strong)]:
        per, old = v["new_per"], v.get("old_mean_change")
        rows.append([label, len(per["runs"]), f"{100 * per['mean']:.2f} ± {100 * per['std']:.2f}",
                     "" if label == "scratch" else f"{100 * (per['mean'] - scratch) / scratch:.1f}%",
                     f"{100 * old['mean']:+.2f} ± {100 * old['std']:.2f}" if old else "-"])
    return md_table(["strategy", "seeds", "new-language PER %", "vs scratch", "old languages' mean PER change"], rows)


def add_language_dev_table(name: str = "add_language_dev.json") -> str:
    """Adding a language with the conservative weights chosen on dev (``benchmarks/add_language.py --conservative-grid``)."""
    r = read_raw(name)
    s = r["summary"]
    chosen = r["dev_selection"]["chosen"]
    names = {"scratch": "scratch", "finetune": "fine-tune", "layer-transfer": "layer transfer",
             "conservative": f"conservative, KL {chosen['kl']:g} + L2-SP {chosen['l2sp']:g} (chosen on dev)"}
    rows = []
    for k, v in s.items():
        per, old, worst = v["new_per"], v.get("old_mean_change"), v.get("old_max_change")
        rows.append([names.get(k, k), len(per["runs"]), f"{100 * per['mean']:.2f} ± {100 * per['std']:.2f}",
                     "" if k == "scratch" else f"{-100 * v['relative_reduction_vs_scratch']:+.1f}%",
                     f"{100 * old['mean']:+.2f} ± {100 * old['std']:.2f}" if old else "-",
                     f"{100 * worst['mean']:+.2f}" if worst else "-"])
    return md_table(["strategy", "seeds", f"{r['language']} test PER %", "vs scratch",
                   "old languages' mean PER change", "worst language's change"], rows)


def add_language_selection_table(name: str = "add_language_dev.json") -> str:
    """The conservative weights tried on the dev splits (first seed) and the one chosen."""
    sel = read_raw(name)["dev_selection"]
    rows = [[f"KL {c['kl']:g} + L2-SP {c['l2sp']:g}", f"{100 * c['new_dev_per']:.2f}", f"{100 * c['old_dev_change']:+.2f}",
             "chosen" if c == sel["chosen"] else ""] for c in sel["candidates"]]
    return md_table([f"weights (seed {sel['seed']})", "new language dev PER %", "old languages' mean dev PER change",
                   f"rule: lowest new PER with change <= {100 * sel['max_forgetting']:+.1f}"], rows)


def add_language_real_table(name: str = "add_language_real.json") -> str:
    """Real recordings (FSDD) added to the synthetic model, before and after the fix (``benchmarks/add_language_real.py``)."""
    r = read_raw(name)
    rows = []
    for v in r["summary"].values():
        runs = [x for x in r["runs"] if x["speakers"] == v["speakers"] and x["variant"] == v["variant"]]
        recordings = runs[0]["words"]["recordings"]
        rows.append([v["speakers"], v["variant"], len(runs), pm_pop(v["new_per"]["runs"], 100),
                     pm_pop(v["word_accuracy"]["runs"], 100, 1), f"{pm_pop(v['empty']['runs'], 1, 0)} of {recordings}",
                     change_text(v["old_mean_change"]), f"{100 * max(v['old_max_change']['runs']):+.2f}",
                     change_text(v["en_synthetic_change"])])
    return md_table(["labelled speakers", "variant", "seeds", "FSDD test PER %", "word accuracy %", "empty transcripts",
                   "7 old languages' mean PER change", "worst language (any seed)",
                   "en head's synthetic test PER change"], rows)


def add_language_real_diagnosis(name: str = "add_language_real_diagnosis.json") -> str:
    """One change at a time on the dev splits (seed 0): what forgetting and the empty outputs come from."""
    r = read_raw(name)
    rows = [[d["name"], f"{100 * d['old_dev_mean_change']:+.2f}", f"{100 * d['en_synth_dev_change']:+.2f}",
             f"{100 * d['fsdd_dev_per']:.2f}", f"{100 * d['beam']['accuracy']:.1f} ({d['beam']['empty']} empty)",
             f"{100 * d['isolated']['accuracy']:.1f} ({d['isolated']['empty']} empty)"] for d in r["runs"]]
    return md_table(["run (seed 0, 1 labelled speaker)", "7 old languages' mean dev PER change", "en head's synthetic dev change",
                   f"FSDD dev PER % ({r['dev_speakers'][0]})", "beam search: words correct %", "isolated: words correct %"],
                  rows)


def large_table() -> str:
    """The large recipe with and without VTLP, one seed each (``large*_eval_test.json``)."""
    rows = []
    for label, name in (("large, no VTLP", "large_novtlp_eval_test.json"), ("large + VTLP", "large_eval_test.json")):
        r = read_raw(name)
        rows.append([label, *(f"{100 * r['per'][lang]['rate']:.2f}" for lang in LANGS),
                     f"{100 * statistics.fmean(r['per'][lang]['rate'] for lang in LANGS):.2f}",
                     f"{100 * statistics.fmean(r['wer'][lang]['rate'] for lang in LANGS):.2f}"])
    return md_table(["test PER % (one seed)", *LANGS, "mean", "corpus-lexicon WER mean"], rows)


def multitask_table() -> str:
    """Low-resource language PER, monolingual vs multilingual (``multitask_gain.json``)."""
    r = read_raw("multitask_gain.json")
    return md_table([f"{r['language']} test PER (one seed)", f"monolingual ({r['monolingual_steps']} steps)",
                   f"multilingual ({r['multilingual_steps']} steps)", "relative change"],
                  [["PER", f"{100 * r['monolingual_per']:.2f}%", f"{100 * r['multilingual_per']:.2f}%",
                    f"{100 * r['relative_change']:.1f}%"]])


def dann_tuning_table(name: str = "dann_channel_tuning.json") -> str:
    """The DANN settings tried on the target domain's dev split, one seed (``dann_channel_tuning.json``)."""
    r = read_raw(name)
    best = min((x for x in r["runs"] if not any(o.startswith("data.target.channel") for o in x["overrides"])),
               key=lambda x: x["dann_target_per"])
    rows = []
    for x in r["runs"]:
        label = ", ".join(f"`{o}`" for o in x["overrides"]) or "the first recipe (no overrides)"
        mark = " (used)" if x is best else ""
        rows.append([x["name"] + mark, label, f"{100 * x['dann_target_per']:.2f}",
                     f"{100 * x['source-only_target_per']:.2f}" if "source-only_target_per" in x else "-"])
    return md_table(["run", "overrides", "DANN target dev PER %", "source-only target dev PER %"], rows)


ZERO_SHOT_MODELS = (("zero_shot.json", "large recipe + VTLP"), ("zero_shot_large_novtlp.json", "large recipe without VTLP"),
                    ("zero_shot_demo.json", "demo recipe + VTLP"))


def zero_shot_models_table(names: tuple[tuple[str, str], ...] = ZERO_SHOT_MODELS) -> str:
    """Unseen-word WER (mean of the 8 languages) of several acoustic models (``benchmarks/zero_shot.py`` outputs)."""
    rows = []
    for name, label in names:
        r = read_raw(name)
        rows.append([f"{label} (`{r['model']}`)", f"{r['wer']['1000']['mean']:.2f}", f"{r['wer']['10000']['mean']:.2f}",
                     r["date"], f"`{name}`"])
    return md_table(["acoustic model", "+ 1,000", "+ 10,000", "date", "raw output"], rows)


# the tables this module makes, by the name a document's <!-- table:NAME --> block gives
def level_norm_fsdd_table(name: str = "level_norm_fsdd.json") -> str:
    """The FSDD add-language models re-decoded with the per-recording level step (``benchmarks/level_norm_fsdd.py``)."""
    r, pct = read_raw(name), lambda x: f"{100 * x:.1f}"
    rows = []
    for k, rot in enumerate(r["rotations"]):
        runs = {run["config"]: run for run in rot["runs"]}
        cells = []
        for arm in ("without", "with", "with_synth"):
            run = runs[rot["chosen"][arm]]
            test = run[arm]["test"]
            target = f", target {run['training_level_dbfs']['target']:g} dBFS" if arm == "with" else ""
            cells.append(f"{pct(test['accuracy'])} ({rot['chosen'][arm]}{target})")
        rows.append([f"{k + 1}: {rot['train'][0]} -> {', '.join(rot['test'])} (dev {rot['dev'][0]})", *cells])
    s = r["summary"]
    rows.append(["**mean ± sample std**", *(f"**{pct(s[a]['mean'])} ± {pct(s[a]['std'])}**"
                                            for a in ("without", "with", "with_synth"))])
    shipped = r["shipped"]
    rows.append([f"shipped model, all {shipped['without']['recordings']} recordings", pct(shipped["without"]["accuracy"]),
                 f"{pct(shipped['with']['accuracy'])} (target {shipped['training_level_dbfs']['target']:g} dBFS)", ""])
    return md_table(["rotation: trained on -> tested on", "test word accuracy %, no level step (config chosen on dev)",
                     "level step at the model's training median", "level step at the synthetic level "
                     "(added after seeing rotation 3)"], rows)


TABLES = {
    "large": large_table,
    "multitask": multitask_table,
    "demo": eval_table,
    "tiny-zs-eval": lambda: eval_table("tiny_zs_eval_test.json"),
    "zero-shot": zero_shot_table,
    "zero-shot-tiny-disjoint": lambda: zero_shot_table("zero_shot_tiny_disjoint.json"),
    "zero-shot-tiny-disjoint-run": lambda: zero_shot_provenance("zero_shot_tiny_disjoint.json"),
    "add-language": add_language_table,
    "dann-channel-tuning": dann_tuning_table,
    "zero-shot-models": zero_shot_models_table,
    "zero-shot-demo-disjoint": lambda: zero_shot_table("zero_shot_demo_disjoint.json"),
    "zero-shot-demo-disjoint-run": lambda: zero_shot_provenance("zero_shot_demo_disjoint.json"),
    "add-language-dev": add_language_dev_table,
    "add-language-selection": add_language_selection_table,
    "add-language-real": add_language_real_table,
    "add-language-real-diagnosis": add_language_real_diagnosis,
    "level-norm-fsdd": level_norm_fsdd_table,
}
