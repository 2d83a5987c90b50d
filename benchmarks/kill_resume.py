"""Time lost by ``kill -9`` + ``speechtl train --resume`` against an uninterrupted run.

    python -m benchmarks.kill_resume [--recipe recipes/tiny.yaml] [--steps 120] [--checkpoint-every 40]

1. an uninterrupted ``speechtl train`` of ``--steps`` steps (wall ``T0``);
2. the same, killed with SIGKILL half-way between two checkpoints (wall ``T1`` until the kill),
   then resumed with ``--resume`` (wall ``T2``); lost = ``T1 + T2 - T0``;
3. a 0-step run (start-up: imports, features, model; wall ``S``) to explain the loss:
   lost ~ ``S`` + recomputed steps x seconds per step.

Checks that the resumed model equals the uninterrupted one bit for bit. Writes
``benchmarks/results/kill_resume.json``. Timing figures need a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import torch
from benchmarks.common import REPO, env, machine, speechtl_cmd, timed, write_result

from speechtl.models.io import load_model


def kill_at(cmd: list[str], log: Path, step: int) -> tuple[float, int]:
    """Run ``cmd`` and SIGKILL it when its log reaches ``step``: (seconds until the kill, last step logged)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env(1), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last = 0
    while proc.poll() is None:
        lines = log.read_text().splitlines() if log.is_file() else []
        if lines and lines[-1].endswith("}"):
            last = json.loads(lines[-1])["step"]
        if last >= step:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    proc.wait()
    if proc.returncode != -signal.SIGKILL:
        raise RuntimeError(f"the run ended (rc {proc.returncode}) before step {step}")
    return time.perf_counter() - start, last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="recipes/tiny.yaml")
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--checkpoint-every", type=int, default=40)
    args = parser.parse_args()
    every = args.checkpoint_every
    kill_step = (args.steps // every // 2) * every + every // 2  # half-way through a middle interval
    where = machine()  # before the runs: the load average says what else was running
    timed(speechtl_cmd("prepare", args.recipe), 1)
    with tempfile.TemporaryDirectory() as tmp:
        def cmd(name: str, *extra: str, steps: int = args.steps) -> list[str]:
            sets = [f"train.exp_dir={Path(tmp) / name}", f"train.max_steps={steps}", "train.log_every=1",
                    f"train.checkpoint_every={every}", "train.num_threads=1"]
            return speechtl_cmd("train", args.recipe, *[a for s in sets for a in ("--set", s)], *extra)

        startup = timed(cmd("startup", steps=0), 1)
        straight = timed(cmd("straight"), 1)
        killed_after, last = kill_at(cmd("killed"), Path(tmp) / "killed" / "train_log.jsonl", kill_step)
        resumed = timed(cmd("killed", "--resume"), 1)
        same = all(torch.equal(a, b) for a, b in zip(load_model(Path(tmp) / "straight" / "model").state_dict().values(),
                                                     load_model(Path(tmp) / "killed" / "model").state_dict().values()))
    resumed_from = last // every * every
    per_step = (straight - startup) / args.steps
    lost = killed_after + resumed - straight
    result = {
        "command": f"python -m benchmarks.kill_resume --recipe {args.recipe} --steps {args.steps} "
                   f"--checkpoint-every {every}",
        "machine": where,
        "steps": args.steps, "checkpoint_every": every, "killed_at_step": last, "resumed_from_step": resumed_from,
        "uninterrupted_s": round(straight, 2), "until_kill_s": round(killed_after, 2), "resume_s": round(resumed, 2),
        "lost_s": round(lost, 2), "lost_fraction": round(lost / straight, 3),
        "startup_s": round(startup, 2), "seconds_per_step": round(per_step, 4),
        "explained_s": round(startup + (last - resumed_from) * per_step, 2),
        "resumed_model_identical": same,
    }
    print(json.dumps(result, indent=1))
    print(f"written to {write_result('kill_resume', result)}")


if __name__ == "__main__":
    main()
