"""The real-speech pages' tables read from study summaries (``studies/results/NAME``): word accuracy per
rotation beside a peer, an ablation's arms against their baseline and the arm each builds on, the few-labels
goals text, and one set-up's learning curve over the studies that measured each size."""

from __future__ import annotations

import json
import statistics

import yaml

from scripts.results.common import md_table, read_raw, read_study, study_folder
from speechtl.workflows.study_stats import paired, verdict


def study_rotations_table(name: str, peer: str, metric: str = "test.wer_en", values: list[float] | None = None,
                          also: tuple[str, ...] = ()) -> str:
    """A study's word accuracy (1 - ``metric``) per arm and rotation beside a peer's on the same rotations,
    whether the arm is at least the peer's in every rotation, and each arm's cell wall time (records' wall_seconds).

    Args:
        peer: the peer's raw output (``benchmarks/results/NAME``, read by :func:`peer_rotation_means`), or its
            row label when ``values`` gives its word accuracy % per rotation.
        also: other studies of the same rotations whose arms are rows too (named ``STUDY: ARM``).
    """
    summary = read_study(name)
    theirs = peer_rotation_means(peer) if values is None else values
    rotations = list(summary["rotations"])
    rows = [[f"peer: {peer}", *(f"{v:.1f}" for v in theirs), _spread_sample(theirs), "", ""]]
    for study, other in ((name, summary), *((n, read_study(n)) for n in also)):
        for arm in other["arms"]:
            mine = rotation_accuracies(other, arm, metric)
            done = [v for v in mine if v is not None]
            rows.append([arm if study == name else f"{study}: {arm}",
                         *("not run" if v is None else f"{v:.1f}" for v in mine),
                         _spread_sample(done) if done else "–",
                         "yes" if len(done) == len(theirs) and all(a >= b for a, b in zip(mine, theirs)) else
                         ("no" if any(v is not None and v < b for v, b in zip(mine, theirs)) else "–"),
                         _cell_minutes(_records(study, arm))])
    return md_table(["word accuracy %, each test recording alone", *rotations, "mean ± sample std of the rotations",
                   "≥ peer in every rotation", "cell wall minutes (mean)"], rows)


def rotation_accuracies(summary: dict, arm: str, metric: str = "test.wer_en") -> list[float | None]:
    """An arm's word accuracy % (1 - ``metric``, the mean over its seeds) per rotation of a study's summary, in
    rotation order; None where the rotation has no finished cell."""
    stats = [summary["results"][arm][rotation][metric] for rotation in summary["rotations"]]
    return [100 * (1 - v["mean"]) if v["n"] else None for v in stats]


def few_labels_text(name: str, headline: str = "fine-tune") -> tuple[str, float, float]:
    """A few-labels study's goals text (the ``headline`` arm's word accuracy % beside the others', mean ± sample std
    over its cells) with the headline's mean and std; each arm's settings chosen on each rotation's dev pair."""
    summary = read_study(name)
    stats = {arm: summary["results"][arm]["all"]["test.wer_en"] for arm in summary["arms"]}
    acc = {arm: (100 * (1 - v["mean"]), 100 * (v["std"] or 0.0), v["n"]) for arm, v in stats.items() if v["n"]}
    if headline not in acc:
        return "not run", 0.0, 0.0
    mean, std, n = acc[headline]
    others = ", ".join(f"{arm} {m:.1f} ± {s:.1f}%" for arm, (m, s, _) in acc.items() if arm != headline)
    return (f"{headline} {mean:.1f} ± {std:.1f}% ({others}), {n} cells ({len(summary['rotations'])} rotations x "
            f"{len(summary['seeds'])} seeds); each recording alone; each arm's settings chosen on the dev pair its "
            "rotation neither labels nor tests", mean, std)


# the voices set-up's learning curve: (labelled speakers, study, arm, rotation suffix of that size)
VOICES_CURVE = ((1, "fsdd-one-speaker-shipped", "voices", ""), (2, "fsdd-curve-shipped", "voices", "-2"),
                (3, "fsdd-curve-shipped", "voices", "-3"), (4, "fsdd-supervised-shipped", "voices", ""))
PAIRS = ("george-jackson", "lucas-nicolas", "theo-yweweler")  # the held-out pairs, in rotation order


def voices_curve_table(metric: str = "test.wer_en") -> str:
    """Word accuracy % of one set-up against the number of labelled speakers: per held-out pair (mean over its
    seeds) and over every cell (mean ± sample std), from the studies that measured each size."""
    studies = {(name, arm): _accuracies(_records(name, arm), metric) if study_folder(name).is_dir() else {}
               for _, name, arm, _ in VOICES_CURVE}  # each study's records read once
    rows = []
    for size, name, arm, suffix in VOICES_CURVE:
        cells = studies[name, arm]
        by_pair = [[v for (rotation, _), v in cells.items() if rotation == pair + suffix] for pair in PAIRS]
        values = [v for pair in by_pair for v in pair]
        rows.append([size, f"`{name}`", *(f"{statistics.fmean(v):.1f}" if v else "not run" for v in by_pair),
                     _spread_sample(values) if values else "not run", len(values)])
    return md_table(["labelled speakers", "study", *PAIRS, "mean ± sample std of the cells", "cells"], rows)


def study_accuracy_table(name: str, builds_on: dict[str, str], metric: str = "target.wer_en",
                         also: str = "test.wer_en") -> str:
    """An ablation's word accuracy % (1 - ``metric``) per arm, mean ± sample std over its cells; the paired
    difference in points, with the tie rule's verdict, from the study's baseline and from the arm it
    ``builds_on`` (``{arm: the arm it adds one change to}``); 1 - ``also`` beside it; each arm's cell wall time."""
    summary = read_study(name)
    records = {arm: _records(name, arm) for arm in summary["arms"]}
    accuracy = {arm: _accuracies(cells, metric) for arm, cells in records.items()}
    rows = []
    for arm, values in accuracy.items():
        rows.append([arm, len(values), _spread_sample(list(values.values())) if values else "not run",
                     *(_paired_text(accuracy, arm, other) for other in (summary["baseline"], builds_on.get(arm))),
                     _spread_sample(list(_accuracies(records[arm], also).values())) if values else "–",
                     _cell_minutes(records[arm])])
    return md_table(["arm", "cells", "word accuracy %, each recording alone",
                     f"paired difference from {summary['baseline']} (points)", "from the arm it builds on (points)",
                     f"{also.split('.')[0]} split word accuracy %", "cell wall minutes (mean)"], rows)


# the adapted-source studies' comparisons, (study, arm) minus (study, arm), paired over matched rotations and seeds
ADAPTED_PAIRS = (
    (("fsdd-one-speaker-adapted", "adapted-voices"), ("fsdd-one-speaker-adapted", "voices")),
    (("fsdd-one-speaker-adapted", "adapted-voices"), ("fsdd-one-speaker-adapted-alone", "adapted-alone")),
    (("fsdd-supervised-adapted", "adapted-voices"), ("fsdd-supervised-adapted", "voices")),
    (("fsdd-supervised-adapted", "adapted-voices"), ("fsdd-one-speaker-adapted-alone", "adapted-alone")),
    (("fsdd-supervised-adapted", "voices"), ("fsdd-supervised-shipped", "voices")),
)


def cross_study_table(pairs=ADAPTED_PAIRS, metric: str = "test.wer_en") -> str:
    """Word accuracy % (1 - ``metric``) of one study's arm minus another's (the same arm or study allowed), paired
    over the (rotation, seed) cells both finished, with the tie rule's verdict: for studies whose cells share
    their source models (``reuse:``) or their whole definition."""
    rows = []
    for (name, arm), (other, other_arm) in pairs:
        mine, theirs = (_accuracies(_records(n, a), metric) for n, a in ((name, arm), (other, other_arm)))
        diff = paired(mine, theirs)
        std = f" ± {diff['std']:.1f}" if diff["std"] is not None else ""
        rows.append([f"`{name}` {arm}", f"`{other}` {other_arm}", diff["n"],
                     f"{diff['mean']:+.1f}{std}: {verdict(diff)}" if diff["n"] else "no matched cells"])
    return md_table(["arm", "minus", "matched cells", "word accuracy difference (points), each recording alone"],
                    rows)


def step_differences(name: str, steps: dict[str, str], metric: str = "test.wer_en") -> list[str]:
    """``ARM - OTHER +d points over n matched cells: verdict`` for each arm of a study and the arm it ``steps`` on
    (word accuracy, 1 - ``metric``), for arms with finished cells."""
    accuracy = {arm: _accuracies(_records(name, arm), metric) for arm in read_study(name)["arms"]}
    out = []
    for arm, other in steps.items():
        if accuracy.get(arm) and accuracy.get(other):
            diff = paired(accuracy[arm], accuracy[other])
            out.append(f"{arm} - {other} {diff['mean']:+.1f} points over {diff['n']} matched cells: {verdict(diff)}")
    return out


def _paired_text(accuracy: dict[str, dict], arm: str, other: str | None) -> str:
    """``+d ± s: verdict (vs other)`` of ``arm - other`` over matched cells (``accuracy``: each arm's
    :func:`_accuracies`), or ``–``."""
    if not other or other == arm:
        return "–"
    diff = paired(accuracy[arm], accuracy[other])
    std = f" ± {diff['std']:.1f}" if diff["std"] is not None else ""
    return f"{diff['mean']:+.1f}{std}: {verdict(diff)} (vs {other})" if diff["n"] else "–"


def _accuracies(records: list[dict], metric: str) -> dict[tuple[str, int], float]:
    """``{(rotation, seed): word accuracy %}`` (1 - ``metric``) of finished cell records."""
    split, key = metric.split(".", 1)
    return {(r["rotation"], r["seed"]): 100 * (1 - r["metrics"][split][key]) for r in records}


def _records(name: str, arm: str) -> list[dict]:
    """The finished cell records of one arm of a study."""
    paths = sorted((study_folder(name) / "cells" / arm).rglob("*.json"))  # ROTATION/seedN.json or .../seedN/POINT.json
    return [r for r in (json.loads(p.read_text()) for p in paths) if r.get("status") == "ok"]


def _cell_minutes(records: list[dict]) -> str:
    minutes = [r["wall_seconds"] / 60 for r in records]
    return f"{statistics.fmean(minutes):.1f}" if minutes else "–"


ALF = "add-language-fsdd"  # one labelled FSDD speaker added to the shipped model (studies/add-language-fsdd.yaml)
ALF_CONFIGS = ("defaults", "voice augmentation", "voice augmentation, 300 steps")  # its grid's points, in order


def _roles(record: dict) -> dict[str, list[str]]:
    """``{split: speakers}`` of a cell, read from its ``data.parts`` override."""
    parts = next(o for o in record["overrides"] if o.startswith("data.parts="))
    return {p["split"]: p["speakers"] for p in yaml.safe_load(parts.split("=", 1)[1])}


def _rotation_label(index: int, record: dict) -> str:
    roles = _roles(record)
    return f"{index + 1}: {roles['train'][0]} -> {', '.join(roles['test'])} (dev {roles['dev'][0]})"


def add_language_fsdd_table() -> str:
    """Each rotation's grid points (dev figures, the point chosen on dev, test figures) and the chosen points'
    mean ± sample std over the rotations, from the study's cell records."""
    summary, pct = read_study(ALF), lambda x: f"{100 * x:.1f}"
    records = _records(ALF, "conservative")
    rows, chosen = [], []
    for k, rotation in enumerate(summary["rotations"]):
        pick = summary["selection"]["conservative"][rotation]["chosen"]
        for r in sorted((r for r in records if r["rotation"] == rotation), key=lambda r: r["point_name"]):
            dev, test = r["metrics"]["dev"], r["metrics"]["test"]
            name = ALF_CONFIGS[int(r["point_name"].split("-", 1)[0])]
            rows.append([_rotation_label(k, r), name + (" **(chosen on dev)**" if r["point_name"] == pick else ""),
                         f"{pct(dev['word_accuracy'])} ({100 * dev['mean_change']:+.2f})", pct(test["word_accuracy"]),
                         f"{100 * test['mean_change']:+.2f}", f"{100 * test['max_change']:+.2f}"])
            if r["point_name"] == pick:
                chosen.append(test)
    acc, change = ([100 * t[key] for t in chosen] for key in ("word_accuracy", "mean_change"))
    rows.append([f"**mean ± sample std, {len(chosen)} rotations**", "chosen on dev", "", f"**{_spread_sample(acc)}**",
                 f"{statistics.fmean(change):+.2f} ± {statistics.stdev(change):.2f}",
                 f"{max(100 * t['max_change'] for t in chosen):+.2f}"])
    return md_table(["rotation: trained on -> tested on", "config", "dev word accuracy % (7 old languages' dev PER "
                     "change)", "test word accuracy %, each recording alone", "7 old languages' mean test PER change",
                     "worst language"], rows)


def level_trained_fsdd_table() -> str:
    """The grid's third point trained with the level step (arm ``level-trained``) against the same point without
    it, paired per rotation."""
    summary = read_study(ALF)
    plain = {r["rotation"]: r for r in _records(ALF, "conservative") if r["point_name"].startswith("2-")}
    level = {r["rotation"]: r for r in _records(ALF, "level-trained")}
    rows, cols = [], {"was": [], "acc": [], "diff": [], "change": []}
    for k, rotation in enumerate(summary["rotations"]):
        if rotation not in level or rotation not in plain:
            continue
        was, now = plain[rotation]["metrics"]["test"], level[rotation]["metrics"]["test"]
        values = (100 * was["word_accuracy"], 100 * now["word_accuracy"],
                  100 * (now["word_accuracy"] - was["word_accuracy"]), 100 * now["mean_change"])
        for key, v in zip(cols, values):
            cols[key].append(v)
        label = _rotation_label(k, level[rotation]).split(" (dev")[0]
        rows.append([label, f"{values[0]:.1f}", f"{values[1]:.1f}", f"{values[2]:+.1f}",
                     f"{100 * was['mean_change']:+.2f}", f"{values[3]:+.2f}"])
    if len(cols["acc"]) > 1:
        rows.append(["**mean ± sample std**", _spread_sample(cols["was"]), f"**{_spread_sample(cols['acc'])}**",
                     f"{statistics.fmean(cols['diff']):+.1f} ± {statistics.stdev(cols['diff']):.1f}", "",
                     f"{statistics.fmean(cols['change']):+.2f} ± {statistics.stdev(cols['change']):.2f}"])
    return md_table(["rotation: trained on -> tested on", "test word accuracy %, no level step",
                     "trained and decoded with the level step at -20.1 dBFS", "paired difference (points)",
                     "old languages' PER change, no step", "with the step"], rows)


def peer_rotation_means(name: str = "fsdd_cnn_peer.json") -> list[float]:
    """A peer benchmark's word accuracy % per rotation (mean over its runs), in rotation order."""
    return [statistics.fmean(r["word_accuracy"] for r in rot["runs"]) for rot in read_raw(name)["rotations"]]


def pocketsphinx_rotations(name: str = "fsdd_randomised.json") -> list[float]:
    """pocketsphinx's word accuracy % on each no-label rotation's test pair (same 10 words, same files)."""
    return [r["pocketsphinx_word_accuracy"] for r in read_raw(name)["rotations"]]


def _spread_sample(values: list[float]) -> str:
    return f"{statistics.fmean(values):.1f} ± {statistics.stdev(values):.1f}" if len(values) > 1 else f"{values[0]:.1f}"


# the engines ablation's arms, each adding one change to another (studies/fsdd-engines.yaml)
ENGINE_STEPS = {"add-flite": "espeak", "add-festival": "add-flite", "add-piper": "add-festival",
                "add-pitch-vtlp": "add-festival", "add-band3800": "add-festival"}
# the shipped-model FSDD studies' arms, each adding one change to another (the voices arm was added after the rest)
SHIPPED_STEPS = {"level": "gain", "voices": "level"}
# the adapted-source studies: the same voices cells from the rotation's adapted model instead of the shipped one
ADAPTED_STEPS = {"adapted-voices": "voices"}
POCKETSPHINX = "pocketsphinx (same 10 words, same files)"
# the no-label shipped-model study's arms, each adding one stage to another (dann was added after adapted's first cells)
NO_LABEL_SHIPPED_STEPS = {"dann": "source", "adapted": "dann"}

TABLES = {
    "fsdd-supervised-generalise": lambda: study_rotations_table("fsdd-supervised-generalise", "fsdd_cnn_peer.json"),
    "fsdd-supervised-shipped": lambda: study_rotations_table("fsdd-supervised-shipped", "fsdd_cnn_peer.json"),
    "fsdd-one-speaker-shipped": lambda: study_rotations_table("fsdd-one-speaker-shipped", "fsdd_cnn_peer.json"),
    "fsdd-one-speaker-adapted": lambda: study_rotations_table("fsdd-one-speaker-adapted", "fsdd_cnn_peer.json",
                                                              also=("fsdd-one-speaker-adapted-alone",)),
    "fsdd-supervised-adapted": lambda: study_rotations_table("fsdd-supervised-adapted", "fsdd_cnn_peer.json",
                                                             also=("fsdd-one-speaker-adapted-alone",)),
    "fsdd-adapted-pairs": cross_study_table,
    "fsdd-one-speaker-shipped-steps": lambda: study_accuracy_table("fsdd-one-speaker-shipped", SHIPPED_STEPS,
                                                                   "test.wer_en", "dev.wer_en"),
    "fsdd-supervised-shipped-steps": lambda: study_accuracy_table("fsdd-supervised-shipped", SHIPPED_STEPS,
                                                                  "test.wer_en", "dev.wer_en"),
    "fsdd-voices-curve": voices_curve_table,
    "fsdd-few-labels": lambda: study_rotations_table("fsdd-few-labels", "fsdd_cnn_peer.json",
                                                     also=("fsdd-few-labels-synthetic",)),
    "fsdd-few-labels-2": lambda: study_rotations_table("fsdd-few-labels-2", "fsdd_cnn_peer.json",
                                                       also=("fsdd-few-labels-synthetic",)),
    "add-language-fsdd": add_language_fsdd_table,
    "level-trained-fsdd": level_trained_fsdd_table,
    "fsdd-engines": lambda: study_accuracy_table("fsdd-engines", ENGINE_STEPS),
    "fsdd-no-label": lambda: study_rotations_table("fsdd-no-label", POCKETSPHINX, "target.wer_en",
                                                  pocketsphinx_rotations()),
    "fsdd-no-label-shipped": lambda: study_rotations_table("fsdd-no-label-shipped", POCKETSPHINX, "target.wer_en",
                                                          pocketsphinx_rotations()),
    "fsdd-no-label-shipped-steps": lambda: study_accuracy_table("fsdd-no-label-shipped", NO_LABEL_SHIPPED_STEPS),
}
