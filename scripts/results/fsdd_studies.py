"""The real-speech pages' tables read from study summaries (``studies/results/NAME``): word accuracy per
rotation beside a peer, and an ablation's arms against their baseline."""

from __future__ import annotations

import json
import statistics

from scripts.results.common import md_table, read_raw, read_study, study_folder
from speechtl.workflows.study_stats import paired, verdict


def study_rotations_table(name: str, peer: str, metric: str = "test.wer_en", values: list[float] | None = None) -> str:
    """A study's word accuracy (1 - ``metric``) per arm and rotation beside a peer's on the same rotations,
    whether the arm is at least the peer's in every rotation, and each arm's cell wall time (records' wall_seconds).

    Args:
        peer: the peer's raw output (``benchmarks/results/NAME``, read by :func:`peer_rotation_means`), or its
            row label when ``values`` gives its word accuracy % per rotation.
    """
    summary = read_study(name)
    theirs = peer_rotation_means(peer) if values is None else values
    rotations = list(summary["rotations"])
    rows = [[f"peer: {peer}", *(f"{v:.1f}" for v in theirs), _spread_sample(theirs), "", ""]]
    for arm in summary["arms"]:
        mine = [100 * (1 - summary["results"][arm][rot][metric]["mean"]) if summary["results"][arm][rot][metric]["n"]
                else None for rot in rotations]
        done = [v for v in mine if v is not None]
        rows.append([arm, *("not run" if v is None else f"{v:.1f}" for v in mine),
                     _spread_sample(done) if done else "–",
                     "yes" if len(done) == len(theirs) and all(a >= b for a, b in zip(mine, theirs)) else
                     ("no" if any(v is not None and v < b for v, b in zip(mine, theirs)) else "–"),
                     _cell_minutes(name, arm)])
    return md_table(["word accuracy %, each test recording alone", *rotations, "mean ± sample std",
                   "≥ peer in every rotation", "cell wall minutes (mean)"], rows)


def study_accuracy_table(name: str, builds_on: dict[str, str], metric: str = "target.wer_en",
                         also: str = "test.wer_en") -> str:
    """An ablation's word accuracy % (1 - ``metric``) per arm, mean ± sample std over its cells; the paired
    difference in points, with the tie rule's verdict, from the study's baseline and from the arm it
    ``builds_on`` (``{arm: the arm it adds one change to}``); 1 - ``also`` beside it; each arm's cell wall time."""
    summary = read_study(name)
    rows = []
    for arm in summary["arms"]:
        values = _accuracies(name, arm, metric)
        rows.append([arm, len(values), _spread_sample(list(values.values())) if values else "not run",
                     *(_paired_text(name, arm, other, metric) for other in (summary["baseline"], builds_on.get(arm))),
                     _spread_sample(list(_accuracies(name, arm, also).values())) if values else "–",
                     _cell_minutes(name, arm)])
    return md_table(["arm", "cells", "word accuracy %, each recording alone",
                     f"paired difference from {summary['baseline']} (points)", "from the arm it builds on (points)",
                     f"{also.split('.')[0]} split word accuracy %", "cell wall minutes (mean)"], rows)


def _paired_text(name: str, arm: str, other: str | None, metric: str) -> str:
    """``+d ± s: verdict (vs other)`` of ``arm - other`` over matched cells, or ``–``."""
    if not other or other == arm:
        return "–"
    diff = paired(_accuracies(name, arm, metric), _accuracies(name, other, metric))
    std = f" ± {diff['std']:.1f}" if diff["std"] is not None else ""
    return f"{diff['mean']:+.1f}{std}: {verdict(diff)} (vs {other})" if diff["n"] else "–"


def _accuracies(name: str, arm: str, metric: str) -> dict[tuple[str, int], float]:
    """``{(rotation, seed): word accuracy %}`` (1 - ``metric``) of an arm's finished cells."""
    split, key = metric.split(".", 1)
    return {(r["rotation"], r["seed"]): 100 * (1 - r["metrics"][split][key]) for r in _records(name, arm)}


def _records(name: str, arm: str) -> list[dict]:
    """The finished cell records of one arm of a study."""
    paths = sorted((study_folder(name) / "cells" / arm).glob("*/*.json"))
    return [r for r in (json.loads(p.read_text()) for p in paths) if r.get("status") == "ok"]


def _cell_minutes(name: str, arm: str) -> str:
    minutes = [r["wall_seconds"] / 60 for r in _records(name, arm)]
    return f"{statistics.fmean(minutes):.1f}" if minutes else "–"


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
POCKETSPHINX = "pocketsphinx (same 10 words, same files)"

TABLES = {
    "fsdd-supervised-generalise": lambda: study_rotations_table("fsdd-supervised-generalise", "fsdd_cnn_peer.json"),
    "fsdd-supervised-shipped": lambda: study_rotations_table("fsdd-supervised-shipped", "fsdd_cnn_peer.json"),
    "fsdd-one-speaker-shipped": lambda: study_rotations_table("fsdd-one-speaker-shipped", "fsdd_cnn_peer.json"),
    "fsdd-engines": lambda: study_accuracy_table("fsdd-engines", ENGINE_STEPS),
    "fsdd-no-label": lambda: study_rotations_table("fsdd-no-label", POCKETSPHINX, "target.wer_en",
                                                  pocketsphinx_rotations()),
}
