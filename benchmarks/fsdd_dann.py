"""Synthetic to real speech: FSDD digit word accuracy of source-only, DANN and self-training, rotated over speaker pairs.

Each rotation trains ``recipes/dann-fsdd.yaml`` (labelled eSpeak digit words plus
the unlabelled recordings of 4 FSDD speakers) in four ways, all with the same data
and steps: source-only (no DANN loss: the target audio only passes through the
network), source-only followed by the recipe's self-training rounds, DANN followed
by them (the recipe; its model before self-training is the DANN column), and, as
the ceiling, plain supervised multi-condition training with the 4 speakers' true
labels (no DANN loss: ``transfer.methods=[]``). Each is
scored by word accuracy (HTK style, 1 - WER) on the other 2 speakers' recordings,
decoded with the 10 digit words. The 3 rotations cover all 6 speakers once as test
speakers; the table gives mean and standard deviation over them. With ``--peer``,
pocketsphinx with the same 10 words scores the same test speakers. Each pair's
t-SNE map (pooled encoder features of the synthetic test split and the target
audio: source-only, DANN, DANN + self-training) is saved in the recipe run's
directory; the first pair's is copied to ``docs/results/figures/``.

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
NO_ST = "transfer.self_training.rounds=0"
# run name -> overrides; "dann" is the recipe run's model before its self-training rounds
RUNS = {"source-only": ["transfer.methods=[]", NO_ST], "source-only+st": ["transfer.methods=[]"],
        "dann+st": [], "target-labels": ["transfer.methods=[]", "data.target.labelled=true", NO_ST]}  # plain supervised
METHODS = ["source-only", "dann", "source-only+st", "dann+st", "target-labels"]
TITLES = {"source-only": "source-only", "dann": "DANN", "source-only+st": "source-only + self-training",
          "dann+st": "**DANN + self-training**", "target-labels": "target labels (ceiling)"}


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


def train_run(recipe: str, exp: Path, overrides: list[str]) -> float:
    """Train one run (unless its model exists) with ``speechtl run`` (``train`` alone no longer self-trains);
    its wall-clock seconds."""
    sets = [x for o in [*overrides, f"train.exp_dir={exp}", "train.num_threads=1"] for x in ("--set", o)]
    start = time.perf_counter()
    if not (exp / "model.safetensors").is_file():
        run(["run", recipe, *sets], exp.with_suffix(".train.log"))
    return time.perf_counter() - start


def score(model_dir: Path, train_s: float | None = None) -> dict:
    """Word accuracy on the FSDD test pair (target domain) and on the synthetic test split."""
    run(["eval", "--model", str(model_dir), "--domain", "target"], model_dir / "eval-target.log")
    run(["eval", "--model", str(model_dir)], model_dir / "eval-synth.log")
    target = json.loads((model_dir / "eval_target_test.json").read_text())
    synth = json.loads((model_dir / "eval_test.json").read_text())
    out = {"word_accuracy": round(100 * target["word_accuracy"]["en"], 2),
           "per": round(100 * target["per"]["en"]["rate"], 2),
           "synthetic_test_word_accuracy": round(100 * synth["word_accuracy"]["en"], 2),
           "errors": target["wer"]["en"]}
    if train_s is not None:
        out["train_seconds"] = round(train_s, 1)
    if (model_dir / "train_log.jsonl").is_file():
        out["final_dann_acc"] = json.loads((model_dir / "train_log.jsonl").read_text().splitlines()[-1]).get("dann_acc")
    if (model_dir / "self_training.json").is_file():
        out["self_training"] = json.loads((model_dir / "self_training.json").read_text())["rounds"]
    return out


def tsne_pair(models: dict[str, Path], out: Path) -> Path:
    """Each model's features of the same utterances (the last model's recipe), coloured by domain."""
    from speechtl.tasks.speech.task import load_trained
    from speechtl.workflows.plot import features, plot_tsne, tsne_2d

    recipe = load_trained(list(models.values())[-1])[1]
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

DANN alone does not carry over to new speakers: on the held-out pairs it is level with
source-only (42.0% vs 42.7%). It aligns the four target speakers' pooled features with the
synthetic ones, but their recordings do not fall into the words' clusters (t-SNE, middle
panel). Self-training is what transfers: labelling the target speakers' recordings with the
model's own most confident answers and training on them adds 15 to 17 points on speakers never
seen (57.6% without DANN, **59.1% with DANN**, a difference within the spread), and after it the
real recordings sit in the word clusters beside the synthetic ones (right panel).

The goal (85% with DANN) is not reached, and 59.1% is below pocketsphinx (70.3%), whose acoustic
model was trained on hundreds of hours of real speech. The ceiling row says how far this set-up
can go at all: with the four target speakers' *true* labels the same model scores 77.2% on the
held-out pairs (67.6% to 90.2%); four real speakers do not span the other two, so a method that
only has their unlabelled audio stays below that. What is left between 59% and the ceiling is the
pseudo-labels' errors: before the fifth round a third to a half of the target recordings are still
labelled wrong (the accuracies above).

## How the settings were chosen

The DANN recipe comes from the earlier development runs below. The self-training settings were
chosen on rotation 1 (george + jackson held out), looking at the accuracy of the pseudo-labels on
the four target speakers and at the held-out pair's accuracy, so rotation 1's figure is not free of
this selection (nor, through their role as rotation 1's target speakers, are the others); the
variants differed by a few points only. Rotation 1, DANN first, held-out accuracy after self-training:

| self-training (rotation 1) | held-out word acc. % |
|---|---|
| none (DANN alone) | 43.1 |
| 3 rounds, 30/50/70%, 400 steps each, balanced (same number per word) | 59.2 |
| 5 rounds, 30/50/70/90/100%, balanced (the recipe) | 63.2 |
| a prototype scoring each word exactly (CTC likelihood), balanced, 3 rounds | 63.1 |
| ... with the word prior also balanced on the target audio | 62.2 |
| the recipe without balancing (the most confident 30/50/70/90/100% overall) | 51.4 |
| the recipe + VTLP in training (`specaugment.vtlp` [0.8, 1.2] / [0.7, 1.3]) | 54.2 / 56.8 |

Is the model the limit? With the labels of 2 target speakers (lucas, nicolas) and tested on 2
others (theo, yweweler), the recipe's model scores 76.3%; 2x instead of 4x subsampling 75.5%, a
384x8 encoder 73.8%, 2000 instead of 600 steps 77.5%: the architecture is not what holds the real
speakers back.

Earlier development of the DANN recipe, on rotation 1's four *training* speakers (their labels used
only to compare runs), one DANN run each, 600 steps, word accuracy with `word_score` -4 / 0:

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

What helped DANN: making the audio at 8 kHz like FSDD, utterance-level CMVN, no per-word penalty for
isolated words (fewer empty outputs). What did not: noisy/reverberant copies (FSDD is close-talk
and fairly clean), more synthetic words, 40 instead of 80 mel bins, frame-level DANN, warping the
synthetic speakers' frequencies. Outputs drift to short words ("eight", "two") and vowels are the
main confusion: eSpeak's formant voices do not span real speakers' vowels. A more natural source
of synthetic speech (a neural TTS that runs offline) is the next step this benchmark would need.
"""


def markdown(report: dict) -> str:
    """The results section (docs/results/fsdd-dann.md)."""
    names = list(METHODS) + (["pocketsphinx"] if "pocketsphinx" in report["summary"] else [])
    rotations = report["rotations"]
    head = "| | " + " | ".join(" + ".join(r["test_speakers"]) for r in rotations) + " | mean ± std |"
    lines = [head, "|---|" + "---|" * (len(rotations) + 1)]
    for n in names:
        cells = [f"{r['pocketsphinx_word_accuracy'] if n == 'pocketsphinx' else r['methods'][n]['word_accuracy']:.1f}"
                 for r in rotations]
        lines.append(f"| {TITLES.get(n, n)} | " + " | ".join(cells)
                     + f" | {report['summary'][n]['mean']:.1f} ± {report['summary'][n]['std']:.1f} |")
    synth = {n: statistics.mean(r["methods"][n]["synthetic_test_word_accuracy"] for r in rotations) for n in METHODS}
    per = {n: statistics.mean(r["methods"][n]["per"] for r in rotations) for n in METHODS}
    rounds = [[round(100 * (1 - x["all_hypotheses_wer"]), 1) for x in r["methods"]["dann+st"]["self_training"]]
              for r in rotations]
    m = report["machine"]
    return f"""# Synthetic to real speech: eSpeak digit words to the Free Spoken Digit Dataset

Word accuracy (%, HTK style: 1 - WER, 1000 recordings per pair) on the 2 FSDD speakers held out of
each rotation (columns), with **no real labelled audio** except in the last row: the acoustic model
learns from labelled eSpeak NG English digit words (recipe `{report['recipe']}`: eSpeak's voice
variants on 8 English accents, many rates and pitches, made at FSDD's 8 kHz) and from the unlabelled
recordings of the other 4 FSDD speakers. Decoding searches the 10 digit words only (`decode.words`).
All runs see the same batches: source-only trains without the domain loss; self-training then runs
the recipe's 5 rounds (`transfer.self_training`: pseudo-labels for the 4 speakers' recordings, most
confident first, the same number per word, 30% growing to 100%); the ceiling trains on the 4
speakers' true labels instead.

{chr(10).join(lines)}

Goal: at least 85% with DANN. Peer: pocketsphinx with a 10-word digit grammar, 70.9% on all FSDD
recordings (issue 5){"; its row is pocketsphinx with the same 10 words on the same test speakers" if "pocketsphinx" in names else ""}.
Also measured (means over the rotations): greedy PER on the test speakers
{", ".join(f"{TITLES[n].strip('*')} {per[n]:.1f}%" for n in METHODS)};
word accuracy on the synthetic test voices {", ".join(f"{synth[n]:.1f}%" for n in METHODS)} (same order).
Accuracy of the pseudo-labels over all 4 target speakers' recordings before each round of DANN +
self-training (their labels are read only for this report): {"; ".join(" -> ".join(map(str, x)) for x in rounds)}.

![t-SNE of pooled encoder features: source-only, DANN, DANN + self-training](figures/tsne-fsdd-dann.png)

t-SNE of pooled encoder features (synthetic test utterances and the target speakers' recordings),
held-out pair {' + '.join(rotations[0]['test_speakers'])}: source-only, DANN, and DANN + self-training, coloured by domain.
Every rotation's map is in its run directory (`{rotations[0]['tsne']}`, ...).

- Command: `{report['command']}`{"".join(f"; continued with `{c}` (after an interruption)" for c in report.get("continued", []))}
- Hardware: 2-core x86_64 CPU, no GPU; one thread per run (`OMP_NUM_THREADS=1`, `train.num_threads=1`);
  total {report['total_seconds'] / 60:.0f} min for {len(RUNS) * len(rotations)} runs; load average at start
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
    report["total_seconds"] = round(report.get("earlier_seconds", 0.0) + time.perf_counter() - started, 1)
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
    ap.add_argument("--continue", dest="resume", action="store_true",
                    help="keep the rotations the JSON already holds and run only the others")
    args = ap.parse_args()
    if args.doc_only:
        report = json.loads((REPO / "benchmarks" / "results" / f"{args.out}.json").read_text())
        (REPO / "docs" / "results" / "fsdd-dann.md").write_text(markdown(report))
        return
    started = time.perf_counter()
    report = {"recipe": args.recipe, "overrides": args.overrides,
              "command": "OMP_NUM_THREADS=1 flock /work/heavy.lock python " + " ".join(sys.argv),
              "machine": machine(), "rotations": []}
    done = REPO / "benchmarks" / "results" / f"{args.out}.json"
    if args.resume and done.is_file():
        report = json.loads(done.read_text())
        report["earlier_seconds"] = report["total_seconds"]
        report.setdefault("continued", []).append(" ".join(sys.argv))
    root = REPO / args.exp
    for k in [k for k in args.pairs if k not in {r["pair"] for r in report["rotations"]}]:
        test = PAIRS[k - 1]
        rotation = {"pair": k, "test_speakers": test,
                    "train_speakers": [s for s in SPEAKERS if s not in test], "methods": {}}
        for name, extra in RUNS.items():
            exp = root / f"pair{k}-{name}"
            exp.parent.mkdir(parents=True, exist_ok=True)
            seconds = train_run(args.recipe, exp, [*args.overrides, target_parts(test), *extra])
            rotation["methods"][name] = score(exp, seconds)
            if name == "dann+st":
                rotation["methods"]["dann"] = score(exp / "self-training" / "round-0")
        for name in METHODS:
            print(f"pair {k} {test} {name}: {rotation['methods'][name]['word_accuracy']}%", flush=True)
        models = {"source-only": root / f"pair{k}-source-only" / "model",
                  "DANN": root / f"pair{k}-dann+st" / "self-training" / "round-0" / "model",
                  "DANN + self-training": root / f"pair{k}-dann+st" / "model"}
        plot = tsne_pair(models, root / f"pair{k}-dann+st" / "tsne_source_vs_dann.png")
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
