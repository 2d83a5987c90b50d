"""Synthetic to real speech: FSDD digit word accuracy of source-only vs DANN training, rotated over speaker pairs.

Each rotation trains ``recipes/dann-fsdd.yaml`` (labelled eSpeak digit words plus
the unlabelled recordings of 4 FSDD speakers) twice, with and without the DANN
loss (same data, same steps; source-only ignores the target audio's features
except for the forward pass), and scores word accuracy (HTK style, 1 - WER) on the
other 2 speakers' recordings, decoded with the 10 digit words. The 3 rotations
cover all 6 speakers once as test speakers; the table gives mean and standard
deviation over them. With ``--peer``, pocketsphinx with the same 10 words scores
the same test speakers. Each pair's t-SNE map (pooled encoder features of the
synthetic test split and the target audio, source-only beside DANN) is saved in
the DANN run's directory; the first pair's is copied to ``docs/results/figures/``.

Run it alone, one thread::

    OMP_NUM_THREADS=1 flock /work/heavy.lock python benchmarks/fsdd_dann.py
"""

from __future__ import annotations

import argparse
import datetime
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import REPO, env, machine, speechtl_cmd, write_result

FSDD = "../shared/data/fsdd"
SPEAKERS = ["george", "jackson", "lucas", "nicolas", "theo", "yweweler"]
PAIRS = [SPEAKERS[i:i + 2] for i in range(0, 6, 2)]
METHODS = {"source-only": ["transfer.methods=[]"], "dann": []}


def target_parts(test: list[str]) -> str:
    """The ``data.target.parts`` override: 4 speakers' unlabelled audio to train on, the pair to test."""
    train = [s for s in SPEAKERS if s not in test]
    return (f"data.target.parts=[{{path: {FSDD}, split: train, speakers: [{', '.join(train)}]}}, "
            f"{{path: {FSDD}, split: test, speakers: [{', '.join(test)}]}}]")


def run(args: list[str], log: Path) -> None:
    with log.open("w") as out:
        proc = subprocess.run(speechtl_cmd(*args), env=env(1), cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    if proc.returncode:
        raise RuntimeError(f"speechtl {' '.join(args)} failed; see {log}")


def train_and_score(recipe: str, exp: Path, overrides: list[str]) -> dict:
    """Train one run and score it on the FSDD test pair (target domain) and the synthetic test split."""
    sets = [x for o in [*overrides, f"train.exp_dir={exp}", "train.num_threads=1"] for x in ("--set", o)]
    start = time.perf_counter()
    if not (exp / "model.safetensors").is_file():
        run(["train", recipe, *sets], exp.with_suffix(".train.log"))
    train_s = time.perf_counter() - start
    run(["eval", str(exp), "--domain", "target"], exp.with_suffix(".eval.log"))
    run(["eval", str(exp)], exp.with_suffix(".eval-synth.log"))
    target = json.loads((exp / "eval_target_test.json").read_text())
    synth = json.loads((exp / "eval_test.json").read_text())
    last = json.loads((exp / "train_log.jsonl").read_text().splitlines()[-1])
    return {"word_accuracy": round(100 * target["word_accuracy"]["en"], 2),
            "per": round(100 * target["per"]["en"]["rate"], 2),
            "synthetic_test_word_accuracy": round(100 * synth["word_accuracy"]["en"], 2),
            "train_seconds": round(train_s, 1), "final_dann_acc": last.get("dann_acc"),
            "errors": target["wer"]["en"]}


def tsne_pair(models: dict[str, Path], out: Path) -> Path:
    """Source-only and DANN features of the same utterances (the DANN run's recipe), coloured by domain."""
    from speechtl.models.io import load_model
    from speechtl.viz.tsne import features, plot_tsne, tsne_2d

    recipe = load_model(models["dann"]).recipe
    panels = []
    for name, path in models.items():
        feats, tags = features(path, "domain", "test", 600, recipe)
        panels.append((name, tsne_2d(feats), tags))
    return plot_tsne(panels, out)


def pocketsphinx_peer(test: list[str], workdir: Path) -> float:
    """Word accuracy of pocketsphinx with the 10 digit words on the test speakers' recordings."""
    from pocketsphinx_peer import Pocketsphinx, build_dictionary

    from speechtl.data.audio import load_audio
    from speechtl.data.fsdd import DIGIT_WORDS, fsdd_recordings

    build_dictionary(DIGIT_WORDS, workdir)
    ps = Pocketsphinx(workdir)
    files = [f for f in fsdd_recordings(REPO / FSDD) if f[2] in test]
    right = sum(ps.transcribe(load_audio(path).numpy())[0] == DIGIT_WORDS[digit] for path, digit, _, _ in files)
    return round(100 * right / len(files), 2)


def summary(values: list[float]) -> dict:
    return {"mean": round(statistics.mean(values), 2),
            "std": round(statistics.stdev(values), 2) if len(values) > 1 else 0.0, "runs": values}


# How the recipe's settings were chosen (filled in by hand from the development runs; see the docstring).
DEVELOPMENT = """
## Reading

The goal (85% with DANN) is not reached, and on held-out speakers DANN does not beat source-only
training: both stay near 40-48%, below pocketsphinx. DANN does adapt to the recordings it trains
on: on rotation 1's four target-domain training speakers (their audio unlabelled in training)
DANN scored 50.5% against source-only's 40.3% in the development runs below. The features it
makes domain-invariant are those of these 4 people, and that does not carry over to 2 new
speakers with other accents and microphones. The synthetic test voices are recognised at about
98% by both models, so the gap is between eSpeak's voices and real speech, not the task.

## How the recipe was chosen

Settings were compared on rotation 1's four *training* speakers (lucas, nicolas, theo, yweweler:
their labels were used only to compare these runs, never in training), one DANN run each, 600
steps, word accuracy with `word_score` -4 / 0. These speakers are the test speakers of rotations 2
and 3, so those rotations' figures are not free of this selection; rotation 1 (george + jackson) is.
(The very first runs printed all six speakers' accuracies; nothing was chosen from george's and
jackson's.)

| run | word acc. % |
|---|---|
| source-only: 3000 eSpeak words, 80 mel bins, no copies | 40.3 (ws 0) |
| DANN, same data (the recipe, with ws -4 / 0) | 47.9 / 50.5 |
| DANN, 40 mel bins | 46.7 / 46.9 |
| DANN, 8000 words + noise (20 dB pink) and reverb (0.25 s + 30 dB) copies | 37.4 / 38.2 |
| ... with 40 mel bins | 42.9 / 42.9 |
| ... 80 mel bins, target audio repeated 6x (domains balanced) | 41.4 / 42.9 |
| ... 4000 words, 40 mel bins, frame-level DANN, target 3x | 39.3 / 39.5 |
| the recipe with vocal-tract warping `data.synth.warp: [0.85, 1.2]` | - / 40.3 |

What helped: DANN (+8 to +10 points over source-only with the same batches), making the audio at
8 kHz like FSDD, utterance-level CMVN, no per-word penalty for isolated words (fewer empty outputs).
What did not: noisy/reverberant copies (FSDD is close-talk and fairly clean: they move the source
away from the target; balancing the domains again did not recover the loss), more synthetic
words, 40 instead of 80 mel bins, frame-level DANN, warping the synthetic speakers' frequencies. Outputs drift to short words ("eight", "two":
fewest phonemes to explain) and vowels are the main confusion: eSpeak's formant voices, even with 8
accents, rate and pitch variation and ~100 voice variants, do not span real speakers' vowels. The
goal of 85% is not reached; the next steps would be self-training on the target speakers'
confident outputs and a source of more natural synthetic voices (neural TTS).
"""


def markdown(report: dict) -> str:
    """The results section (docs/results/fsdd-dann.md)."""
    names = list(METHODS) + (["pocketsphinx"] if "pocketsphinx" in report["summary"] else [])
    head = "| held-out speakers | " + " | ".join(names) + " |"
    lines = [head, "|" + "---|" * (len(names) + 1)]
    for r in report["rotations"]:
        cells = [f"{r['methods'][n]['word_accuracy']:.1f}" for n in METHODS]
        if "pocketsphinx" in names:
            cells.append(f"{r['pocketsphinx_word_accuracy']:.1f}")
        lines.append(f"| {' + '.join(r['test_speakers'])} | " + " | ".join(cells) + " |")
    lines.append("| **mean ± std** | " + " | ".join(
        f"**{report['summary'][n]['mean']:.1f} ± {report['summary'][n]['std']:.1f}**" for n in names) + " |")
    synth = {n: statistics.mean(r["methods"][n]["synthetic_test_word_accuracy"] for r in report["rotations"])
             for n in METHODS}
    per = {n: statistics.mean(r["methods"][n]["per"] for r in report["rotations"]) for n in METHODS}
    m = report["machine"]
    return f"""# Synthetic to real speech: eSpeak digit words to the Free Spoken Digit Dataset

Word accuracy (%, HTK style: 1 - WER, 1000 recordings per pair) on the 2 FSDD speakers held out of
each rotation, with **no real labelled audio**: the acoustic model learns from labelled eSpeak NG
English digit words (recipe `{report['recipe']}`: eSpeak's voice variants on 8 English accents, many
rates and pitches, made at FSDD's 8 kHz) and, for DANN, from the unlabelled recordings of the other 4
FSDD speakers. Decoding searches the 10 digit words only (`decode.words`). Source-only trains on
the same batches (target audio included) without the domain loss.

{chr(10).join(lines)}

Goal: at least 85% with DANN. Peer: pocketsphinx with a 10-word digit grammar, 70.9% on all FSDD
recordings (issue 5){"; the last column is pocketsphinx with the same 10 words on the same test speakers" if "pocketsphinx" in names else ""}.
Also measured: greedy PER on the test speakers {per['source-only']:.1f}% (source-only) vs {per['dann']:.1f}% (DANN);
word accuracy on the synthetic test voices {synth['source-only']:.1f}% vs {synth['dann']:.1f}%.

![t-SNE of pooled encoder features, source-only vs DANN](figures/tsne-fsdd-dann.png)

t-SNE of pooled encoder features (synthetic test utterances and the target speakers' recordings),
held-out pair {' + '.join(report['rotations'][0]['test_speakers'])}: source-only (left) and DANN (right), coloured by domain.
The synthetic utterances form tight clusters, one per word, in both models; the real recordings
spread between them without such clusters, which is the gap the word accuracy shows.
Every run's map is in its run directory (`{report['rotations'][0]['tsne']}`, ...).

- Command: `{report['command']}`
- Hardware: 2-core x86_64 CPU, no GPU; one thread per run (`OMP_NUM_THREADS=1`, `train.num_threads=1`);
  total {report['total_seconds'] / 60:.0f} min for {2 * len(report['rotations'])} runs; load average at start
  {m['load_average_at_start']} (other jobs shared the machine, so the times are not clean).
- Date: {report['date']}
- Raw figures: `benchmarks/results/{Path(report.get('out', 'fsdd_dann')).name}.json`
{DEVELOPMENT}"""


def save(report: dict, args, started: float) -> Path:
    """Summarise the rotations done so far; write the JSON and the results document."""
    report["summary"] = {name: summary([r["methods"][name]["word_accuracy"] for r in report["rotations"]])
                         for name in METHODS}
    if args.peer:
        report["summary"]["pocketsphinx"] = summary([r["pocketsphinx_word_accuracy"] for r in report["rotations"]])
    report["total_seconds"] = round(time.perf_counter() - started, 1)
    report["date"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="minutes")
    report["out"] = args.out
    write_result(args.out, report)
    doc = REPO / "docs" / "results" / "fsdd-dann.md"
    doc.write_text(markdown(report))
    return doc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", default="recipes/dann-fsdd.yaml")
    ap.add_argument("--exp", default="exp/fsdd-dann", help="runs go to EXP/pairN-METHOD")
    ap.add_argument("--pairs", type=int, nargs="+", default=[1, 2, 3], help="rotations (held-out pairs) to run")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--peer", action="store_true", help="also score pocketsphinx on the same test speakers")
    ap.add_argument("--out", default="fsdd_dann")
    ap.add_argument("--doc-only", action="store_true", help="rewrite the results document from the JSON")
    args = ap.parse_args()
    if args.doc_only:
        report = json.loads((REPO / "benchmarks" / "results" / f"{args.out}.json").read_text())
        (REPO / "docs" / "results" / "fsdd-dann.md").write_text(markdown(report))
        return
    started = time.perf_counter()
    report = {"recipe": args.recipe, "overrides": args.overrides,
              "command": "OMP_NUM_THREADS=1 flock /work/heavy.lock python " + " ".join(sys.argv),
              "machine": machine(), "rotations": []}
    root = REPO / args.exp
    for k in args.pairs:
        test = PAIRS[k - 1]
        rotation = {"pair": k, "test_speakers": test,
                    "train_speakers": [s for s in SPEAKERS if s not in test], "methods": {}}
        models = {}
        for name, extra in METHODS.items():
            exp = root / f"pair{k}-{name}"
            exp.parent.mkdir(parents=True, exist_ok=True)
            rotation["methods"][name] = train_and_score(args.recipe, exp, [*args.overrides, target_parts(test), *extra])
            models[name] = exp / "model"
            print(f"pair {k} {test} {name}: {rotation['methods'][name]['word_accuracy']}%", flush=True)
        plot = tsne_pair(models, root / f"pair{k}-dann" / "tsne_source_vs_dann.png")
        shutil.copy(plot, root / f"pair{k}-source-only" / "tsne_source_vs_dann.png")
        rotation["tsne"] = str(plot.relative_to(REPO))
        if k == args.pairs[0]:
            img = REPO / "docs" / "results" / "figures" / "tsne-fsdd-dann.png"
            img.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(plot, img)
        if args.peer:
            rotation["pocketsphinx_word_accuracy"] = pocketsphinx_peer(test, root / "pocketsphinx")
        report["rotations"].append(rotation)
        doc = save(report, args, started)  # after every rotation: an interrupted run keeps what it measured
    print(json.dumps(report["summary"], indent=1))
    print(f"written to benchmarks/results/{args.out}.json and {doc}")


if __name__ == "__main__":
    main()
