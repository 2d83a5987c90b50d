"""Synthetic digit words from eSpeak NG alone vs eSpeak NG + Flite, tested on real FSDD speakers.

A small check of ``data.synth.engines`` (issue 23, item 2): ``recipes/dann-fsdd.yaml``
trained source-only (``transfer.methods=[]``, no self-training; the recipe's
unlabelled target audio cut to ``--target`` recordings, which get no loss), at a
reduced size (``--utterances`` synthetic words, ``--steps`` steps), once per arm:

- ``espeak``: the recipe's eSpeak voices;
- ``espeak+flite``: the same, each synthetic speaker drawing eSpeak or Flite
  (kal, kal16, awb, rms, slt) with equal chance.

Each model decodes the FSDD recordings of george and jackson (rotation 1's test
pair), each file alone (per-utterance CMVN, the recipe's), with the 10 digit
words. One rotation and one seed per arm: a single measurement, not a comparison
with spread. Needs the Debian package ``flite``.

    OMP_NUM_THREADS=1 nice -n 10 python -m benchmarks.engines_fsdd
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import REPO, env, machine, speechtl_cmd, write_result

ARMS = {"espeak": "{espeak: []}", "espeak+flite": "{espeak: [], flite: [kal, kal16, awb, rms, slt]}"}


def run_arm(name: str, args) -> dict:
    """Train one arm with ``speechtl run`` and score it on the FSDD test pair; its figures."""
    exp = Path(args.workdir) / name
    sets = [f"data.synth.engines={ARMS[name]}", f"data.root={Path(args.workdir) / ('data-' + name)}",
            f"data.synth.train_utterances={args.utterances}", "data.synth.dev_utterances=100",
            "data.synth.test_utterances=100", f"data.target.max_utterances={args.target}",
            f"train.max_steps={args.steps}", f"train.checkpoint_every={args.steps}", f"train.seed={args.seed}",
            "transfer.methods=[]", "transfer.self_training.rounds=0", f"train.exp_dir={exp}",
            "train.num_threads=1"]
    start = time.perf_counter()
    with (Path(args.workdir) / f"{name}.log").open("w") as log:
        for cmd in (["run", "recipes/dann-fsdd.yaml", *[x for s in sets for x in ("--set", s)]],
                    ["eval", "--model", str(exp), "--domain", "target"]):
            subprocess.run(speechtl_cmd(*cmd), env=env(1), cwd=REPO, stdout=log, stderr=subprocess.STDOUT, check=True)
    target = json.loads((exp / "eval_target_test.json").read_text())
    status = json.loads((Path(args.workdir) / f"data-{name}" / "status" / "en.json").read_text())
    return {"word_accuracy": round(100 * target["word_accuracy"]["en"], 2), "per": round(100 * target["per"]["en"]["rate"], 2),
            "wall_seconds": round(time.perf_counter() - start, 1), "corpus": status["stats"], "overrides": sets}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utterances", type=int, default=1500, help="synthetic training words per arm")
    parser.add_argument("--steps", type=int, default=300, help="training steps per arm")
    parser.add_argument("--target", type=int, default=50, help="unlabelled FSDD recordings kept (they get no loss)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", default="exp/engines-fsdd")
    args = parser.parse_args()
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    started = datetime.datetime.now(datetime.timezone.utc)
    load = os.getloadavg()
    with concurrent.futures.ThreadPoolExecutor(len(ARMS)) as pool:  # the two arms side by side, one thread each
        results = dict(zip(ARMS, pool.map(lambda name: run_arm(name, args), ARMS)))
    report = {"benchmark": "engines_fsdd", "command": " ".join(sys.argv), "started": started.isoformat(timespec="seconds"),
              "load_at_start": [round(x, 2) for x in load], "load_at_end": [round(x, 2) for x in os.getloadavg()],
              "machine": machine(), "test": "FSDD george + jackson (1,000 recordings), each decoded alone",
              "rotations": 1, "seeds": [args.seed], "arms": results}
    print(write_result(f"engines_fsdd_seed{args.seed}", report))


if __name__ == "__main__":
    main()
