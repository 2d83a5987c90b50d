"""The tables of the real-speech pages (docs/results/fsdd-*.md): FSDD supervised, randomised, DANN (few labels: scripts/results/fsdd_studies.py)."""

from __future__ import annotations

import statistics

from scripts.results.common import RAW, TRANSDUCTIVE, md_table, provenance_rows, provenance_table, read_raw


def fsdd_table() -> str:
    """Synthetic digits to real FSDD: word accuracy over rotations (``benchmarks/results/fsdd_dann.json``)."""
    s = read_raw("fsdd_dann.json")["summary"]
    names = {"source-only": "source-only", "dann": "DANN", "source-only+st": "source-only + self-training",
             "dann+st": "DANN + self-training", "target-labels": "target speakers' true labels (DANN loss on: not a supervised ceiling)",
             "pocketsphinx": "pocketsphinx (same 10 words, same speakers)"}
    rows = [[names.get(k, k), len(v["runs"]), f"{v['mean']:.1f} ± {v['std']:.1f}",
             " / ".join(f"{x:.1f}" for x in v["runs"])] for k, v in s.items()]
    return md_table(["", "rotations", "word accuracy %", "per rotation"], rows)


RANDOMISED_TITLES = {"source-only": "source-only", "dann": "DANN", "source-only+st": "source-only + self-training",
                     "dann+st": "DANN + self-training", "pocketsphinx": "pocketsphinx (same 10 words, same files)"}


def fsdd_randomised_table(name: str = "fsdd_randomised.json") -> str:
    """Randomised synthetic source to real FSDD, no real labels: word accuracy per held-out pair (``fsdd_randomised.py``)."""
    r = read_raw(name)
    pairs = [" + ".join(x["test_speakers"]) for x in r["rotations"]]
    rows = []
    for method, v in r["summary"].items():
        cells = [x["pocketsphinx_word_accuracy"] if method == "pocketsphinx" else x["methods"][method]["word_accuracy"]
                 for x in r["rotations"]]
        rows.append([RANDOMISED_TITLES[method], *(f"{c:.1f}" for c in cells), f"{v['mean']:.1f} ± {v['std']:.1f}"])
    return md_table(["", *pairs, "mean ± std"], rows)


def _randomised_speaker_files() -> list[str]:
    """The per-speaker CMVN variant's raw outputs: one call per held-out pair and run (side by side)."""
    return sorted(p.name for p in RAW.glob("fsdd_randomised_speaker*.json"))


def randomised_speaker_rotations() -> list[dict]:
    """The per-speaker CMVN variant's rotations, each with the methods of every call that measured it."""
    pairs: dict[int, dict] = {}
    for name in _randomised_speaker_files():
        for x in read_raw(name)["rotations"]:
            pair = pairs.setdefault(x["pair"], {"pair": x["pair"], "test_speakers": x["test_speakers"], "methods": {}})
            pair["methods"].update(x["methods"])
    return [pairs[k] for k in sorted(pairs)]


def fsdd_randomised_speaker_table() -> str:
    """The no-label benchmark with per-speaker CMVN beside the recipe's per-utterance CMVN, pair by pair."""
    rots, base = randomised_speaker_rotations(), {x["pair"]: x for x in read_raw("fsdd_randomised.json")["rotations"]}

    def row(title: str, label: str, accs: list[float]) -> list:
        return [title, label, *(f"{a:.1f}" for a in accs),
                f"{statistics.fmean(accs):.1f} ± {statistics.stdev(accs):.1f}" if len(accs) > 1 else "-"]

    rows = []
    for method in ("source-only", "dann", "dann+st"):
        if rots and all(method in x["methods"] for x in rots):
            rows.append(row(RANDOMISED_TITLES[method], "per utterance (the recipe; each recording alone)",
                            [base[x["pair"]]["methods"][method]["word_accuracy"] for x in rots]))
            rows.append(row(RANDOMISED_TITLES[method], "per speaker (**transductive**: each test speaker's own recordings)",
                            [x["methods"][method]["word_accuracy"] for x in rots]))
    rows.append(row(RANDOMISED_TITLES["pocketsphinx"], "", [base[x["pair"]]["pocketsphinx_word_accuracy"] for x in rots]))
    return md_table(["method", "features.cmvn", *(" + ".join(x["test_speakers"]) for x in rots), "mean ± std"], rows)


def fsdd_randomised_vs_plain(name: str = "fsdd_randomised.json", plain: str = "fsdd_dann.json") -> str:
    """The randomised source's means beside the plain eSpeak source's (``fsdd_dann.json``, an earlier run)."""
    new, old = read_raw(name)["summary"], read_raw(plain)["summary"]
    rows = [[RANDOMISED_TITLES[m], f"{old[m]['mean']:.1f} ± {old[m]['std']:.1f}" if m in old else "-",
             f"{v['mean']:.1f} ± {v['std']:.1f}"] for m, v in new.items()]
    return md_table(["", "plain eSpeak source (`fsdd_dann.json`)", "randomised source"], rows)


def fsdd_randomised_details(name: str = "fsdd_randomised.json") -> str:
    """Per rotation: synthetic test accuracy, greedy PER on the test speakers, training seconds of each run."""
    rows = []
    for x in read_raw(name)["rotations"]:
        for method, m in x["methods"].items():
            run = {"source-only": "source-only+st", "dann": "dann+st"}.get(method, method)
            rows.append([" + ".join(x["test_speakers"]), RANDOMISED_TITLES[method], f"{m['per']:.1f}",
                         f"{m['synthetic_test_word_accuracy']:.1f}",
                         f"{x['train_seconds'][run]:.0f}" if method == run else "(in the run below)"])
    return md_table(["held out", "method", "PER on test speakers %", "synthetic test word acc. %",
                   "training s (with self-training)"], rows)


def fsdd_randomised_ablation(name: str = "fsdd_randomised_ablation.json") -> str:
    """DANN (no self-training) with each group of randomisations removed, per rotation run."""
    r = read_raw(name)
    pairs = [" + ".join(x["test_speakers"]) for x in r["rotations"]]
    names = {"all": "all randomisations (the recipe's channel)", "none": "none (no randomised copies; the target audio once, as in dann-fsdd)"}
    rows = []
    for variant in r["rotations"][0]["runs"]:
        accs = [x["runs"][variant]["word_accuracy"] for x in r["rotations"]]
        deltas = [a - x["runs"]["all"]["word_accuracy"] for a, x in zip(accs, r["rotations"])]
        rows.append([names.get(variant, f"without {variant[1:]}"), *(f"{a:.1f}" for a in accs),
                     " / ".join(f"{d:+.1f}" for d in deltas) if variant != "all" else "",
                     " / ".join("(main run)" if x["runs"][variant]["train_seconds"] is None
                                else f"{x['runs'][variant]['train_seconds']:.0f}" for x in r["rotations"])])
    return md_table(["randomisations", *pairs, "change vs all", "training s"], rows)


def fsdd_supervised_table(name: str = "fsdd_supervised.json", note: str = "") -> str:
    """Supervised real speech: word accuracy per held-out pair and mean ± std (``benchmarks/fsdd_supervised.py``);
    ``note`` follows each run's name (e.g. that the test speakers were normalised by their own recordings)."""
    r = read_raw(name)
    pairs = [" + ".join(x["test_speakers"]) for x in r["rotations"]]
    rows = []
    for run, v in r["summary"].items():
        rows.append([run + note, *(f"{x['runs'][run]['word_accuracy']:.1f}" for x in r["rotations"]),
                     f"{v['mean']:.1f} ± {v['std']:.1f}"])
    return md_table(["", *pairs, "mean ± std"], rows)


def fsdd_supervised_speakers(name: str = "fsdd_supervised.json") -> str:
    """Per test speaker and the outputs that went wrong, for each rotation run."""
    r = read_raw(name)
    rows = []
    for x in r["rotations"]:
        for run, v in x["runs"].items():
            dev = v.get("dev_word_accuracy")
            rows.append([" + ".join(x["test_speakers"]), run,
                         " / ".join(f"{s} {a:.1f}" for s, a in v["per_speaker"].items()),
                         "" if dev is None else f"{dev:.1f}",
                         v["empty_outputs"], v["multi_word_outputs"],
                         ", ".join(f"{k} {n}" for k, n in list(v["top_confusions"].items())[:3]),
                         f"{v['train_seconds']:.0f}"])
    return md_table(["held out", "run", "per speaker %", "training speakers' dev %", "empty", "multi-word",
                   "top confusions", "train s"], rows)


def fsdd_supervised_alone(name: str = "fsdd_supervised_speaker.json") -> str:
    """Per-speaker CMVN runs scored twice: test speakers normalised as speakers, and each recording alone."""
    r = read_raw(name)
    rows = []
    for run in r["summary"]:
        both = [(x["runs"][run]["word_accuracy"], x["runs"][run]["alone_word_accuracy"]) for x in r["rotations"]]
        for label, i in (("each recording alone (the headline: `speechtl decode` of one file)", 1),
                         ("**transductive**: each test speaker's 500 recordings together", 0)):
            values = [b[i] for b in both]
            rows.append([run, label, *(f"{v:.1f}" for v in values),
                         f"{statistics.fmean(values):.1f} ± {statistics.stdev(values):.1f}"])
    return md_table(["run", "test recordings normalised", *(" + ".join(x["test_speakers"]) for x in r["rotations"]),
                   "mean ± std"], rows)


def fsdd_normalisation_provenance(name: str = "fsdd_normalisation.json") -> str:
    """The normalisation study's calls: the first measured every variant; a later one added variants (--only)."""
    r = read_raw(name)
    calls = [(f"`{name}`", r)]
    for variant, v in r["variants"].items():
        if "command" in v:  # the later call recorded its command and `uptime` (same day, same machine)
            load = [float(x) for x in v["uptime"].split("load average:")[1].split(",")]
            calls.append((f"`{name}`: {variant}", {"command": v["command"], "load_average_at_end": None,
                                                   "machine": {**r["machine"], "load_average_at_start": load}}))
    return provenance_rows(calls)


def fsdd_supervised_select(name: str = "fsdd_supervised_select.json") -> str:
    """The settings study: word accuracy of the held-out training speaker (no test pair read)."""
    r = read_raw(name)
    rows = [[k, f"{v['word_accuracy']:.1f}", f"{v['dev_word_accuracy']:.1f}", v["empty_outputs"],
             ", ".join(f"{c} {n}" for c, n in list(v["top_confusions"].items())[:3])]
            for k, v in r["variants"].items()]
    return md_table(["variant", f"{r['dev_speaker'][0]} (held-out speaker) %", "training speakers' dev %", "empty",
                   "top confusions"], rows)


def fsdd_normalisation_table(name: str = "fsdd_normalisation.json") -> str:
    """Normalisation study: the held-out training speaker's word accuracy per seed, mean ± std."""
    r = read_raw(name)
    rows = [[k, " / ".join(f"{x['word_accuracy']:.1f}" for x in v["runs"]),
             f"{v['summary']['mean']:.1f} ± {v['summary']['std']:.1f}",
             " / ".join(f"{x['dev_word_accuracy']:.1f}" for x in v["runs"]),
             " / ".join(str(x["empty_outputs"]) for x in v["runs"])]
            for k, v in r["variants"].items()]
    return md_table(["features.cmvn", f"{r['dev_speaker'][0]} (held-out speaker) % per seed", "mean ± std",
                   "training speakers' dev % per seed", "empty"], rows)


def fsdd_supervised_curve(name: str = "fsdd_supervised_curve.json") -> str:
    """Learning curve: labelled speakers against word accuracy on rotation 1's held-out pair."""
    r = read_raw(name)
    rows = [[n, ", ".join(v["train_speakers"]), f"{v['word_accuracy']:.1f}",
             " / ".join(f"{s} {a:.1f}" for s, a in v["per_speaker"].items())] for n, v in r["curve"].items()]
    return md_table(["labelled speakers", "who", "word acc. %", "per test speaker %"], rows)


def fsdd_recordings_table(name: str = "fsdd_recordings.json") -> str:
    """How each FSDD speaker's recordings differ (``benchmarks/fsdd_supervised.py --stats``)."""
    r = read_raw(name)["speakers"]
    bands = list(next(iter(r.values()))["band_db_re_strongest"])
    rows = [[k, f"{v['median_seconds']:.2f}", f"{v['median_six_seconds']:.2f}", f"{v['mean_rms_dbfs']:.1f}",
             f"{100 * v['eight_bit_share']:.0f}%", *(f"{v['band_db_re_strongest'][b]:.1f}" for b in bands)]
            for k, v in r.items()]
    return md_table(["speaker", "median s", "median 'six' s", "level dBFS", "8-bit", *(f"{b} Hz dB" for b in bands)],
                  rows)


# the tables this module makes, by the name a document's <!-- table:NAME --> block gives
TABLES = {
    "fsdd": fsdd_table,
    "fsdd-supervised": fsdd_supervised_table,
    "fsdd-randomised": fsdd_randomised_table,
    "fsdd-randomised-details": fsdd_randomised_details,
    "fsdd-randomised-vs-plain": fsdd_randomised_vs_plain,
    "fsdd-randomised-ablation": fsdd_randomised_ablation,
    "fsdd-randomised-runs": lambda: provenance_table("fsdd_randomised.json", "fsdd_randomised_ablation.json"),
    "fsdd-supervised-speakers": fsdd_supervised_speakers,
    "fsdd-supervised-select": fsdd_supervised_select,
    "fsdd-supervised-curve": fsdd_supervised_curve,
    "fsdd-normalisation": fsdd_normalisation_table,
    "fsdd-supervised-global": lambda: fsdd_supervised_table("fsdd_supervised_global.json"),
    "fsdd-supervised-global-speakers": lambda: fsdd_supervised_speakers("fsdd_supervised_global.json"),
    "fsdd-supervised-speaker": lambda: fsdd_supervised_table("fsdd_supervised_speaker.json", TRANSDUCTIVE),
    "fsdd-supervised-speaker-speakers": lambda: fsdd_supervised_speakers("fsdd_supervised_speaker.json"),
    "fsdd-supervised-speaker-alone": fsdd_supervised_alone,
    "fsdd-supervised-speaker-run": lambda: provenance_table("fsdd_supervised_speaker.json"),
    "fsdd-randomised-speaker": fsdd_randomised_speaker_table,
    "fsdd-randomised-speaker-run": lambda: provenance_table(*_randomised_speaker_files()),
    "fsdd-normalisation-run": fsdd_normalisation_provenance,
    "fsdd-recordings": fsdd_recordings_table,
}
