"""The real-speech pages' tables read from study summaries (``studies/results/NAME``): word accuracy per
rotation beside a peer, and an ablation's arms against their baseline."""

from __future__ import annotations

import json
import statistics

from scripts.results.common import md_table, read_raw, read_study, study_folder


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


def study_accuracy_table(name: str, metric: str = "target.wer_en", also: str = "test.wer_en") -> str:
    """An ablation's word accuracy % (1 - ``metric``) per arm, mean ± sample std over its cells, the paired
    difference from the study's baseline in points with the tie rule's verdict, 1 - ``also`` beside it, and
    each arm's cell wall time."""
    summary = read_study(name)
    base = summary["baseline"]
    rows = []
    for arm in summary["arms"]:
        values = [100 * (1 - v) for v in _cell_values(name, arm, metric)]
        paired = summary["paired"].get(f"{arm} - {base}", {}).get(metric)
        rows.append([arm, len(values), _spread_sample(values) if values else "not run",
                     f"{-100 * paired['mean']:+.1f} ± {100 * (paired['std'] or 0):.1f}: {paired['verdict']}"
                     if paired and paired["n"] else "(baseline)" if arm == base else "–",
                     _spread_sample([100 * (1 - v) for v in _cell_values(name, arm, also)]) if values else "–",
                     _cell_minutes(name, arm)])
    return md_table(["arm", "cells", "word accuracy %, each recording alone", f"paired difference from {base} (points)",
                     f"{also.split('.')[0]} split word accuracy %", "cell wall minutes (mean)"], rows)


def _records(name: str, arm: str) -> list[dict]:
    """The finished cell records of one arm of a study."""
    paths = sorted((study_folder(name) / "cells" / arm).glob("*/*.json"))
    return [r for r in (json.loads(p.read_text()) for p in paths) if r.get("status") == "ok"]


def _cell_values(name: str, arm: str, metric: str) -> list[float]:
    split, key = metric.split(".", 1)
    return [r["metrics"][split][key] for r in _records(name, arm)]


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


POCKETSPHINX = "pocketsphinx (same 10 words, same files)"

TABLES = {
    "fsdd-supervised-generalise": lambda: study_rotations_table("fsdd-supervised-generalise", "fsdd_cnn_peer.json"),
    "fsdd-supervised-shipped": lambda: study_rotations_table("fsdd-supervised-shipped", "fsdd_cnn_peer.json"),
    "fsdd-one-speaker-shipped": lambda: study_rotations_table("fsdd-one-speaker-shipped", "fsdd_cnn_peer.json"),
    "fsdd-engines": lambda: study_accuracy_table("fsdd-engines"),
    "fsdd-no-label": lambda: study_rotations_table("fsdd-no-label", POCKETSPHINX, "target.wer_en",
                                                  pocketsphinx_rotations()),
}
