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
directory; the first pair's is copied to ``docs/results/figures/``. It writes the raw
JSON only: ``python -m scripts.make_results`` regenerates the tables of
``docs/results/fsdd-dann.md`` from it (the prose there is written by hand).

Run it alone, one thread::

    OMP_NUM_THREADS=1 flock /work/heavy.lock python -m benchmarks.fsdd_dann
"""

from __future__ import annotations

import argparse
import datetime
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import REPO, env, machine, speechtl_cmd, summary, write_result

FSDD = "../shared/data/fsdd"
SPEAKERS = ["george", "jackson", "lucas", "nicolas", "theo", "yweweler"]
PAIRS = [SPEAKERS[i:i + 2] for i in range(0, 6, 2)]
NO_ST = "transfer.self_training.rounds=0"
# run name -> overrides; "dann" is the recipe run's model before its self-training rounds
RUNS = {"source-only": ["transfer.methods=[]", NO_ST], "source-only+st": ["transfer.methods=[]"],
        "dann+st": [], "target-labels": ["transfer.methods=[]", "data.target.labelled=true", NO_ST]}  # plain supervised
METHODS = ["source-only", "dann", "source-only+st", "dann+st", "target-labels"]


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
    from benchmarks.pocketsphinx_peer import Pocketsphinx, build_dictionary

    from speechtl.data.audio import load_audio
    from speechtl.data.fsdd import DIGIT_WORDS, fsdd_recordings

    build_dictionary(DIGIT_WORDS, workdir)
    ps = Pocketsphinx(workdir)
    files = [f for f in fsdd_recordings(REPO / FSDD) if f[2] in test]
    right = sum(ps.transcribe(load_audio(path).numpy())[0] == DIGIT_WORDS[digit] for path, digit, _, _ in files)
    return round(100 * right / len(files), 2)



def save(report: dict, args, started: float) -> Path:
    """Summarise the rotations done so far and write the JSON (only the JSON: the tables of
    docs/results/fsdd-dann.md are generated from it by ``python -m scripts.make_results``, and its prose is
    written by hand, so a rerun leaves no stale prose behind)."""
    report["summary"] = {name: summary([r["methods"][name]["word_accuracy"] for r in report["rotations"]])
                         for name in METHODS}
    if args.peer:
        report["summary"]["pocketsphinx"] = summary([r["pocketsphinx_word_accuracy"] for r in report["rotations"]])
    report["total_seconds"] = round(report.get("earlier_seconds", 0.0) + time.perf_counter() - started, 1)
    report["date"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="minutes")
    report["out"] = args.out
    return write_result(args.out, report)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", default="recipes/dann-fsdd.yaml")
    ap.add_argument("--exp", default="exp/fsdd-dann", help="runs go to EXP/pairN-METHOD")
    ap.add_argument("--pairs", type=int, nargs="+", default=[1, 2, 3], help="rotations (held-out pairs) to run")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--peer", action="store_true", help="also score pocketsphinx on the same test speakers")
    ap.add_argument("--out", default="fsdd_dann")
    ap.add_argument("--continue", dest="resume", action="store_true",
                    help="keep the rotations the JSON already holds and run only the others")
    args = ap.parse_args()
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
        path = save(report, args, started)  # after every rotation: an interrupted run keeps what it measured
    print(json.dumps(report["summary"], indent=1))
    print(f"written to {path}; python -m scripts.make_results regenerates the tables of docs/results/fsdd-dann.md")


if __name__ == "__main__":
    main()
