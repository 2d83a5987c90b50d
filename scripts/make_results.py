"""Write the tables of RESULTS.md and docs/results/*.md from the raw JSON in benchmarks/results/.

A generated table sits between ``<!-- table:NAME -->`` and ``<!-- /table -->``;
the prose around it stays hand-written. ``<!-- table:study-NAME -->`` is the report
of the study whose records are in ``studies/results/NAME/`` (``speechtl study -o``). Every number in such a table is read
from a benchmark's raw output, so it cannot drift from its source.

    python scripts/make_results.py           # rewrite the documents
    python scripts/make_results.py --check   # exit 1 when a committed document differs

``tests/test_results_documents.py`` runs the check in the default test suite.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT / "benchmarks" / "results"
DOCUMENTS = [ROOT / "RESULTS.md", *sorted((ROOT / "docs" / "results").glob("*.md"))]
BLOCK = re.compile(r"(<!-- table:([\w-]+) -->\n)(.*?)(<!-- /table -->)", re.S)
LANGS = ["de", "en", "es", "fr", "it", "nl", "pl", "pt"]
MATCHED = ("dann_channel_matched_source-only.json", "dann_channel_matched_dann.json", "dann_channel_matched_upper-bound.json")  # channel DANN with matched baselines, one file per variant


def _raw(name: str) -> dict:
    return json.loads((RAW / name).read_text())


def _row(*cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _table(header: list[str], rows: list[list]) -> str:
    return "\n".join([_row(*header), _row(*["---"] * len(header)), *(_row(*r) for r in rows)]) + "\n"


def _spread(values: list[float], scale: float = 1.0, digits: int = 2) -> str:
    """``mean ± population std`` of ``values * scale`` (n runs), as text."""
    xs = [scale * v for v in values]
    return f"{statistics.fmean(xs):.{digits}f} ± {statistics.pstdev(xs):.{digits}f}"


def eval_table(name: str = "demo_eval_test.json") -> str:
    """Test PER / WER / WER* per language of a ``speechtl eval`` report (default: the README demo's)."""
    r = _raw(name)
    langs = [lang for lang in LANGS if lang in r["per"]]
    rows = []
    for lang in langs:
        rows.append([lang, r["per"][lang]["reference_length"], f"{100 * r['per'][lang]['rate']:.2f}",
                     f"{100 * r['wer'][lang]['rate']:.2f}", f"{100 * r['wer_homophones_merged'][lang]['rate']:.2f}"])
    mean = [statistics.fmean(r[k][lang]["rate"] for lang in langs) for k in ("per", "wer", "wer_homophones_merged")]
    rows.append(["mean", "", *(f"{100 * m:.2f}" for m in mean)])
    return _table(["language", "phonemes", "PER %", "WER %", "WER* %"], rows)


def zero_shot_table(name: str = "zero_shot.json") -> str:
    """Unseen-word WER by distractor count (a ``benchmarks/zero_shot.py`` output)."""
    r = _raw(name)
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
    return _table(["WER % (test, unseen words)", *langs, "mean"], rows)


def _dann_runs(names: tuple[str, ...]) -> dict:
    """``{"runs": {variant: [run]}}`` of one or more ``benchmarks/dann_speech.py`` outputs (e.g. one per ``--only``)."""
    runs: dict = {}
    for name in names:
        for variant, rs in _raw(name)["channel"]["runs"].items():
            if variant in runs:
                raise ValueError(f"{name}: variant {variant!r} measured twice")
            runs[variant] = rs
    return {"runs": runs}


def provenance_table(*names: str) -> str:
    """Where each raw output came from: command, date, machine load at the start and the end, and the
    seconds it took (a column only when every output records them)."""
    return _provenance([(f"`{name}`", _raw(name)) for name in names])


def _provenance(calls: list[tuple[str, dict]]) -> str:
    """The provenance table of ``(label, raw output or one recorded call)`` pairs."""
    timed = all("seconds" in r for _, r in calls)
    rows = []
    for label, r in calls:
        m = r["machine"]
        end = r.get("load_average_at_end")
        rows.append([label, f"`{r['command']}`", m["date"], f"{m['cpus_usable']} of {m['cpu_count']}",
                     " / ".join(f"{x:.2f}" for x in m["load_average_at_start"]),
                     " / ".join(f"{x:.2f}" for x in end) if end else "-",
                     *([f"{r['seconds']:.0f}"] if timed else [])])
    return _table(["raw output", "command", "date", "CPUs", "load average at start (1/5/15 min)",
                   "at end", *(["seconds"] if timed else [])], rows)


def fsdd_few_labels_provenance(names: tuple[str, ...] = ("fsdd_few_labels_select.json", "fsdd_few_labels.json")) -> str:
    """Every call behind the few-labels outputs: a later call adds runs to the JSON and keeps the earlier calls."""
    calls = []
    for name in names:
        r = _raw(name)
        calls += [(f"`{name}` (earlier call)", c) for c in r.get("earlier_calls", [])] + [(f"`{name}`", r)]
    return _provenance(calls)


def zero_shot_provenance(name: str) -> str:
    """Command, date, hardware, load before / after and wall time of a ``benchmarks/zero_shot.py`` output."""
    r = _raw(name)
    load = r.get("load_average_before_after")
    return _table(["raw output", "command", "date", "hardware", "load average (1 min) before / after", "seconds"],
                  [[f"`{name}`", f"`python {r['command']}`", r["date"], r["hardware"],
                    " / ".join(f"{x:.2f}" for x in load) if load else "-", r["wall_seconds"]]])


def dann_channel_table(*names: str) -> str:
    """Channel DANN: target PER over seeds (``benchmarks/dann_speech.py`` outputs)."""
    r = _dann_runs(names or ("dann_channel.json",))
    names = {"source-only": "source-only", "dann": "DANN", "upper-bound": "multi-condition with target labels"}
    rows = [[names.get(v, v), len(runs), _spread([x["target_per"] for x in runs], 100),
             _spread([x["source_per"] for x in runs], 100)] for v, runs in r["runs"].items()]
    means = {v: statistics.fmean(x["target_per"] for x in runs) for v, runs in r["runs"].items()}
    if {"source-only", "dann", "upper-bound"} <= set(means):
        gap = means["source-only"] - means["upper-bound"]
        rows.append(["gap closed by DANN (of the means)", "", f"{100 * (means['source-only'] - means['dann']) / gap:.1f}%", ""])
        per_seed = [(s["target_per"] - d["target_per"]) / (s["target_per"] - u["target_per"])
                    for s, d, u in zip(*(r["runs"][k] for k in ("source-only", "dann", "upper-bound")))]
        rows.append(["gap closed by DANN, per seed", "", " / ".join(f"{100 * g:.1f}%" for g in per_seed)
                     + f" ({_spread(per_seed, 100, 1)}%)", ""])
    return _table(["", "seeds", "target PER %", "source PER %"], rows)


def fsdd_table() -> str:
    """Synthetic digits to real FSDD: word accuracy over rotations (``benchmarks/results/fsdd_dann.json``)."""
    s = _raw("fsdd_dann.json")["summary"]
    names = {"source-only": "source-only", "dann": "DANN", "source-only+st": "source-only + self-training",
             "dann+st": "DANN + self-training", "target-labels": "target speakers' true labels (DANN loss on: not a supervised ceiling)",
             "pocketsphinx": "pocketsphinx (same 10 words, same speakers)"}
    rows = [[names.get(k, k), len(v["runs"]), f"{v['mean']:.1f} ± {v['std']:.1f}",
             " / ".join(f"{x:.1f}" for x in v["runs"])] for k, v in s.items()]
    return _table(["", "rotations", "word accuracy %", "per rotation"], rows)


# after a figure measured with the test speakers normalised by their own other recordings (not each file alone)
TRANSDUCTIVE = " (**transductive**: test speakers normalised by their own recordings)"

RANDOMISED_TITLES = {"source-only": "source-only", "dann": "DANN", "source-only+st": "source-only + self-training",
                     "dann+st": "DANN + self-training", "pocketsphinx": "pocketsphinx (same 10 words, same files)"}


def fsdd_randomised_table(name: str = "fsdd_randomised.json") -> str:
    """Randomised synthetic source to real FSDD, no real labels: word accuracy per held-out pair (``fsdd_randomised.py``)."""
    r = _raw(name)
    pairs = [" + ".join(x["test_speakers"]) for x in r["rotations"]]
    rows = []
    for method, v in r["summary"].items():
        cells = [x["pocketsphinx_word_accuracy"] if method == "pocketsphinx" else x["methods"][method]["word_accuracy"]
                 for x in r["rotations"]]
        rows.append([RANDOMISED_TITLES[method], *(f"{c:.1f}" for c in cells), f"{v['mean']:.1f} ± {v['std']:.1f}"])
    return _table(["", *pairs, "mean ± std"], rows)


def _randomised_speaker_files() -> list[str]:
    """The per-speaker CMVN variant's raw outputs: one call per held-out pair and run (side by side)."""
    return sorted(p.name for p in RAW.glob("fsdd_randomised_speaker*.json"))


def _randomised_speaker_rotations() -> list[dict]:
    """The per-speaker CMVN variant's rotations, each with the methods of every call that measured it."""
    pairs: dict[int, dict] = {}
    for name in _randomised_speaker_files():
        for x in _raw(name)["rotations"]:
            pair = pairs.setdefault(x["pair"], {"pair": x["pair"], "test_speakers": x["test_speakers"], "methods": {}})
            pair["methods"].update(x["methods"])
    return [pairs[k] for k in sorted(pairs)]


def fsdd_randomised_speaker_table() -> str:
    """The no-label benchmark with per-speaker CMVN beside the recipe's per-utterance CMVN, pair by pair."""
    rots, base = _randomised_speaker_rotations(), {x["pair"]: x for x in _raw("fsdd_randomised.json")["rotations"]}

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
    return _table(["method", "features.cmvn", *(" + ".join(x["test_speakers"]) for x in rots), "mean ± std"], rows)


def fsdd_randomised_vs_plain(name: str = "fsdd_randomised.json", plain: str = "fsdd_dann.json") -> str:
    """The randomised source's means beside the plain eSpeak source's (``fsdd_dann.json``, an earlier run)."""
    new, old = _raw(name)["summary"], _raw(plain)["summary"]
    rows = [[RANDOMISED_TITLES[m], f"{old[m]['mean']:.1f} ± {old[m]['std']:.1f}" if m in old else "-",
             f"{v['mean']:.1f} ± {v['std']:.1f}"] for m, v in new.items()]
    return _table(["", "plain eSpeak source (`fsdd_dann.json`)", "randomised source"], rows)


def fsdd_randomised_details(name: str = "fsdd_randomised.json") -> str:
    """Per rotation: synthetic test accuracy, greedy PER on the test speakers, training seconds of each run."""
    rows = []
    for x in _raw(name)["rotations"]:
        for method, m in x["methods"].items():
            run = {"source-only": "source-only+st", "dann": "dann+st"}.get(method, method)
            rows.append([" + ".join(x["test_speakers"]), RANDOMISED_TITLES[method], f"{m['per']:.1f}",
                         f"{m['synthetic_test_word_accuracy']:.1f}",
                         f"{x['train_seconds'][run]:.0f}" if method == run else "(in the run below)"])
    return _table(["held out", "method", "PER on test speakers %", "synthetic test word acc. %",
                   "training s (with self-training)"], rows)


def fsdd_randomised_ablation(name: str = "fsdd_randomised_ablation.json") -> str:
    """DANN (no self-training) with each group of randomisations removed, per rotation run."""
    r = _raw(name)
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
    return _table(["randomisations", *pairs, "change vs all", "training s"], rows)


def fsdd_supervised_table(name: str = "fsdd_supervised.json", note: str = "") -> str:
    """Supervised real speech: word accuracy per held-out pair and mean ± std (``benchmarks/fsdd_supervised.py``);
    ``note`` follows each run's name (e.g. that the test speakers were normalised by their own recordings)."""
    r = _raw(name)
    pairs = [" + ".join(x["test_speakers"]) for x in r["rotations"]]
    rows = []
    for run, v in r["summary"].items():
        rows.append([run + note, *(f"{x['runs'][run]['word_accuracy']:.1f}" for x in r["rotations"]),
                     f"{v['mean']:.1f} ± {v['std']:.1f}"])
    return _table(["", *pairs, "mean ± std"], rows)


def fsdd_supervised_speakers(name: str = "fsdd_supervised.json") -> str:
    """Per test speaker and the outputs that went wrong, for each rotation run."""
    r = _raw(name)
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
    return _table(["held out", "run", "per speaker %", "training speakers' dev %", "empty", "multi-word",
                   "top confusions", "train s"], rows)


def fsdd_supervised_alone(name: str = "fsdd_supervised_speaker.json") -> str:
    """Per-speaker CMVN runs scored twice: test speakers normalised as speakers, and each recording alone."""
    r = _raw(name)
    rows = []
    for run in r["summary"]:
        both = [(x["runs"][run]["word_accuracy"], x["runs"][run]["alone_word_accuracy"]) for x in r["rotations"]]
        for label, i in (("each recording alone (the headline: `speechtl decode` of one file)", 1),
                         ("**transductive**: each test speaker's 500 recordings together", 0)):
            values = [b[i] for b in both]
            rows.append([run, label, *(f"{v:.1f}" for v in values),
                         f"{statistics.fmean(values):.1f} ± {statistics.stdev(values):.1f}"])
    return _table(["run", "test recordings normalised", *(" + ".join(x["test_speakers"]) for x in r["rotations"]),
                   "mean ± std"], rows)


def fsdd_normalisation_provenance(name: str = "fsdd_normalisation.json") -> str:
    """The normalisation study's calls: the first measured every variant; a later one added variants (--only)."""
    r = _raw(name)
    calls = [(f"`{name}`", r)]
    for variant, v in r["variants"].items():
        if "command" in v:  # the later call recorded its command and `uptime` (same day, same machine)
            load = [float(x) for x in v["uptime"].split("load average:")[1].split(",")]
            calls.append((f"`{name}`: {variant}", {"command": v["command"], "load_average_at_end": None,
                                                   "machine": {**r["machine"], "load_average_at_start": load}}))
    return _provenance(calls)


def fsdd_supervised_select(name: str = "fsdd_supervised_select.json") -> str:
    """The settings study: word accuracy of the held-out training speaker (no test pair read)."""
    r = _raw(name)
    rows = [[k, f"{v['word_accuracy']:.1f}", f"{v['dev_word_accuracy']:.1f}", v["empty_outputs"],
             ", ".join(f"{c} {n}" for c, n in list(v["top_confusions"].items())[:3])]
            for k, v in r["variants"].items()]
    return _table(["variant", f"{r['dev_speaker'][0]} (held-out speaker) %", "training speakers' dev %", "empty",
                   "top confusions"], rows)


def fsdd_normalisation_table(name: str = "fsdd_normalisation.json") -> str:
    """Normalisation study: the held-out training speaker's word accuracy per seed, mean ± std."""
    r = _raw(name)
    rows = [[k, " / ".join(f"{x['word_accuracy']:.1f}" for x in v["runs"]),
             f"{v['summary']['mean']:.1f} ± {v['summary']['std']:.1f}",
             " / ".join(f"{x['dev_word_accuracy']:.1f}" for x in v["runs"]),
             " / ".join(str(x["empty_outputs"]) for x in v["runs"])]
            for k, v in r["variants"].items()]
    return _table(["features.cmvn", f"{r['dev_speaker'][0]} (held-out speaker) % per seed", "mean ± std",
                   "training speakers' dev % per seed", "empty"], rows)


def fsdd_supervised_curve(name: str = "fsdd_supervised_curve.json") -> str:
    """Learning curve: labelled speakers against word accuracy on rotation 1's held-out pair."""
    r = _raw(name)
    rows = [[n, ", ".join(v["train_speakers"]), f"{v['word_accuracy']:.1f}",
             " / ".join(f"{s} {a:.1f}" for s, a in v["per_speaker"].items())] for n, v in r["curve"].items()]
    return _table(["labelled speakers", "who", "word acc. %", "per test speaker %"], rows)


def _few(v: dict) -> str:
    """``mean ± std (r1 / r2 / r3)`` of one few-labels summary cell; rotations missing are named."""
    runs = " / ".join(f"{x:.1f}" for x in v["runs"])
    have = v["rotations"]
    missing = "" if len(have) == 3 else f", rotation{'s' if len(have) > 1 else ''} {' + '.join(have)} only"
    return f"{v['mean']:.1f} ± {v['std']:.1f} ({runs}{missing})"


def fsdd_few_labels_table(name: str = "fsdd_few_labels.json", note: str = "") -> str:
    """Learning curve from the synthetic model: method against 1 and 2 labelled speakers (``benchmarks/fsdd_few_labels.py``);
    ``note`` follows the column titles (e.g. that the test speakers were normalised by their own recordings)."""
    r = _raw(name)
    s = r["summary"]
    synth = _few(s["synthetic only"]) + " (no labels)"
    rows = [["synthetic model alone", synth, synth]]
    for method in r["methods"]:
        rows.append([method, *(_few(s[n][method]) if method in s.get(n, {}) else "not run" for n in ("1", "2"))])
    return _table(["", f"1 labelled speaker{note}", f"2 labelled speakers{note}"], rows)


def _few_alone(name: str, size: str, method: str, key: str = "alone_word_accuracy") -> list[float]:
    """One few-labels arm's ``key`` per rotation (rotation order), where the raw output has it."""
    rots = _raw(name)["rotations"]
    return [rots[k]["sizes"][size]["runs"][method][key] for k in sorted(rots)
            if key in rots[k]["sizes"].get(size, {}).get("runs", {}).get(method, {})]


def _mean_std(values: list[float]) -> str:
    """``mean ± sample std (each)`` of per-rotation word accuracies."""
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.1f} ± {std:.1f} ({' / '.join(f'{v:.1f}' for v in values)})"


def fsdd_few_labels_alone(name: str = "fsdd_few_labels_speaker.json") -> str:
    """Per-speaker CMVN arms scored twice: each test recording normalised alone (the headline), and each test
    speaker's recordings normalised together (transductive)."""
    r = _raw(name)
    rows = []
    for method in r["methods"]:
        for label, key in (("each recording alone", "alone_word_accuracy"),
                           ("**transductive**: each test speaker's recordings together", "word_accuracy")):
            cells = [_mean_std(v) if len(v := _few_alone(name, n, method, key)) == 3 else "not measured"
                     for n in ("1", "2")]
            rows.append([method, label, *cells])
    synth = _few(r["summary"]["synthetic only"])
    rows.append(["synthetic model alone (no labels)", "each recording alone", "not measured", "not measured"])
    rows.append(["synthetic model alone (no labels)", "**transductive**: each test speaker's recordings together",
                 synth, synth])
    return _table(["", "test recordings normalised", "1 labelled speaker", "2 labelled speakers"], rows)


def fsdd_few_labels_paired(name: str = "fsdd_few_labels.json", keys: tuple[tuple[str, str], ...] = (("word_accuracy", ""),)) -> str:
    """Each transfer arm minus scratch, rotation by rotation (same labels, same test pair): mean ± std and each;
    one row per ``(score key, note)`` of ``keys``."""
    r = _raw(name)
    rows = []
    for (key, note), (method, overrides) in ((k, m) for k in keys for m in r["methods"].items()):
        if method == "scratch" or any(o.startswith("train.") for o in overrides):  # other steps: not paired
            continue
        cells = []
        for size in ("1", "2"):
            diffs = [g["runs"][method][key] - g["runs"]["scratch"][key]
                     for _, rot in sorted(r["rotations"].items()) if (g := rot["sizes"].get(size))
                     and method in g["runs"] and "scratch" in g["runs"]]
            cells.append(f"{statistics.fmean(diffs):+.1f} ± {statistics.stdev(diffs) if len(diffs) > 1 else 0:.1f} "
                         f"({' / '.join(f'{d:+.1f}' for d in diffs)})" if diffs else "not run")
        rows.append([f"{method} - scratch{note}", *cells])
    return _table(["", "1 labelled speaker", "2 labelled speakers"], rows)


def fsdd_few_labels_runs(name: str = "fsdd_few_labels.json") -> str:
    """Every few-labels run: who was labelled, per test speaker, what went wrong, training seconds."""
    r = _raw(name)
    rows = []
    for k, rot in sorted(r["rotations"].items()):
        for size, group in sorted(rot["sizes"].items()):
            for method, v in group["runs"].items():
                rows.append([" + ".join(rot["test_speakers"]), ", ".join(group["labelled"]), method,
                             f"{v['word_accuracy']:.1f}", " / ".join(f"{a} {b:.1f}" for a, b in v["per_speaker"].items()),
                             ", ".join(f"{c} {n}" for c, n in list(v["top_confusions"].items())[:3]),
                             f"{v['train_seconds']:.0f}"])
    return _table(["held out", "labelled", "method", "word acc. %", "per test speaker %", "top confusions",
                   "train s"], rows)


def fsdd_few_labels_select(name: str = "fsdd_few_labels_select.json") -> str:
    """The few-labels settings study on the speaker-held-out dev (no test pair read)."""
    r = _raw(name)
    dev = " + ".join(r["dev_speakers"])
    rows = [["synthetic model alone (no labels)", f"{r['synthetic_only']['word_accuracy']:.1f}",
             " / ".join(f"{a} {b:.1f}" for a, b in r["synthetic_only"]["per_speaker"].items()), "", ""]]
    rows += [[k, f"{v['word_accuracy']:.1f}", " / ".join(f"{a} {b:.1f}" for a, b in v["per_speaker"].items()),
              ", ".join(f"{c} {n}" for c, n in list(v["top_confusions"].items())[:3]), f"{v['train_seconds']:.0f}"]
             for k, v in r["variants"].items()]
    return _table(["variant", f"{dev} (dev) %", "per dev speaker %", "top confusions", "train s"], rows)


def fsdd_recordings_table(name: str = "fsdd_recordings.json") -> str:
    """How each FSDD speaker's recordings differ (``benchmarks/fsdd_supervised.py --stats``)."""
    r = _raw(name)["speakers"]
    bands = list(next(iter(r.values()))["band_db_re_strongest"])
    rows = [[k, f"{v['median_seconds']:.2f}", f"{v['median_six_seconds']:.2f}", f"{v['mean_rms_dbfs']:.1f}",
             f"{100 * v['eight_bit_share']:.0f}%", *(f"{v['band_db_re_strongest'][b]:.1f}" for b in bands)]
            for k, v in r.items()]
    return _table(["speaker", "median s", "median 'six' s", "level dBFS", "8-bit", *(f"{b} Hz dB" for b in bands)],
                  rows)


def add_language_table() -> str:
    """Adding Swedish with 10 minutes (``benchmarks/results/add_language.json``)."""
    s = _raw("add_language.json")["summary"]
    strong = _raw("add_language_conservative_strong.json")["summary"]["conservative"]
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
    return _table(["strategy", "seeds", "new-language PER %", "vs scratch", "old languages' mean PER change"], rows)


def add_language_dev_table(name: str = "add_language_dev.json") -> str:
    """Adding a language with the conservative weights chosen on dev (``benchmarks/add_language.py --conservative-grid``)."""
    r = _raw(name)
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
    return _table(["strategy", "seeds", f"{r['language']} test PER %", "vs scratch",
                   "old languages' mean PER change", "worst language's change"], rows)


def add_language_selection_table(name: str = "add_language_dev.json") -> str:
    """The conservative weights tried on the dev splits (first seed) and the one chosen."""
    sel = _raw(name)["dev_selection"]
    rows = [[f"KL {c['kl']:g} + L2-SP {c['l2sp']:g}", f"{100 * c['new_dev_per']:.2f}", f"{100 * c['old_dev_change']:+.2f}",
             "chosen" if c == sel["chosen"] else ""] for c in sel["candidates"]]
    return _table([f"weights (seed {sel['seed']})", "new language dev PER %", "old languages' mean dev PER change",
                   f"rule: lowest new PER with change <= {100 * sel['max_forgetting']:+.1f}"], rows)


def _change(v: dict) -> str:
    """A PER change's ``{"mean", "std"}`` in points, signed."""
    return f"{100 * v['mean']:+.2f} ± {100 * v['std']:.2f}"


def add_language_real_table(name: str = "add_language_real.json") -> str:
    """Real recordings (FSDD) added to the synthetic model, before and after the fix (``benchmarks/add_language_real.py``)."""
    r = _raw(name)
    rows = []
    for v in r["summary"].values():
        runs = [x for x in r["runs"] if x["speakers"] == v["speakers"] and x["variant"] == v["variant"]]
        recordings = runs[0]["words"]["recordings"]
        rows.append([v["speakers"], v["variant"], len(runs), _spread(v["new_per"]["runs"], 100),
                     _spread(v["word_accuracy"]["runs"], 100, 1), f"{_spread(v['empty']['runs'], 1, 0)} of {recordings}",
                     _change(v["old_mean_change"]), f"{100 * max(v['old_max_change']['runs']):+.2f}",
                     _change(v["en_synthetic_change"])])
    return _table(["labelled speakers", "variant", "seeds", "FSDD test PER %", "word accuracy %", "empty transcripts",
                   "7 old languages' mean PER change", "worst language (any seed)",
                   "en head's synthetic test PER change"], rows)


def add_language_real_diagnosis(name: str = "add_language_real_diagnosis.json") -> str:
    """One change at a time on the dev splits (seed 0): what forgetting and the empty outputs come from."""
    r = _raw(name)
    rows = [[d["name"], f"{100 * d['old_dev_mean_change']:+.2f}", f"{100 * d['en_synth_dev_change']:+.2f}",
             f"{100 * d['fsdd_dev_per']:.2f}", f"{100 * d['beam']['accuracy']:.1f} ({d['beam']['empty']} empty)",
             f"{100 * d['isolated']['accuracy']:.1f} ({d['isolated']['empty']} empty)"] for d in r["runs"]]
    return _table(["run (seed 0, 1 labelled speaker)", "7 old languages' mean dev PER change", "en head's synthetic dev change",
                   f"FSDD dev PER % ({r['dev_speakers'][0]})", "beam search: words correct %", "isolated: words correct %"],
                  rows)


def large_table() -> str:
    """The large recipe with and without VTLP, one seed each (``large*_eval_test.json``)."""
    rows = []
    for label, name in (("large, no VTLP", "large_novtlp_eval_test.json"), ("large + VTLP", "large_eval_test.json")):
        r = _raw(name)
        rows.append([label, *(f"{100 * r['per'][lang]['rate']:.2f}" for lang in LANGS),
                     f"{100 * statistics.fmean(r['per'][lang]['rate'] for lang in LANGS):.2f}",
                     f"{100 * statistics.fmean(r['wer'][lang]['rate'] for lang in LANGS):.2f}"])
    return _table(["test PER % (one seed)", *LANGS, "mean", "corpus-lexicon WER mean"], rows)


def multitask_table() -> str:
    """Low-resource language PER, monolingual vs multilingual (``multitask_gain.json``)."""
    r = _raw("multitask_gain.json")
    return _table([f"{r['language']} test PER (one seed)", f"monolingual ({r['monolingual_steps']} steps)",
                   f"multilingual ({r['multilingual_steps']} steps)", "relative change"],
                  [["PER", f"{100 * r['monolingual_per']:.2f}%", f"{100 * r['multilingual_per']:.2f}%",
                    f"{100 * r['relative_change']:.1f}%"]])


def _pct(v: dict) -> str:
    return f"{100 * v['mean']:.1f} ± {100 * v['std']:.1f}%"


def image_dann_table() -> str:
    """Digits -> digits-M accuracy over seeds (``transfer_methods.json``)."""
    t = _raw("transfer_methods.json")["dann"]["target_accuracy"]
    names = {"source-only": "source-only", "dann": "DANN", "train-on-target": "train on digits-M (upper bound)"}
    return _table(["method", "seeds", "digits-M accuracy"], [[names.get(k, k), v["n"], _pct(v)] for k, v in t.items()])


def image_finetune_table(name: str = "transfer_methods.json") -> str:
    """Few-shot fine-tuning, every variant (test accuracy); the best k as the JSON records how it was chosen."""
    f = _raw(name)["finetune"]
    shots = [k for k in f if k.endswith("-shot")]
    names = {"scratch": "scratch", "fine-tune": "full fine-tune", "l2sp": "L2-SP (weight 0.01)"}
    rows = []
    for variant in f[shots[0]]["accuracy"]:
        label = names.get(variant, variant.replace("layer-transfer-k", "layer transfer, k = ") + " frozen")
        rows.append([label, *(_pct(f[n]["accuracy"][variant]) for n in shots)])
    chosen = " / ".join(f"{f[n]['best_layer_transfer'].rsplit('k', 1)[1]} (chosen on {f[n].get('best_chosen_on', 'test')})"
                        for n in shots)
    rows.append(["best layer-transfer k", *chosen.split(" / ")])
    if "dev_accuracy" in f[shots[0]]:
        rows += [[f"dev accuracy, {v.replace('layer-transfer-k', 'layer transfer, k = ')}",
                  *(_pct(f[n]["dev_accuracy"][v]) for n in shots)]
                 for v in f[shots[0]]["dev_accuracy"] if v.startswith("layer-transfer")]
    return _table(["method", *(n.replace("-shot", " images / class") for n in shots)], rows)


def transfer_methods_provenance(name: str) -> str:
    """Command, date, machine, load at start and end and wall time of a ``benchmarks/transfer_methods.py`` output."""
    r = _raw(name)
    m = r["meta"]
    load = " / ".join(" / ".join(f"{x:.2f}" for x in m[k][:1]) for k in ("load_average_at_start", "load_average_at_end"))
    walls = ", ".join(f"{k} {r[k]['wall_seconds']:.0f} s" for k in r if k != "meta")
    return _table(["raw output", "command", "date", "machine", "threads", "load average (1 min) start / end", "wall"],
                  [[f"`{name}`", f"`{m['command']}`", m["date"], m["machine"], m["threads"], load, walls]])


def image_zeroshot_table() -> str:
    """Unseen-class accuracy over seeds (``transfer_methods.json``)."""
    z = _raw("transfer_methods.json")["zeroshot"]
    names = {"dap": "DAP (attributes)", "embedding-attributes": "embedding + hinge ranking loss (attributes)",
             "embedding-names": "embedding + hinge ranking loss (class-name vectors)",
             "conse-names": "ConSE (class-name vectors)"}
    return _table(["method", "seeds", f"unseen-class accuracy (chance {100 * z['chance']:.1f}%)"],
                  [[names.get(k, k), v["n"], _pct(v)] for k, v in z["unseen_accuracy"].items()])


def scale_memory_table(names: tuple[str, ...] = ("scale_memory.json", "scale_memory_35h.json")) -> str:
    """Peak RSS of training by corpus size and data path (``benchmarks/scale_memory.py`` outputs)."""
    runs = [run for name in names if (RAW / name).is_file() for run in _raw(name)["runs"]]
    rows = [[f"{run['hours']:.1f}", run["code"], run["peak_rss_mb"], run["train_wall_seconds"]]
            for run in sorted(runs, key=lambda r: (r["code"], r["hours"]))]
    return _table(["training audio (h)", "data path", "peak RSS (MB)", "wall s (prepare + 20 steps)"], rows)


def scale_memory_provenance(names: tuple[str, ...] = ("scale_memory.json", "scale_memory_35h.json")) -> str:
    rows = [[f"`{_raw(n)['command']}`", _raw(n)["machine"]["date"],
             ", ".join(str(x) for x in _raw(n)["machine"]["load_average_at_start"])]
            for n in names if (RAW / n).is_file()]
    return _table(["command", "date", "load average at start (1, 5, 15 min)"], rows)


def throughput_ab_table(name: str = "throughput_ab.json") -> str:
    """Training throughput of the two data paths, alternated in one run (``benchmarks/throughput_ab.py``)."""
    r = _raw(name)
    rows = [[run["round"], run["code"], f"{run['audio_sec_per_sec']:.0f}",
             ", ".join(f"{x:.2f}" for x in run["load_average"])] for run in r["runs"]]
    rows.append(["mean", "lhotse data path / before", f"{r['ratio_new_to_old']:.3f}", ""])
    return _table(["round", "data path", "audio s / s", "load average after"], rows)


def demo_data_path_table(before: str = "demo_oldpath_eval_test.json", after: str = "demo_lhotse_eval_test.json") -> str:
    """Test PER per language of the demo trained through the old and the new data path (same corpus, one seed)."""
    a, b = _raw(before), _raw(after)
    langs = [lang for lang in LANGS if lang in a["per"] and lang in b["per"]]
    rows = [[lang, f"{100 * a['per'][lang]['rate']:.2f}", f"{100 * b['per'][lang]['rate']:.2f}",
             f"{100 * (b['per'][lang]['rate'] - a['per'][lang]['rate']):+.2f}"] for lang in langs]
    mean = [statistics.fmean(r["per"][lang]["rate"] for lang in langs) for r in (a, b)]
    rows.append(["mean", f"{100 * mean[0]:.2f}", f"{100 * mean[1]:.2f}", f"{100 * (mean[1] - mean[0]):+.2f}"])
    return _table(["language", "PER % before (features in memory)", "PER % lhotse data path", "change"], rows)


def long_file_table(name: str = "long_file_memory.json") -> str:
    """Peak RSS of decoding one long recording (``benchmarks/long_file_memory.py``)."""
    r = _raw(name)
    rows = [[f"{run['minutes']:g}", run["peak_rss_mb"], run["wall_seconds"], run["output_tokens"]] for run in r["runs"]]
    rows.append([f"`{r['command']}`", r["machine"]["date"], "load " + ", ".join(
        str(x) for x in r["machine"]["load_average_at_start"]), ""])
    return _table(["minutes of audio", "peak RSS (MB)", "wall s (one thread)", "words and times printed"], rows)


def ssl_fidelity_table(name: str = "ssl_fidelity.json") -> str:
    """Largest absolute hidden-state differences of converted Hugging Face checkpoints (``benchmarks/ssl_fidelity.py``)."""
    rows = [[m["model"], f"{m['parameters'] / 1e6:.1f}M", f"{m['layers']} x {m['dim']}", f"{m['max_abs_diff_last']:.1e}",
             f"{m['max_abs_diff_earlier_layers']:.1e}", f"{m['max_abs_diff_torchaudio_importer']:.1e}",
             f"{m['hidden_state_abs_max']:.2f}"] for m in _raw(name)["models"]]
    return _table(["architecture (random weights)", "parameters", "layers x width",
                   "max abs diff, last layer vs Hugging Face", "earlier layers vs Hugging Face",
                   "vs torchaudio's importer", "largest hidden value"], rows)


def ssl_cost_table(name: str = "ssl_finetune_cost.json") -> str:
    """Training throughput of the small wav2vec2-style encoder and the demo TDNN, alternated (``ssl_finetune_cost.py``)."""
    r = _raw(name)
    rows = []
    for encoder, mean in r["mean_audio_sec_per_sec"].items():
        runs = [x["audio_sec_per_sec"] for x in r["runs"] if x["encoder"] == encoder]
        rows.append([encoder, f"{r['parameters'][encoder] / 1e6:.2f}M", ", ".join(f"{v:.1f}" for v in runs),
                     f"{mean:.1f}", f"{mean / r['mean_audio_sec_per_sec'][next(iter(r['mean_audio_sec_per_sec']))]:.3f}"])
    return _table(["encoder", "parameters", "seconds of audio per second, each run", "mean", "relative to the TDNN"],
                  rows)


def ssl_pretrain_table(name: str = "ssl_pretrain_fsdd.json") -> str:
    """FSDD held-out word accuracy with and without BEST-RQ pre-training, over seeds (``ssl_pretrain_fsdd.py``)."""
    r = _raw(name)
    rows = []
    for arm, title in (("baseline", f"no pre-training ({r['pre_steps'] + r['fine_steps']} supervised steps)"),
                       ("pretrained", f"BEST-RQ {r['pre_steps']} steps, then {r['fine_steps']} supervised steps")):
        values = r[arm]["runs"]
        seconds = [x[f"{arm}_seconds"] for x in r["runs"]]
        rows.append([title, _spread(values), ", ".join(f"{v:.2f}" for v in values), len(values),
                     f"{statistics.fmean(seconds):.0f}"])
    return _table(["arm", "word accuracy % (mean ± std)", "seeds", "runs", "wall seconds per run (mean)"], rows)


def _summary_percent(summary: dict, sign: str = "") -> str:
    """``mean ± std`` in percent of a ``{"mean", "std"}`` summary (no std for one run)."""
    std = "" if summary["std"] is None else f" ± {100 * summary['std']:.2f}"
    return f"{100 * summary['mean']:{sign}.2f}{std}"


def int8_per_cost_table(name: str = "int8_per_cost.json") -> str:
    """Test PER in float32 and int8 of the same trained models, per seed, and the paired difference
    (mean ± sample std; ``benchmarks/int8_per_cost.py``)."""
    r = _raw(name)
    rows = [[run["seed"], f"{100 * run['per_float32']['mean']:.2f}", f"{100 * run['per_int8']['mean']:.2f}",
             f"{100 * run['difference']:+.2f}"] for run in r["runs"]]
    rows.append([f"mean ± std ({r['difference']['n']} seeds)",
                 *(_summary_percent(r[k]) for k in ("per_float32", "per_int8")),
                 _summary_percent(r["difference"], "+")])
    return _table(["seed", "test PER % float32", "test PER % int8", "int8 - float32 (points)"], rows)


def dann_tuning_table(name: str = "dann_channel_tuning.json") -> str:
    """The DANN settings tried on the target domain's dev split, one seed (``dann_channel_tuning.json``)."""
    r = _raw(name)
    best = min((x for x in r["runs"] if not any(o.startswith("data.target.channel") for o in x["overrides"])),
               key=lambda x: x["dann_target_per"])
    rows = []
    for x in r["runs"]:
        label = ", ".join(f"`{o}`" for o in x["overrides"]) or "the first recipe (no overrides)"
        mark = " (used)" if x is best else ""
        rows.append([x["name"] + mark, label, f"{100 * x['dann_target_per']:.2f}",
                     f"{100 * x['source-only_target_per']:.2f}" if "source-only_target_per" in x else "-"])
    return _table(["run", "overrides", "DANN target dev PER %", "source-only target dev PER %"], rows)


def dann_speaker_table(name: str = "dann_channel.json") -> str:
    """Speaker DANN (held-out voices as the unlabelled target), one seed (``dann_channel.json``, ``speaker``)."""
    s = _raw(name)["speaker"]
    names = {"source-only": "source-only", "dann": "DANN (held-out voices unlabelled)"}
    return _table(["test PER %, held-out voices", "seed", "PER %"],
                  [[names.get(k, k), v["seed"], f"{100 * v['target_per']:.2f}"] for k, v in s.items()])


def ddp_throughput_table(names: tuple[str, ...] = ("ddp_throughput.json", "ddp_throughput_demo.json")) -> str:
    """Training throughput by process and thread layout (``benchmarks/ddp_throughput.py`` outputs)."""
    rows = []
    for name in names:
        r = _raw(name)
        recipe = r["command"].split("--recipe ")[1].split()[0]
        for c in r["configs"]:
            rows.append([f"`{recipe}`", c["name"], f"{c['audio_sec_per_sec']:.0f}", f"{c['wall_s']:.1f}"])
        rows.append([f"`{recipe}`", "ratio: 2 processes / 1 process x 1 thread; / 1 process x 2 threads",
                     f"{r['summary']['ddp_vs_1_thread']:.2f} / {r['summary']['ddp_vs_1_process_all_threads']:.2f}", ""])
    return _table(["recipe", "configuration", "audio s / s", "wall s"], rows)


def kill_resume_table(name: str = "kill_resume.json") -> str:
    """Seconds lost to a kill and resume (``benchmarks/kill_resume.py``)."""
    r = _raw(name)
    rows = [["uninterrupted run", f"{r['uninterrupted_s']:.2f}"],
            [f"killed run, until the kill (step {r['killed_at_step']})", f"{r['until_kill_s']:.2f}"],
            [f"resumed run (from step {r['resumed_from_step']})", f"{r['resume_s']:.2f}"],
            ["**lost (killed + resumed - uninterrupted)**", f"**{r['lost_s']:.2f}**"],
            ["start-up of a run (imports, features, model; a 0-step run)", f"{r['startup_s']:.2f}"],
            [f"recomputed steps ({r['killed_at_step']} - {r['resumed_from_step']}) x {r['seconds_per_step']:.3f} s",
             f"{(r['killed_at_step'] - r['resumed_from_step']) * r['seconds_per_step']:.2f}"],
            ["resumed model identical to the uninterrupted one", "yes" if r["resumed_model_identical"] else "**no**"]]
    return _table(["", "seconds"], rows)


def encoder_choice_table(name: str = "encoder_choice.json") -> str:
    """Encoders compared on the demo corpus with the same steps (``benchmarks/encoder_choice.py``)."""
    rows = [[k, v["steps"], f"{v['audio_sec_per_sec']:.0f}", f"{v['final_loss']:.1f}",
             f"{100 * v['dev_per_mean']:.2f}" if "dev_per_mean" in v else "-"] for k, v in _raw(name).items()]
    return _table(["encoder", "steps", "audio s / s", "final train loss", "dev PER % (mean of 8)"], rows)


ZERO_SHOT_MODELS = (("zero_shot.json", "large recipe + VTLP"), ("zero_shot_large_novtlp.json", "large recipe without VTLP"),
                    ("zero_shot_demo.json", "demo recipe + VTLP"))


def zero_shot_models_table(names: tuple[tuple[str, str], ...] = ZERO_SHOT_MODELS) -> str:
    """Unseen-word WER (mean of the 8 languages) of several acoustic models (``benchmarks/zero_shot.py`` outputs)."""
    rows = []
    for name, label in names:
        r = _raw(name)
        rows.append([f"{label} (`{r['model']}`)", f"{r['wer']['1000']['mean']:.2f}", f"{r['wer']['10000']['mean']:.2f}",
                     r["date"], f"`{name}`"])
    return _table(["acoustic model", "+ 1,000", "+ 10,000", "date", "raw output"], rows)


def _gap_closed(names: tuple[str, ...]) -> list[float]:
    """Per seed: the share of the source-only to upper-bound gap that DANN closes."""
    runs = _dann_runs(names)["runs"]
    return [(s["target_per"] - d["target_per"]) / (s["target_per"] - u["target_per"])
            for s, d, u in zip(*(runs[k] for k in ("source-only", "dann", "upper-bound")))]


def _verdict(mean: float, std: float, goal: float, higher_is_better: bool = True) -> str:
    """``met`` / ``not met`` / ``a tie with the goal`` (the goal within one standard deviation)."""
    if abs(mean - goal) <= std:
        return "a tie with the goal (inside the spread)"
    return "met" if (mean > goal) == higher_is_better else "**not met**"


def _no_label_row(issue: int, goal: str, name: str, target: float, caveat: str) -> list:
    """A goals row for a synthetic-to-real FSDD benchmark: DANN + self-training beside pocketsphinx."""
    r = _raw(name)["summary"]
    best, peer = r["dann+st"], r["pocketsphinx"]
    return [issue, goal, f"DANN + self-training {best['mean']:.1f} ± {best['std']:.1f}%, 3 rotations "
            f"(pocketsphinx {peer['mean']:.1f}%); {caveat}", _verdict(best["mean"], best["std"], target)]


def _summary_text(v: dict) -> str:
    return f"{v['mean']:.1f} ± {v['std']:.1f}%"


def _alone_rotations(name: str, run: str) -> list[float]:
    """A supervised rotations output's runs scored with each test recording normalised alone."""
    return [x["runs"][run]["alone_word_accuracy"] for x in _raw(name)["rotations"]]


def _mean_std_pct(values: list[float]) -> tuple[float, float, str]:
    mean, std = statistics.fmean(values), statistics.stdev(values)
    return mean, std, f"{mean:.1f} ± {std:.1f}%"


# why each real-speech figure's settings do not yet meet the protocol (RESULTS.md, "Protocol")
NOT_NESTED = "front end chosen on yweweler, a test speaker of rotation 3; only rotation 1 free of selection"
FEW_NOT_NESTED = "settings chosen on theo + yweweler, rotation 3's test pair; only rotation 1 free of selection"
DANN_FSDD_CHOSEN = "dann-fsdd's DANN, self-training and per-utterance CMVN settings chosen partly on FSDD test speakers"


def _fsdd_goal_rows() -> list[list]:
    """The goals rows of the real-speech figures (issues 5 and 14): each test recording decoded alone is the
    headline; figures whose test speakers were normalised by their own other recordings are rows of their own,
    named transductive."""
    rows = [_no_label_row(5, "synthetic to real FSDD digits >= 85% with DANN", "fsdd_dann.json", 85.0,
                          f"each recording alone; {DANN_FSDD_CHOSEN}")]
    sup = _raw("fsdd_supervised.json")["summary"]
    rows.append([14, "supervised FSDD check, 4 labelled speakers, 2 unseen: >= 95%",
                 f"per-utterance CMVN {_summary_text(sup['recipe'])}, 3 rotations (+ synthetic words "
                 f"{_summary_text(sup['recipe + synthetic words'])}); each recording alone; {NOT_NESTED}",
                 _verdict(sup["recipe"]["mean"], sup["recipe"]["std"], 95.0)])
    glob = _raw("fsdd_supervised_global.json")["summary"]["recipe"]
    rows.append([14, "the same with global CMVN (training-set statistics): >= 95%",
                 f"{_summary_text(glob)}, 3 rotations; each recording alone; {NOT_NESTED}",
                 _verdict(glob["mean"], glob["std"], 95.0)])
    mean, std, text = _mean_std_pct(_alone_rotations("fsdd_supervised_speaker.json", "per-speaker CMVN"))
    rows.append([14, "the same with the per-speaker CMVN model (the recipe now), each recording alone: >= 95%",
                 f"{text}, 3 rotations; {NOT_NESTED}; its dev seeds finished after the rotations had run",
                 _verdict(mean, std, 95.0)])
    spk = _raw("fsdd_supervised_speaker.json")["summary"]["per-speaker CMVN"]
    rows.append([14, "**transductive**: that model with each test speaker normalised by their own 500 recordings",
                 f"{_summary_text(spk)}, 3 rotations (not a single-recording figure)", _verdict(spk["mean"], spk["std"], 95.0)])
    rows.append(_no_label_row(14, "synthetic to real FSDD with no real labels (randomised source): >= 90%",
                              "fsdd_randomised.json", 90.0, f"each recording alone; {DANN_FSDD_CHOSEN}"))
    few = _raw("fsdd_few_labels.json")["summary"]["1"]
    rows.append([14, "one labelled FSDD speaker, from the synthetic model: >= 90%",
                 f"fine-tune (the arm the dev study chose) {_summary_text(few['fine-tune'])} (scratch "
                 f"{_summary_text(few['scratch'])}), per-utterance CMVN, 3 rotations; each recording alone; {FEW_NOT_NESTED}",
                 _verdict(few["fine-tune"]["mean"], few["fine-tune"]["std"], 90.0)])
    mean, std, text = _mean_std_pct(_few_alone("fsdd_few_labels_speaker.json", "1", "fine-tune"))
    scratch = _mean_std_pct(_few_alone("fsdd_few_labels_speaker.json", "1", "scratch"))[2]
    rows.append([14, "the same with the per-speaker CMVN model (the recipe now), each recording alone: >= 90%",
                 f"fine-tune {text} (scratch {scratch}), 3 rotations; {FEW_NOT_NESTED}", _verdict(mean, std, 90.0)])
    few = _raw("fsdd_few_labels_speaker.json")["summary"]["1"]
    rows.append([14, "**transductive**: that model with each test speaker normalised by their own recordings",
                 f"fine-tune {_summary_text(few['fine-tune'])} (scratch {_summary_text(few['scratch'])}), 3 rotations",
                 _verdict(few["fine-tune"]["mean"], few["fine-tune"]["std"], 90.0)])
    rnd = [x for x in _randomised_speaker_rotations() if "dann+st" in x["methods"]]
    if rnd:  # the per-speaker CMVN variant of the no-label benchmark
        accs = [x["methods"]["dann+st"]["word_accuracy"] for x in rnd]
        mean, std = statistics.fmean(accs), statistics.stdev(accs) if len(accs) > 1 else 0.0
        rows.append([14, "**transductive**: no real labels, randomised source, each FSDD speaker normalised by their "
                     "own recordings (per-speaker CMVN, taken from the supervised study, which read FSDD labels)",
                     f"DANN + self-training {mean:.1f} ± {std:.1f}%, {len(accs)} rotation{'s' if len(accs) > 1 else ''} "
                     "of 3; not measured with single recordings",
                     (_verdict(mean, std, 90.0) if len(accs) == 3 else "not shown (rotations missing)")
                     + "; not a no-label choice"])
    return rows


def real_speech_protocol() -> str:
    """Every real-speech accuracy figure: its headline (each test recording alone), its transductive figure where
    one was measured, and why its settings do not yet meet the protocol (chosen inside each rotation)."""
    sup = _raw("fsdd_supervised.json")["summary"]
    few, few_spk = _raw("fsdd_few_labels.json")["summary"], _raw("fsdd_few_labels_speaker.json")["summary"]
    spk_alone = _mean_std_pct(_alone_rotations("fsdd_supervised_speaker.json", "per-speaker CMVN"))[2]
    rnd = [x["methods"]["dann+st"]["word_accuracy"] for x in _randomised_speaker_rotations() if "dann+st" in x["methods"]]
    rnd_text = _mean_std_pct(rnd)[2] if len(rnd) > 1 else "-"

    def alone(size: str) -> str:
        return _mean_std_pct(_few_alone("fsdd_few_labels_speaker.json", size, "fine-tune"))[2]

    def pct(v: dict) -> str:
        return _summary_text(v)

    rows = [
        ["no labels, `dann-fsdd` (DANN + self-training)", pct(_raw("fsdd_dann.json")["summary"]["dann+st"]), "-",
         "self-training settings chosen on rotation 1's test pair; DANN and CMVN with the labels of rotation 1's "
         "training speakers, the test speakers of rotations 2-3"],
        ["no labels, `fsdd-randomised` (DANN + self-training)", pct(_raw("fsdd_randomised.json")["summary"]["dann+st"]),
         f"{rnd_text} (per-speaker CMVN)", "dann-fsdd's settings (chosen partly on FSDD test speakers); "
         "randomisation fixed before any run; per-speaker CMVN from a study that read FSDD labels"],
        ["supervised, 4 speakers, per-utterance CMVN", pct(sup["recipe"]), "-", NOT_NESTED],
        ["supervised, 4 speakers, global CMVN", pct(_raw("fsdd_supervised_global.json")["summary"]["recipe"]), "-",
         NOT_NESTED + "; CMVN chosen on the same dev speaker"],
        ["supervised, 4 speakers, per-speaker CMVN (the recipe now)", spk_alone,
         pct(_raw("fsdd_supervised_speaker.json")["summary"]["per-speaker CMVN"]),
         NOT_NESTED + "; its 3 dev seeds finished after the rotations had run"],
        ["1 / 2 labelled speakers, fine-tune, per-utterance CMVN", f"{pct(few['1']['fine-tune'])} / {pct(few['2']['fine-tune'])}",
         "-", FEW_NOT_NESTED],
        ["1 / 2 labelled speakers, fine-tune, per-speaker CMVN (the recipe now)", f"{alone('1')} / {alone('2')}",
         f"{pct(few_spk['1']['fine-tune'])} / {pct(few_spk['2']['fine-tune'])}",
         FEW_NOT_NESTED + "; per-speaker CMVN chosen there on one run"],
        ["synthetic model alone, scored on FSDD (no labels)", f"{pct(few['synthetic only'])} (per-utterance CMVN)",
         f"{pct(few_spk['synthetic only'])} (per-speaker CMVN)",
         "nothing chosen on it; its front end (EQ copies) from the supervised study, chosen on yweweler"],
    ]
    return _table(["figure (3 rotations, mean ± sample std)", "headline: each test recording alone",
                   "**transductive** (test speakers' own recordings)", "selection: why not yet nested"], rows)


def study_table(name: str) -> str:
    """A study's report from its summary (``studies/results/NAME/summary.json``), by the one study renderer."""
    from speechtl.workflows.study_report import render_markdown

    return render_markdown(json.loads((ROOT / "studies" / "results" / name / "summary.json").read_text()))


def goals_table() -> str:
    """One row per goal, its measured figure read from the raw JSON and its verdict computed from it."""
    rows = []
    demo = _raw("demo_eval_test.json")["per"]
    worst = max(demo, key=lambda lang: demo[lang]["rate"])
    worst_per = demo[worst]["rate"]
    rows.append([2, "PER <= 15% in every demo language", f"worst {100 * worst_per:.2f}% ({worst}), mean "
                 f"{100 * statistics.fmean(v['rate'] for v in demo.values()):.2f}%, one seed, pronunciation-disjoint split",
                 "met (one seed)" if worst_per <= 0.15 else "**not met**"])
    large = _raw("large_eval_test.json")["per"]
    rows.append([2, "stretch: PER <= 8% in every language",
                 f"large recipe + VTLP, one seed: worst {100 * max(v['rate'] for v in large.values()):.2f}%",
                 "**withdrawn**: VTLP was chosen on test errors, old word split; 3 seeds pending"])
    mt = _raw("multitask_gain.json")
    rows.append([2, "multitask gain for the low-resource language",
                 f"{100 * mt['relative_change']:+.1f}% relative PER ({mt['language']}), one seed, untuned baseline",
                 "measured, not a comparative claim (one seed)"])
    zs = _raw("zero_shot.json")
    rows.append([3, "unseen-word WER <= 10% per language, 1k distractors",
                 f"large model: worst {max(v for k, v in zs['wer']['1000'].items() if k != 'mean'):.1f}%, "
                 "old word split (disjoint by spelling only)", "**withdrawn** until re-measured on the new split"])
    zd = _raw("zero_shot_demo_disjoint.json")["wer"]["1000"]
    worst = max((k for k in zd if k != "mean"), key=zd.get)
    rows.append([3, "unseen-word WER <= 10% per language, 1k distractors (pronunciation-disjoint split)",
                 f"demo model: worst {zd[worst]:.1f}% ({worst}), mean {zd['mean']:.1f}%, one seed",
                 "met (one seed)" if zd[worst] <= 10 else "**not met**"])
    ps = zs["pocketsphinx"]
    rows.append([3, "faster than pocketsphinx on one core", f"RTF {ps['rtf_speechtl']} vs {ps['rtf_pocketsphinx']}",
                 "met" if ps["rtf_speechtl"] < ps["rtf_pocketsphinx"] else "**not met**"])
    t = _raw("transfer_methods.json")["dann"]["target_accuracy"]
    gain = [d - s for d, s in zip(t["dann"]["values"], t["source-only"]["values"])]
    rows.append([4, "image DANN >= 10 points over source-only (digits-M)", f"{_spread(gain, 100, 1)} points, 3 seeds",
                 _verdict(statistics.fmean(gain), statistics.pstdev(gain), 0.10)])
    if (RAW / "add_language_dev.json").is_file():  # the re-measurement: new word split, weights chosen on dev
        dev = _raw("add_language_dev.json")
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
                     _verdict(change["mean"], change["std"], 0.01, higher_is_better=False)])
    else:
        add = _raw("add_language.json")["summary"]
        reductions = [v["relative_reduction_vs_scratch"] for k, v in add.items() if k != "scratch"]
        rows.append([5, "add a language: >= 25% PER below scratch",
                     f"{100 * min(reductions):.0f}-{100 * max(reductions):.0f}% below, 3 seeds, old word split",
                     "met" if min(reductions) >= 0.25 else "**not met**"])
        strong = _raw("add_language_conservative_strong.json")["summary"]["conservative"]["old_mean_change"]
        rows.append([5, "old languages' PER change <= +1.0 (conservative)",
                     f"{100 * strong['mean']:+.2f} with weights raised on the test split until it passed",
                     "**not shown** (no weights chosen on dev yet)"])
    gap = _gap_closed(MATCHED)
    rows.append([5, "channel DANN closes >= 30% of the gap", f"{_spread(gap, 100, 1)}%, matched baselines, 3 seeds",
                 _verdict(statistics.fmean(gap), statistics.pstdev(gap), 0.30)])
    rows += _fsdd_goal_rows()
    real = _raw("add_language_real.json")["summary"]
    for n in ("1 speaker", "2 speakers"):
        after = real[f"{n}, after"]
        change = after["old_mean_change"]
        rows.append([14, f"real recordings added ({n} of FSDD): old languages' PER change <= +1.0, no empty output",
                     f"{100 * change['mean']:+.2f} ± {100 * change['std']:.2f} (before the fix "
                     f"{100 * real[f'{n}, before']['old_mean_change']['mean']:+.2f}), {after['empty']['mean']:.0f} empty, "
                     f"{len(after['seeds'])} seeds; conservative weights KL 100 + L2-SP 1.0 (the old default, "
                     "raised on the synthetic test split; not re-measured with the dev-chosen 30 + 0.3)",
                     _verdict(100 * change["mean"], 100 * change["std"], 1.0, higher_is_better=False)
                     + ("" if after["empty"]["mean"] == 0 else "; empty outputs **not met**")])
    zl = _raw("zero_shot_languages.json")
    for lang in zl["test_languages"]:
        per = [zl["runs"][seed]["languages"][lang]["zero-shot"]["per"] for seed in zl["runs"]]
        acc = [zl["runs"][seed]["languages"][lang]["zero-shot"]["word_accuracy"] for seed in zl["runs"]]
        rows.append([15, f"zero-shot head, no audio ({lang}): PER <= 35%, 100-word accuracy >= 80%",
                     f"PER {_spread(per, 100, 1)}%, word accuracy {_spread(acc, 100, 1)}%, {len(per)} seeds, tiny model",
                     f"PER {_verdict(statistics.fmean(per), statistics.pstdev(per), 0.35, higher_is_better=False)}; "
                     f"words {_verdict(statistics.fmean(acc), statistics.pstdev(acc), 0.80)}"])
    fid = max(max(m["max_abs_diff_last"], m["max_abs_diff_earlier_layers"]) for m in _raw("ssl_fidelity.json")["models"])
    rows.append([16, "converted Hugging Face checkpoint: same hidden states within 1e-5",
                 f"max abs diff {fid:.1e} (4 architectures, random weights)", "met" if fid <= 1e-5 else "**not met**"])
    pre = _raw("ssl_pretrain_fsdd.json")
    gain = [r["pretrained_word_accuracy"] - r["baseline_word_accuracy"] for r in pre["runs"]]
    mean, std = statistics.fmean(gain), statistics.pstdev(gain)
    rows.append([16, "BEST-RQ pre-training on unlabelled real audio helps real speech (FSDD held-out)",
                 f"{mean:+.1f} ± {std:.1f} points, {pre['pre_steps']} pre-training steps, {len(gain)} seeds",
                 "no difference (inside the spread)" if abs(mean) <= std else "met" if mean > 0 else "**not met**"])
    batch = _raw("batch_decode.json")["in_process_1_thread"]
    rows.append([17, "batch decoding, 3,000 FSDD files, one thread: RTF <= 0.004",
                 f"CPU-time RTF {batch['rtf_cpu']:.4f} (wall {batch['rtf_wall']:.4f}, load {batch['load_average_at_start'][0]:.1f})",
                 "met in CPU time" if batch["rtf_cpu"] <= 0.004 else "**not met**"])
    load = _raw("serve_load.json")
    rows.append([17, "load test, 16 clients on loopback: 0 errors",
                 f"{load['requests']:,} requests, {load['errors']} errors, p95 {load['latency_p95_s']:.2f} s "
                 f"(`{load['server'].removeprefix('speechtl serve ')}`)",
                 "met" if load["errors"] == 0 else "**not met**"])
    st = _raw("stream_latency.json")
    rows.append([17, "streaming: a partial every <= 0.5 s, final <= 0.3 s after the end",
                 f"gap p95 {st['partial_gap_p95_s']:.2f} s (max {st['partial_gap_max_s']:.2f} s), final max {st['final_delay_max_s']:.2f} s",
                 "met at p95" if st["partial_gap_p95_s"] <= 0.5 and st["final_delay_max_s"] <= 0.3 else "**not met**"])
    return _table(["issue", "goal", "measured", "verdict"], rows)


def study_rotations_table(name: str, peer: str, metric: str = "test.wer_en") -> str:
    """A study's word accuracy (1 - ``metric``) per arm and rotation beside a peer benchmark's on the same rotations,
    whether the arm is at least the peer's in every rotation, and each arm's cell wall time (records' wall_seconds)."""
    folder = ROOT / "studies" / "results" / name
    summary, other = json.loads((folder / "summary.json").read_text()), _raw(peer)
    rotations = list(summary["rotations"])
    theirs = [statistics.fmean(r["word_accuracy"] for r in rot["runs"]) for rot in other["rotations"]]
    rows = [[f"peer: {peer}", *(f"{v:.1f}" for v in theirs), _spread_sample(theirs), "", ""]]
    for arm in summary["arms"]:
        mine = [100 * (1 - summary["results"][arm][rot][metric]["mean"]) if summary["results"][arm][rot][metric]["n"]
                else None for rot in rotations]
        done = [v for v in mine if v is not None]
        records = [json.loads(p.read_text()) for p in sorted((folder / "cells" / arm).glob("*/*.json"))]
        minutes = [r["wall_seconds"] / 60 for r in records if r.get("status") == "ok"]
        rows.append([arm, *("not run" if v is None else f"{v:.1f}" for v in mine),
                     _spread_sample(done) if done else "–",
                     "yes" if len(done) == len(theirs) and all(a >= b for a, b in zip(mine, theirs)) else
                     ("no" if any(v is not None and v < b for v, b in zip(mine, theirs)) else "–"),
                     f"{statistics.fmean(minutes):.1f}" if minutes else "–"])
    return _table(["word accuracy %, each test recording alone", *rotations, "mean ± sample std",
                   "≥ peer in every rotation", "cell wall minutes (mean)"], rows)


def _spread_sample(values: list[float]) -> str:
    return f"{statistics.fmean(values):.1f} ± {statistics.stdev(values):.1f}" if len(values) > 1 else f"{values[0]:.1f}"


TABLES: dict[str, Callable[[], str]] = {
    "ssl-fidelity": ssl_fidelity_table,
    "ssl-cost": ssl_cost_table,
    "ssl-pretrain-fsdd": ssl_pretrain_table,
    "ssl-fidelity-run": lambda: provenance_table("ssl_fidelity.json"),
    "ssl-cost-run": lambda: provenance_table("ssl_finetune_cost.json"),
    "ssl-pretrain-fsdd-run": lambda: provenance_table("ssl_pretrain_fsdd.json"),
    "ssl-pretrain-fsdd-longer": lambda: ssl_pretrain_table("ssl_pretrain_fsdd_longer.json"),
    "ssl-pretrain-fsdd-longer-run": lambda: provenance_table("ssl_pretrain_fsdd_longer.json"),
    "int8-per-cost": int8_per_cost_table,
    "int8-per-cost-run": lambda: provenance_table("int8_per_cost.json"),
    "long-file-memory": long_file_table,
    "demo-data-path": demo_data_path_table,
    "scale-memory": scale_memory_table,
    "scale-memory-runs": scale_memory_provenance,
    "throughput-ab": throughput_ab_table,
    "throughput-ab-workers": lambda: throughput_ab_table("throughput_ab_workers.json"),
    "large": large_table,
    "multitask": multitask_table,
    "image-dann": image_dann_table,
    "image-finetune": image_finetune_table,
    "image-zeroshot": image_zeroshot_table,
    "image-finetune-dev": lambda: image_finetune_table("transfer_methods_finetune_dev.json"),
    "image-finetune-dev-run": lambda: transfer_methods_provenance("transfer_methods_finetune_dev.json"),
    "demo": eval_table,
    "tiny-zs-eval": lambda: eval_table("tiny_zs_eval_test.json"),
    "zero-shot": zero_shot_table,
    "dann-channel": dann_channel_table,
    "dann-channel-matched": lambda: dann_channel_table(*MATCHED),
    "dann-channel-matched-runs": lambda: provenance_table(*MATCHED),
    "zero-shot-tiny-disjoint": lambda: zero_shot_table("zero_shot_tiny_disjoint.json"),
    "zero-shot-tiny-disjoint-run": lambda: zero_shot_provenance("zero_shot_tiny_disjoint.json"),
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
    "fsdd-supervised-global-run": lambda: provenance_table("fsdd_supervised_global.json"),
    "fsdd-supervised-speaker": lambda: fsdd_supervised_table("fsdd_supervised_speaker.json", TRANSDUCTIVE),
    "fsdd-supervised-speaker-speakers": lambda: fsdd_supervised_speakers("fsdd_supervised_speaker.json"),
    "fsdd-supervised-speaker-alone": fsdd_supervised_alone,
    "fsdd-supervised-generalise": lambda: study_rotations_table("fsdd-supervised-generalise", "fsdd_cnn_peer.json"),
    "fsdd-supervised-speaker-run": lambda: provenance_table("fsdd_supervised_speaker.json"),
    "fsdd-few-labels-speaker": lambda: fsdd_few_labels_table("fsdd_few_labels_speaker.json", TRANSDUCTIVE),
    "fsdd-few-labels-speaker-alone": fsdd_few_labels_alone,
    "fsdd-few-labels-speaker-paired": lambda: fsdd_few_labels_paired(
        "fsdd_few_labels_speaker.json", (("alone_word_accuracy", ", each recording alone"),
                                         ("word_accuracy", ", **transductive** (each test speaker's recordings together)"))),
    "fsdd-few-labels-speaker-runs": lambda: fsdd_few_labels_runs("fsdd_few_labels_speaker.json"),
    "fsdd-few-labels-speaker-select": lambda: fsdd_few_labels_select("fsdd_few_labels_speaker_select.json"),
    "fsdd-few-labels-speaker-provenance": lambda: fsdd_few_labels_provenance(
        ("fsdd_few_labels_speaker_select.json", "fsdd_few_labels_speaker.json")),
    "fsdd-randomised-speaker": fsdd_randomised_speaker_table,
    "fsdd-randomised-speaker-run": lambda: provenance_table(*_randomised_speaker_files()),
    "fsdd-normalisation-run": fsdd_normalisation_provenance,
    "fsdd-recordings": fsdd_recordings_table,
    "fsdd-few-labels": fsdd_few_labels_table,
    "fsdd-few-labels-runs": fsdd_few_labels_runs,
    "fsdd-few-labels-paired": fsdd_few_labels_paired,
    "fsdd-few-labels-select": fsdd_few_labels_select,
    "fsdd-few-labels-provenance": fsdd_few_labels_provenance,
    "add-language": add_language_table,
    "dann-channel-tuning": dann_tuning_table,
    "dann-channel-snr20": lambda: dann_channel_table("dann_channel_snr20.json"),
    "dann-speaker": dann_speaker_table,
    "ddp-throughput": ddp_throughput_table,
    "kill-resume": kill_resume_table,
    "encoder-choice": encoder_choice_table,
    "zero-shot-models": zero_shot_models_table,
    "goals": goals_table,
    "real-speech-protocol": real_speech_protocol,
    "zero-shot-demo-disjoint": lambda: zero_shot_table("zero_shot_demo_disjoint.json"),
    "zero-shot-demo-disjoint-run": lambda: zero_shot_provenance("zero_shot_demo_disjoint.json"),
    "add-language-dev": add_language_dev_table,
    "add-language-selection": add_language_selection_table,
    "add-language-real": add_language_real_table,
    "add-language-real-diagnosis": add_language_real_diagnosis,
}


def render(text: str) -> str:
    """``text`` with every table block regenerated.

    Raises:
        KeyError: a block names a table this script does not make.
    """
    def fill(m: re.Match) -> str:
        name = m.group(2)
        if name.startswith("study-"):  # any study's report: a new comparison needs no code here
            return m.group(1) + study_table(name.removeprefix("study-")) + m.group(4)
        if name not in TABLES:
            raise KeyError(f"unknown table {name!r}; known: {', '.join(TABLES)}")
        return m.group(1) + TABLES[name]() + m.group(4)

    return BLOCK.sub(fill, text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="only report documents that differ; exit 1 if any")
    args = ap.parse_args(argv)
    stale = []
    for doc in DOCUMENTS:
        text = doc.read_text()
        new = render(text)
        if new != text:
            stale.append(doc.relative_to(ROOT))
            if not args.check:
                doc.write_text(new)
    for path in stale:
        print(f"{'differs from its raw JSON' if args.check else 'rewritten'}: {path}")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
