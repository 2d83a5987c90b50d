"""RESULTS.md's goals table and real-speech protocol table: each figure read from the raw JSON, its verdict computed."""

from __future__ import annotations

import statistics

from scripts.results.common import RAW, mean_std_pct, read_study, read_raw, pm_pop, summary_text, md_table, goal_verdict
from scripts.results.fsdd import randomised_speaker_rotations
from scripts.results.fsdd_studies import (ADAPTED_STEPS, SHIPPED_STEPS, few_labels_text, peer_rotation_means,
                                          rotation_accuracies, step_differences)


def _spread(values: list[float]) -> str:
    """``mean ± sample std%`` of per-rotation accuracies, or the one value, or ``not run``."""
    return mean_std_pct(values)[2] if len(values) > 1 else f"{values[0]:.1f}%" if values else "not run"


def _gap_closed(study: str) -> list[float]:
    """Per seed: the share of the source-only to upper-bound gap in target PER that DANN closes (a study's
    paired differences, ``studies/results/STUDY/summary.json``; both pairs are over the same seeds)."""
    paired = read_study(study)["paired"]
    gained, gap = (paired[f"{arm} - source-only"]["target.per_en"]["values"] for arm in ("dann", "upper-bound"))
    return [d / u for d, u in zip(gained, gap)]


def _no_label_row(issue: int, goal: str, name: str, target: float, caveat: str) -> list:
    """A goals row for a synthetic-to-real FSDD benchmark: DANN + self-training beside pocketsphinx."""
    r = read_raw(name)["summary"]
    best, peer = r["dann+st"], r["pocketsphinx"]
    return [issue, goal, f"DANN + self-training {best['mean']:.1f} ± {best['std']:.1f}%, 3 rotations "
            f"(pocketsphinx {peer['mean']:.1f}%); {caveat}", goal_verdict(best["mean"], best["std"], target)]


def _no_label_accuracies(arm: str, summary: dict | None = None, study: str = "fsdd-no-label") -> list[float]:
    """An arm of a no-label study: word accuracy % on the held-out pair of each rotation it has run."""
    values = rotation_accuracies(summary or read_study(study), arm, "target.wer_en")
    return [v for v in values if v is not None]


def _no_label_engines_row() -> list:
    """The goals row of the no-label recipe with voices from real speakers (``studies/fsdd-no-label``)."""
    summary = read_study("fsdd-no-label")
    mine, plain = (_no_label_accuracies(arm, summary) for arm in ("engines", "espeak"))
    if not mine:
        return [14, NO_LABEL_ENGINES, "not run", "-"]
    mean, std, text = mean_std_pct(mine) if len(mine) > 1 else (mine[0], 0.0, f"{mine[0]:.1f}%")
    seeds = min(n for n in (summary["results"]["engines"][r]["target.wer_en"]["n"] for r in summary["rotations"]) if n)
    return [14, NO_LABEL_ENGINES, f"DANN + self-training {text}, {len(mine)} of 3 rotations, {seeds} seed(s) each (the same "
            f"recipe without those voices: {mean_std_pct(plain)[2] if len(plain) > 1 else '-'}); each recording "
            f"alone; {DANN_FSDD_CHOSEN}", goal_verdict(mean, std, 90.0)]


NO_LABEL_ENGINES = "the same with Flite and Festival voices beside eSpeak's (`studies/fsdd-no-label.yaml`): >= 90%"
NO_LABEL_SHIPPED = ("no real label, from the shipped model: four engines' voices with randomised copies, the level step "
                    "(`studies/fsdd-no-label-shipped.yaml`): >= 90%")
NO_LABEL_SHIPPED_CHOSEN = "nothing chosen on a score: the set-up fixed before its first cell, its steps by the compute budget"


def _no_label_shipped_row() -> list:
    """The goals row of the no-label recipe from the shipped model (``studies/fsdd-no-label-shipped``)."""
    summary = read_study("fsdd-no-label-shipped")
    arms = {arm: _no_label_accuracies(arm, summary, "fsdd-no-label-shipped") for arm in ("adapted", "dann", "source")}
    if not arms["adapted"]:
        return [23, NO_LABEL_SHIPPED, "not run", "-"]
    mean, std, text = mean_std_pct(arms["adapted"]) if len(arms["adapted"]) > 1 else (arms["adapted"][0], 0.0, "-")
    seeds = min(n for n in (summary["results"]["adapted"][r]["target.wer_en"]["n"] for r in summary["rotations"]) if n)
    return [23, NO_LABEL_SHIPPED, f"DANN + 3 self-training rounds {text}, {len(arms['adapted'])} of 3 rotations, {seeds} "
            f"seed(s) each (DANN alone: {_spread(arms['dann'])}; no adaptation: {_spread(arms['source'])}); each "
            f"recording alone; {NO_LABEL_SHIPPED_CHOSEN}", goal_verdict(mean, std, 90.0)]


def _alone_rotations(name: str, run: str) -> list[float]:
    """A supervised rotations output's runs scored with each test recording normalised alone."""
    return [x["runs"][run]["alone_word_accuracy"] for x in read_raw(name)["rotations"]]


# why each real-speech figure's settings do not yet meet the protocol (RESULTS.md, "Protocol")
NOT_NESTED = "front end chosen on yweweler, a test speaker of rotation 3; only rotation 1 free of selection"




DANN_FSDD_CHOSEN = "dann-fsdd's DANN, self-training and per-utterance CMVN settings chosen partly on FSDD test speakers"


def fsdd_goal_rows() -> list[list]:
    """The goals rows of the real-speech figures (issues 5 and 14): each test recording decoded alone is the
    headline; figures whose test speakers were normalised by their own other recordings are rows of their own,
    named transductive."""
    rows = [_no_label_row(5, "synthetic to real FSDD digits >= 85% with DANN", "fsdd_dann.json", 85.0,
                          f"each recording alone; {DANN_FSDD_CHOSEN}")]
    sup = read_raw("fsdd_supervised.json")["summary"]
    rows.append([14, "supervised FSDD check, 4 labelled speakers, 2 unseen: >= 95%",
                 f"per-utterance CMVN {summary_text(sup['recipe'])}, 3 rotations (+ synthetic words "
                 f"{summary_text(sup['recipe + synthetic words'])}); each recording alone; {NOT_NESTED}",
                 goal_verdict(sup["recipe"]["mean"], sup["recipe"]["std"], 95.0)])
    glob = read_raw("fsdd_supervised_global.json")["summary"]["recipe"]
    rows.append([14, "the same with global CMVN (training-set statistics): >= 95%",
                 f"{summary_text(glob)}, 3 rotations; each recording alone; {NOT_NESTED}",
                 goal_verdict(glob["mean"], glob["std"], 95.0)])
    mean, std, text = mean_std_pct(_alone_rotations("fsdd_supervised_speaker.json", "per-speaker CMVN"))
    rows.append([14, "the same with the per-speaker CMVN model (the recipe now), each recording alone: >= 95%",
                 f"{text}, 3 rotations; {NOT_NESTED}; its dev seeds finished after the rotations had run",
                 goal_verdict(mean, std, 95.0)])
    spk = read_raw("fsdd_supervised_speaker.json")["summary"]["per-speaker CMVN"]
    rows.append([14, "**transductive**: that model with each test speaker normalised by their own 500 recordings",
                 f"{summary_text(spk)}, 3 rotations (not a single-recording figure)", goal_verdict(spk["mean"], spk["std"], 95.0)])
    rows.append(_no_label_row(14, "synthetic to real FSDD with no real labels (randomised source): >= 90%",
                              "fsdd_randomised.json", 90.0, f"each recording alone; {DANN_FSDD_CHOSEN}"))
    rows.append(_no_label_engines_row())
    rows.append(_no_label_shipped_row())
    for name, size in (("fsdd-few-labels", "one"), ("fsdd-few-labels-2", "two")):
        text, mean, std = few_labels_text(name)
        if text == "not run":  # a study whose cells have not run yet shows no row
            continue
        rows.append([14, f"{size} labelled FSDD speaker{'s' if size == 'two' else ''}, from the synthetic model"
                     + (": >= 90%" if size == "one" else " (no goal of its own)"), text,
                     goal_verdict(mean, std, 90.0) if size == "one" else "measured"])
    rnd = [x for x in randomised_speaker_rotations() if "dann+st" in x["methods"]]
    if rnd:  # the per-speaker CMVN variant of the no-label benchmark
        accs = [x["methods"]["dann+st"]["word_accuracy"] for x in rnd]
        mean, std = statistics.fmean(accs), statistics.stdev(accs) if len(accs) > 1 else 0.0
        rows.append([14, "**transductive**: no real labels, randomised source, each FSDD speaker normalised by their "
                     "own recordings (per-speaker CMVN, taken from the supervised study, which read FSDD labels)",
                     f"DANN + self-training {mean:.1f} ± {std:.1f}%, {len(accs)} rotation{'s' if len(accs) > 1 else ''} "
                     "of 3; not measured with single recordings",
                     (goal_verdict(mean, std, 90.0) if len(accs) == 3 else "not shown (rotations missing)")
                     + "; not a no-label choice"])
    return rows


def real_speech_protocol() -> str:
    """Every real-speech accuracy figure: its headline (each test recording alone), its transductive figure where
    one was measured, and why its settings do not yet meet the protocol (chosen inside each rotation)."""
    sup = read_raw("fsdd_supervised.json")["summary"]
    spk_alone = mean_std_pct(_alone_rotations("fsdd_supervised_speaker.json", "per-speaker CMVN"))[2]
    rnd = [x["methods"]["dann+st"]["word_accuracy"] for x in randomised_speaker_rotations() if "dann+st" in x["methods"]]
    rnd_text = mean_std_pct(rnd)[2] if len(rnd) > 1 else "-"

    def pct(v: dict) -> str:
        return summary_text(v)

    rows = [
        ["no labels, `dann-fsdd` (DANN + self-training)", pct(read_raw("fsdd_dann.json")["summary"]["dann+st"]), "-",
         "self-training settings chosen on rotation 1's test pair; DANN and CMVN with the labels of rotation 1's "
         "training speakers, the test speakers of rotations 2-3"],
        ["no labels, `fsdd-randomised` (DANN + self-training)", pct(read_raw("fsdd_randomised.json")["summary"]["dann+st"]),
         f"{rnd_text} (per-speaker CMVN)", "dann-fsdd's settings (chosen partly on FSDD test speakers); "
         "randomisation fixed before any run; per-speaker CMVN from a study that read FSDD labels"],
        ["no labels, `fsdd-randomised` + Flite and Festival voices (`studies/fsdd-no-label.yaml`)",
         _spread(_no_label_accuracies("engines")), "-",
         "dann-fsdd's settings; the engines fixed by a rule (every engine .ci/run installs) after the engines "
         "ablation's first seed, which reads FSDD labels, had been seen"],
        ["no labels, from the shipped model, four engines (`studies/fsdd-no-label-shipped.yaml`, DANN + self-training)",
         _spread(_no_label_accuracies("adapted", study="fsdd-no-label-shipped")), "-",
         NO_LABEL_SHIPPED_CHOSEN + " (written after the no-label and one-speaker studies had been seen)"],
        ["supervised, 4 speakers, per-utterance CMVN", pct(sup["recipe"]), "-", NOT_NESTED],
        ["supervised, 4 speakers, global CMVN", pct(read_raw("fsdd_supervised_global.json")["summary"]["recipe"]), "-",
         NOT_NESTED + "; CMVN chosen on the same dev speaker"],
        ["supervised, 4 speakers, per-speaker CMVN (the recipe now)", spk_alone,
         pct(read_raw("fsdd_supervised_speaker.json")["summary"]["per-speaker CMVN"]),
         NOT_NESTED + "; its 3 dev seeds finished after the rotations had run"],
        ["1 / 2 labelled speakers, fine-tune (`studies/fsdd-few-labels.yaml`, `-2.yaml`), per-utterance CMVN",
         " / ".join("{1:.1f} ± {2:.1f}%".format(*few_labels_text(name)) for name in ("fsdd-few-labels",
                                                                                        "fsdd-few-labels-2")), "-",
         "nested: each rotation's settings chosen on the pair it neither labels nor tests (meets the protocol)"],
    ]
    return md_table(["figure (3 rotations, mean ± sample std)", "headline: each test recording alone",
                   "**transductive** (test speakers' own recordings)", "selection: nested, or why not yet"], rows)


LATE_ARM = "from-shipped-gain"  # added to the generalise study after its test results were seen


def new_language_and_speaker_rows() -> list[list]:
    """Issues 23 and 26: the generalise study beside its peer, zero-shot from the shipped model, FSDD as a new head."""
    from scripts.results import zero_shot

    study = read_study("fsdd-supervised-generalise")
    peer = peer_rotation_means()
    arms = {arm: rotation_accuracies(study, arm) for arm in study["arms"]}
    top = max(arms, key=lambda a: statistics.fmean(arms[a]))
    above = [a for a, accs in arms.items() if all(x >= y for x, y in zip(accs, peer))]
    rows = [[23, "supervised FSDD, 4 labelled speakers: >= 95%, never below a plain classifier in any rotation",
             f"{len(arms)} arms, 1 seed x 3 rotations, 150 steps, each recording alone: highest mean {top} "
             f"{statistics.fmean(arms[top]):.1f} ± {statistics.stdev(arms[top]):.1f}%"
             + (" (an arm added after test results); " if top == LATE_ARM else "; ") +
             f"CNN peer {statistics.fmean(peer):.1f} ± {statistics.stdev(peer):.1f}%; at or above the peer in every "
             f"rotation: {', '.join(above) or 'no arm'}", "**not met**"]]
    rows.append([23, "the same goal, from the shipped model: the level step, and voices from four engines",
                 shipped_study_text(peer), shipped_verdict(peer)])
    rows.append([23, "one labelled speaker, from the synthetic (shipped) model: >= 90%",
                 shipped_study_text(peer, "fsdd-one-speaker-shipped") + " (peer: the CNN on 4 speakers)",
                 "**not met**"])
    rows.append([23, "the same goal, from the shipped model adapted (no label) to the rotation's 4 training speakers",
                 shipped_study_text(peer, "fsdd-one-speaker-adapted", ADAPTED_STEPS, late=False)
                 + " (peer: the CNN on 4 speakers)", arm_goal_verdict("fsdd-one-speaker-adapted", "adapted-voices", 90.0)])
    rows.append([23, "the 4-speaker goal from the same adapted source",
                 shipped_study_text(peer, "fsdd-supervised-adapted", ADAPTED_STEPS, late=False),
                 shipped_verdict(peer, "fsdd-supervised-adapted")])
    rows.append([26, "the demo recipe trains attribute detectors only if the 8 languages' PER is not worse beyond "
                 "the spread (3 seeds)", *demo_attributes_cells()])
    zs = zero_shot._raw()
    per, iso = zero_shot._median(zs, "zero-shot", "per"), zero_shot._median(zs, "zero-shot", "isolated")
    rows.append([26, "zero-shot from the shipped model, median held-out language: PER <= 35%, 100-word accuracy >= 80%",
                 f"PER {100 * per:.1f}%, 100-word accuracy {100 * iso:.1f}% ({len(zs['plan']['test_languages'])} "
                 f"languages in 4 scripts chosen before measuring, {len(zs['seeds'])} seeds of synthetic test sets)",
                 "met" if per <= 0.35 and iso >= 0.80 else "**not met**"])
    rows.append([26, "FSDD as a new head from 1 labelled speaker, each recording alone: >= 90%; forgetting <= +1.0 PER",
                 *add_language_fsdd_cells()])
    return rows


def add_language_fsdd_cells() -> list[str]:
    """``studies/add-language-fsdd``: the grid points chosen on dev (test word accuracy and the old languages'
    PER change, mean ± sample std over the rotations), the level step at decode (``level_norm_fsdd.json``) and
    the arm trained with it."""
    results, level = read_study("add-language-fsdd")["results"], read_raw("level_norm_fsdd.json")["summary"]
    acc, change, trained, trained_change = (results[arm]["all"][f"test.{metric}"] for arm in ("conservative", "level-trained")
                                            for metric in ("word_accuracy", "mean_change"))
    text = (f"{100 * acc['mean']:.1f} ± {100 * acc['std']:.1f}% (with the level step at decode: "
            f"{100 * level['with']['mean']:.1f} ± {100 * level['with']['std']:.1f}%; trained with it, one config: "
            f"{100 * trained['mean']:.1f} ± {100 * trained['std']:.1f}%, forgetting {100 * trained_change['mean']:+.2f}), "
            f"{acc['n']} rotations, shipped model's en head retrained; forgetting {100 * change['mean']:+.2f} ± "
            f"{100 * change['std']:.2f}")
    return [text, f"words {'met' if acc['mean'] >= 0.9 else '**not met**'}; forgetting "
            f"{'met' if change['mean'] <= 0.01 else '**not met**'}"]


def shipped_verdict(peer: list[float], name: str = "fsdd-supervised-shipped", goal: float = 95.0) -> str:
    """The 4-speaker goal's two parts: the best arm's mean against ``goal``, and which arms are never below the
    peer (at or above its word accuracy in every rotation)."""
    study = read_study(name)
    arms = {arm: rotation_accuracies(study, arm) for arm in study["arms"]}
    done = {arm: accs for arm, accs in arms.items() if None not in accs}
    best = max(statistics.fmean(accs) for accs in done.values()) if done else 0.0
    above = [arm for arm, accs in done.items() if all(a >= b for a, b in zip(accs, peer))]
    return (f"{goal:g}% {'met' if best >= goal else '**not met**'}; never below the classifier: "
            + (f"met by {', '.join(above)}" if above else "**not met**"))


def arm_goal_verdict(name: str, arm: str, goal: float) -> str:
    """An arm's word accuracy over its cells (1 - test.wer_en, mean ± sample std) against ``goal`` % by the tie rule."""
    stats = read_study(name)["results"][arm]["all"]["test.wer_en"]
    if stats["n"] < 2:
        return "not yet measured"
    return goal_verdict(100 * (1 - stats["mean"]), 100 * stats["std"], goal)


def shipped_study_text(peer: list[float], name: str = "fsdd-supervised-shipped", steps: dict | None = None,
                       late: bool = True) -> str:
    """A shipped-model FSDD study: each arm's word accuracy over its cells, the peer test, each paired step
    (``steps``: arm -> the arm it builds on; the shipped studies' by default); ``late``: say the voices arm was
    added after the others' results (so in the studies where it was)."""
    study = read_study(name)
    parts = []
    for arm in study["arms"]:
        stats = study["results"][arm]["all"]["test.wer_en"]
        if stats["n"]:
            spread = f" ± {100 * stats['std']:.1f}" if stats["std"] is not None else ""
            per_rot = [study["results"][arm][rot]["test.wer_en"] for rot in study["rotations"]]
            above = all(r["n"] and 100 * (1 - r["mean"]) >= p for r, p in zip(per_rot, peer))
            parts.append(f"{arm} {100 * (1 - stats['mean']):.1f}{spread}% (n={stats['n']}; at or above the peer in "
                         f"every rotation: {'yes' if above else 'no'})")
    differences = "; ".join(step_differences(name, SHIPPED_STEPS if steps is None else steps))
    late_text = " (voices: an arm added after the others' results)" if late and "voices" in study["arms"] else ""
    return f"150 steps, each recording alone: {'; '.join(parts)}{'; ' + differences if differences else ''}{late_text}"


def demo_attributes_cells() -> list[str]:
    """``studies/demo-attributes``: the paired change of mean test PER and, from its verdict, whether the goal holds."""
    pair = read_study("demo-attributes")["paired"]["attributes - without"]["test.per_mean"]
    if pair["n"] < 2:
        return [f"{pair['n']} matched seeds so far", "not yet measured"]
    spread = f" ± {100 * pair['std']:.2f}" if pair["std"] is not None else ""
    verdict = "met" if pair["verdict"] in ("tie", "better") else "**not met**"
    return [f"mean test PER with - without: {100 * pair['mean']:+.2f}{spread} points over {pair['n']} seeds "
            f"({pair['verdict']})", verdict]


def goals_table() -> str:
    """One row per goal, its measured figure read from the raw JSON and its verdict computed from it."""
    rows = []
    demo = read_raw("demo_eval_test.json")["per"]
    worst = max(demo, key=lambda lang: demo[lang]["rate"])
    worst_per = demo[worst]["rate"]
    rows.append([2, "PER <= 15% in every demo language", f"worst {100 * worst_per:.2f}% ({worst}), mean "
                 f"{100 * statistics.fmean(v['rate'] for v in demo.values()):.2f}%, one seed, pronunciation-disjoint split",
                 "met (one seed)" if worst_per <= 0.15 else "**not met**"])
    large = read_raw("large_eval_test.json")["per"]
    rows.append([2, "stretch: PER <= 8% in every language",
                 f"large recipe + VTLP, one seed: worst {100 * max(v['rate'] for v in large.values()):.2f}%",
                 "**withdrawn**: VTLP was chosen on test errors, old word split; 3 seeds pending"])
    mt = read_raw("multitask_gain.json")
    rows.append([2, "multitask gain for the low-resource language",
                 f"{100 * mt['relative_change']:+.1f}% relative PER ({mt['language']}), one seed, untuned baseline",
                 "measured, not a comparative claim (one seed)"])
    zs = read_raw("zero_shot.json")
    rows.append([3, "unseen-word WER <= 10% per language, 1k distractors",
                 f"large model: worst {max(v for k, v in zs['wer']['1000'].items() if k != 'mean'):.1f}%, "
                 "old word split (disjoint by spelling only)", "**withdrawn** until re-measured on the new split"])
    zd = read_raw("zero_shot_demo_disjoint.json")["wer"]["1000"]
    worst = max((k for k in zd if k != "mean"), key=zd.get)
    rows.append([3, "unseen-word WER <= 10% per language, 1k distractors (pronunciation-disjoint split)",
                 f"demo model: worst {zd[worst]:.1f}% ({worst}), mean {zd['mean']:.1f}%, one seed",
                 "met (one seed)" if zd[worst] <= 10 else "**not met**"])
    ps = zs["pocketsphinx"]
    rows.append([3, "faster than pocketsphinx on one core", f"RTF {ps['rtf_speechtl']} vs {ps['rtf_pocketsphinx']}",
                 "met" if ps["rtf_speechtl"] < ps["rtf_pocketsphinx"] else "**not met**"])
    gain = read_study("image-dann")["paired"]["dann - source-only"]["test.acc_digits-m"]  # paired over seeds, sample std
    rows.append([4, "image DANN >= 10 points over source-only (digits-M)",
                 f"{100 * gain['mean']:.1f} ± {100 * gain['std']:.1f} points, {gain['n']} seeds (studies/image-dann.yaml)",
                 goal_verdict(gain["mean"], gain["std"], 0.10)])
    if (RAW / "add_language_dev.json").is_file():  # the re-measurement: new word split, weights chosen on dev
        dev = read_raw("add_language_dev.json")
        add = dev["summary"]
        reductions = [v["relative_reduction_vs_scratch"] for k, v in add.items() if k != "scratch"]
        rows.append([5, "add a language: >= 25% PER below scratch",
                     f"{100 * min(reductions):.0f}-{100 * max(reductions):.0f}% below, 3 seeds",
                     "met" if min(reductions) >= 0.25 else "**not met**"])
        change = add["conservative"]["old_mean_change"]
        chosen = dev["dev_selection"]["chosen"]
        rows.append([5, "old languages' PER change <= +1.0 (conservative)",
                     f"{100 * change['mean']:+.2f} ± {100 * change['std']:.2f}, weights KL {chosen['kl']:g} + "
                     f"L2-SP {chosen['l2sp']:g} chosen on dev, 3 seeds",
                     goal_verdict(change["mean"], change["std"], 0.01, higher_is_better=False)])
    else:
        add = read_raw("add_language.json")["summary"]
        reductions = [v["relative_reduction_vs_scratch"] for k, v in add.items() if k != "scratch"]
        rows.append([5, "add a language: >= 25% PER below scratch",
                     f"{100 * min(reductions):.0f}-{100 * max(reductions):.0f}% below, 3 seeds, old word split",
                     "met" if min(reductions) >= 0.25 else "**not met**"])
        strong = read_raw("add_language_conservative_strong.json")["summary"]["conservative"]["old_mean_change"]
        rows.append([5, "old languages' PER change <= +1.0 (conservative)",
                     f"{100 * strong['mean']:+.2f} with weights raised on the test split until it passed",
                     "**not shown** (no weights chosen on dev yet)"])
    gap = _gap_closed("dann-channel")
    mean, std, text = mean_std_pct([100 * g for g in gap])
    rows.append([5, "channel DANN closes >= 30% of the gap", f"{text}, matched baselines, {len(gap)} seeds "
                 "(studies/dann-channel.yaml)", goal_verdict(mean, std, 30)])
    rows += fsdd_goal_rows()
    real = read_raw("add_language_real.json")["summary"]
    for n in ("1 speaker", "2 speakers"):
        after = real[f"{n}, after"]
        change = after["old_mean_change"]
        rows.append([14, f"real recordings added ({n} of FSDD): old languages' PER change <= +1.0, no empty output",
                     f"{100 * change['mean']:+.2f} ± {100 * change['std']:.2f} (before the fix "
                     f"{100 * real[f'{n}, before']['old_mean_change']['mean']:+.2f}), {after['empty']['mean']:.0f} empty, "
                     f"{len(after['seeds'])} seeds; conservative weights KL 100 + L2-SP 1.0 (the old default, "
                     "raised on the synthetic test split; not re-measured with the dev-chosen 30 + 0.3)",
                     goal_verdict(100 * change["mean"], 100 * change["std"], 1.0, higher_is_better=False)
                     + ("" if after["empty"]["mean"] == 0 else "; empty outputs **not met**")])
    zl = read_raw("zero_shot_languages.json")
    for lang in zl["test_languages"]:
        per = [zl["runs"][seed]["languages"][lang]["zero-shot"]["per"] for seed in zl["runs"]]
        acc = [zl["runs"][seed]["languages"][lang]["zero-shot"]["word_accuracy"] for seed in zl["runs"]]
        rows.append([15, f"zero-shot head, no audio ({lang}): PER <= 35%, 100-word accuracy >= 80%",
                     f"PER {pm_pop(per, 100, 1)}%, word accuracy {pm_pop(acc, 100, 1)}%, {len(per)} seeds, tiny model",
                     f"PER {goal_verdict(statistics.fmean(per), statistics.pstdev(per), 0.35, higher_is_better=False)}; "
                     f"words {goal_verdict(statistics.fmean(acc), statistics.pstdev(acc), 0.80)}"])
    fid = max(max(m["max_abs_diff_last"], m["max_abs_diff_earlier_layers"]) for m in read_raw("ssl_fidelity.json")["models"])
    rows.append([16, "converted Hugging Face checkpoint: same hidden states within 1e-5",
                 f"max abs diff {fid:.1e} (4 architectures, random weights)", "met" if fid <= 1e-5 else "**not met**"])
    pre = read_raw("ssl_pretrain_fsdd.json")
    gain = [r["pretrained_word_accuracy"] - r["baseline_word_accuracy"] for r in pre["runs"]]
    mean, std = statistics.fmean(gain), statistics.pstdev(gain)
    rows.append([16, "BEST-RQ pre-training on unlabelled real audio helps real speech (FSDD held-out)",
                 f"{mean:+.1f} ± {std:.1f} points, {pre['pre_steps']} pre-training steps, {len(gain)} seeds",
                 "no difference (inside the spread)" if abs(mean) <= std else "met" if mean > 0 else "**not met**"])
    batch = read_raw("batch_decode.json")["in_process_1_thread"]
    rows.append([17, "batch decoding, 3,000 FSDD files, one thread: RTF <= 0.004",
                 f"CPU-time RTF {batch['rtf_cpu']:.4f} (wall {batch['rtf_wall']:.4f}, load {batch['load_average_at_start'][0]:.1f})",
                 "met in CPU time" if batch["rtf_cpu"] <= 0.004 else "**not met**"])
    load = read_raw("serve_load.json")
    rows.append([17, "load test, 16 clients on loopback: 0 errors",
                 f"{load['requests']:,} requests, {load['errors']} errors, p95 {load['latency_p95_s']:.2f} s "
                 f"(`{load['server'].removeprefix('speechtl serve ')}`)",
                 "met" if load["errors"] == 0 else "**not met**"])
    st = read_raw("stream_latency.json")
    rows.append([17, "streaming: a partial every <= 0.5 s, final <= 0.3 s after the end",
                 f"gap p95 {st['partial_gap_p95_s']:.2f} s (max {st['partial_gap_max_s']:.2f} s), final max {st['final_delay_max_s']:.2f} s",
                 "met at p95" if st["partial_gap_p95_s"] <= 0.5 and st["final_delay_max_s"] <= 0.3 else "**not met**"])
    rows += new_language_and_speaker_rows()
    return md_table(["issue", "goal", "measured", "verdict"], rows)


# the tables this module makes, by the name a document's <!-- table:NAME --> block gives
TABLES = {
    "goals": goals_table,
    "real-speech-protocol": real_speech_protocol,
}
