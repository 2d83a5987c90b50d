"""Training throughput: 2-process DDP under torchrun (gloo on CPU) vs 1 process, same global batch.

    python -m benchmarks.ddp_throughput [--recipe recipes/tiny.yaml] [--steps 60] [--repeats 2]

Runs ``speechtl train`` on the recipe (its corpus is prepared first, untimed) as

* 1 process, 1 thread, ``max_frames = 2B``;
* 1 process, all usable cores as threads, ``max_frames = 2B``;
* 2 processes under ``torchrun``, cores/2 threads each, ``max_frames = B`` each (the same
  global batches, see speechtl.data.sampler);

and reports the training loop's own throughput (seconds of audio per second over all
ranks, from ``train_log.jsonl``, the first log window left out as warm-up) and the wall
time of the whole command (start-up, features, training). Writes
``benchmarks/results/ddp_throughput.json``. Timing figures need a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

from benchmarks.common import machine, read_log, speechtl_cmd, timed, write_result


def run(recipe: str, name: str, nproc: int, threads: int, max_frames: int, steps: int, log_every: int,
        workdir: Path) -> dict:
    exp = workdir / name
    overrides = [f"train.exp_dir={exp}", f"train.max_steps={steps}", f"train.log_every={log_every}",
                 f"train.checkpoint_every={steps}", f"train.max_frames={max_frames}",
                 f"train.num_threads={threads}"]
    cmd = speechtl_cmd("train", recipe, *[a for o in overrides for a in ("--set", o)], nproc=nproc)
    wall = timed(cmd, threads)
    log = read_log(exp)
    speeds = [r["audio_sec_per_sec"] for r in log[1:]]  # the first window includes warm-up
    return {"name": name, "processes": nproc, "threads_per_process": threads, "max_frames_per_process": max_frames,
            "wall_s": round(wall, 2), "audio_sec_per_sec": round(statistics.mean(speeds), 1),
            "audio_sec_per_sec_windows": [round(s, 1) for s in speeds], "last_loss": log[-1]["loss"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="recipes/tiny.yaml")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--log-every", type=int, default=10)
    parser.add_argument("--global-frames", type=int, default=12000, help="padded frames per global batch (2B)")
    parser.add_argument("--repeats", type=int, default=2, help="runs per configuration (the best is reported)")
    parser.add_argument("--out", default="ddp_throughput", help="benchmarks/results/OUT.json")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    where = machine()  # before the runs: the load average says what else was running
    timed(speechtl_cmd("prepare", args.recipe), cores)  # the corpus, untimed below
    configs = [("1 process x 1 thread", 1, 1, args.global_frames),
               (f"1 process x {cores} threads", 1, cores, args.global_frames),
               (f"2 processes x {max(1, cores // 2)} threads", 2, max(1, cores // 2), args.global_frames // 2)]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, nproc, threads, frames in configs:
            runs = [run(args.recipe, f"{name.replace(' ', '_')}-{i}", nproc, threads, frames, args.steps,
                        args.log_every, Path(tmp)) for i in range(args.repeats)]
            best = max(runs, key=lambda r: r["audio_sec_per_sec"])
            best["all_runs_audio_sec_per_sec"] = [r["audio_sec_per_sec"] for r in runs]
            results.append({**best, "name": name})
            print(f"{name:28s} {best['audio_sec_per_sec']:8.1f} s audio/s   wall {best['wall_s']:6.1f} s")
    base, ddp = results[0]["audio_sec_per_sec"], results[2]["audio_sec_per_sec"]
    summary = {"ddp_vs_1_thread": round(ddp / base, 2),
               "ddp_vs_1_process_all_threads": round(ddp / results[1]["audio_sec_per_sec"], 2)}
    print(summary)
    path = write_result(args.out, {
        "command": f"python -m benchmarks.ddp_throughput --recipe {args.recipe} --steps {args.steps} "
                   f"--global-frames {args.global_frames} --repeats {args.repeats} --out {args.out}",
        "machine": where, "configs": results, "summary": summary})
    print(f"written to {path}")


if __name__ == "__main__":
    main()
