"""Does BEST-RQ pre-training on unlabelled real audio help real speech? FSDD held-out speakers, 3 seeds.

Pre-trained: ``speechtl pretrain recipes/pretrain-fsdd.yaml`` (BEST-RQ on the synthetic
digit words' training audio plus the FSDD recordings of the 4 training speakers, no
labels) for ``--pre-steps`` steps, then ``recipes/dann-fsdd.yaml`` fine-tuned from it
(``transfer.source``) with synthetic labels only (``transfer.methods=[]``, no
self-training: the target speakers' audio passes through the network without a loss)
for ``--fine-steps`` steps. Baseline: the same fine-tuning from random weights for
``--pre-steps + --fine-steps`` steps: the same number of optimizer steps with the same
batch budget (the wall-clock seconds of each arm are recorded too). Both are scored by
word accuracy on the held-out pair (george, jackson), decoded with the 10 digit words.

    OMP_NUM_THREADS=1 python -m benchmarks.ssl_pretrain_fsdd [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import REPO, env, machine, speechtl_cmd, write_result

FSDD = REPO / ".." / "shared" / "data" / "fsdd"
TRAIN_SPEAKERS = ["lucas", "nicolas", "theo", "yweweler"]
MANIFEST = REPO / "data" / "fsdd-pretrain" / "fsdd_train_speakers_recordings.jsonl.gz"
FINE = ["transfer.methods=[]", "transfer.self_training.rounds=0", "train.num_threads=1", "train.valid_every=0"]


def run(args: list[str], log: Path) -> float:
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.run(speechtl_cmd(*args), env=env(1), cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    if proc.returncode:
        raise RuntimeError(f"speechtl {' '.join(args)} failed; see {log}")
    return time.perf_counter() - start


def sets(overrides: list[str]) -> list[str]:
    return [x for o in overrides for x in ("--set", o)]


def word_accuracy(model_dir: Path) -> float:
    run(["eval", "--model", str(model_dir), "--domain", "target"], model_dir / "eval-target.log")
    return 100 * json.loads((model_dir / "eval_target_test.json").read_text())["word_accuracy"]["en"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--pre-steps", type=int, default=100)
    ap.add_argument("--fine-steps", type=int, default=200)
    ap.add_argument("--out", default="ssl_pretrain_fsdd")
    args = ap.parse_args()
    from speechtl.data.fsdd import load_fsdd

    result = {"command": "python -m benchmarks.ssl_pretrain_fsdd " + " ".join(sys.argv[1:]), "machine": machine(),
              "pre_steps": args.pre_steps, "fine_steps": args.fine_steps, "test_speakers": ["george", "jackson"],
              "runs": []}
    root = REPO / "exp" / "ssl-fsdd"
    run(["prepare", "recipes/dann-fsdd.yaml"], root / "prepare.log")
    recordings, _, _ = load_fsdd(FSDD, TRAIN_SPEAKERS)
    MANIFEST.parent.mkdir(parents=True, exist_ok=True)
    recordings.to_file(MANIFEST)
    for seed in args.seeds:
        pre = root / f"pretrain-{seed}"
        t_pre = run(["pretrain", "recipes/pretrain-fsdd.yaml", "--overwrite",
                     *sets([f"train.exp_dir={pre}", f"train.max_steps={args.pre_steps}", f"train.seed={seed}",
                            f"pretrain.seed={seed}", "train.num_threads=1"])], root / f"pretrain-{seed}.log")
        tuned = root / f"pretrained-{seed}"
        t_fine = run(["train", "recipes/dann-fsdd.yaml", "--overwrite",
                      *sets([*FINE, f"train.exp_dir={tuned}", f"train.max_steps={args.fine_steps}",
                             f"train.seed={seed}", f"transfer.source={pre / 'model'}"])], root / f"pretrained-{seed}.log")
        base = root / f"baseline-{seed}"
        t_base = run(["train", "recipes/dann-fsdd.yaml", "--overwrite",
                      *sets([*FINE, f"train.exp_dir={base}", f"train.max_steps={args.pre_steps + args.fine_steps}",
                             f"train.seed={seed}"])], root / f"baseline-{seed}.log")
        row = {"seed": seed, "pretrained_word_accuracy": round(word_accuracy(tuned), 2),
               "baseline_word_accuracy": round(word_accuracy(base), 2),
               "pretrained_seconds": round(t_pre + t_fine, 1), "baseline_seconds": round(t_base, 1),
               "load_average": [round(x, 2) for x in os.getloadavg()]}
        result["runs"].append(row)
        print(json.dumps(row), flush=True)
    for arm in ("pretrained", "baseline"):
        values = [r[f"{arm}_word_accuracy"] for r in result["runs"]]
        result[arm] = {"mean": round(statistics.mean(values), 2),
                       "std": round(statistics.pstdev(values), 2), "runs": values}
    result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(f"wrote {write_result(args.out, result)}")


if __name__ == "__main__":
    main()
