"""Training throughput of this checkout against an older one, alternated in one run (a ratio, not a speed).

Both train the demo recipe for ``--steps`` steps on the same corpus, in turns
(new, old, new, old, ...), so load from other work hits both alike; throughput
is the mean of the logged ``audio_sec_per_sec`` windows after the first (which
includes start-up). The older checkout's batch budget is ``train.max_frames``
(200 s of padded frames), this one's ``train.max_duration`` (200 s of audio).

    python -m benchmarks.throughput_ab --baseline /path/to/old/checkout [--rounds 2 --steps 60]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from benchmarks.common import REPO, machine, read_log, write_result

RECIPE = REPO / "recipes" / "multilingual-synth.yaml"


def train(checkout: Path, exp: Path, steps: int, batch: str, threads: int) -> list[float]:
    subprocess.run(["rm", "-rf", str(exp)], check=True)
    sets = [f"train.exp_dir={exp}", f"train.max_steps={steps}", f"train.checkpoint_every={steps}",
            "train.log_every=10", f"train.num_threads={threads}", *batch.split()]
    sets.append(f"data.root={REPO / 'data' / 'multilingual-synth'}")  # one corpus for both
    recipe_file = checkout / "recipes" / RECIPE.name  # each checkout's own recipe (its batch key)
    cmd = [sys.executable, "-m", "speechtl", "train", str(recipe_file), *[a for o in sets for a in ("--set", o)]]
    proc = subprocess.run(cmd, cwd=checkout, env={**os.environ, "PYTHONPATH": str(checkout),
                                               "OMP_NUM_THREADS": str(threads)},
                          capture_output=True, text=True, timeout=7200)
    if proc.returncode:
        raise RuntimeError(f"{checkout}: training failed:\n{proc.stderr[-3000:]}")
    return [r["audio_sec_per_sec"] for r in read_log(exp)[1:]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", required=True, help="the older checkout")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--new-only", action="store_true", help="run only this checkout (no ratio)")
    ap.add_argument("--new-set", nargs="*", default=[], help="more overrides for this checkout's runs (KEY=VALUE)")
    ap.add_argument("--out", default="throughput_ab")
    args = ap.parse_args()
    result = {"command": "python -m benchmarks.throughput_ab " + " ".join(sys.argv[1:]), "machine": machine(),
              "steps": args.steps, "threads": args.threads, "runs": []}
    codes = [("lhotse data path", REPO, " ".join(["train.max_duration=200", *args.new_set])),
             ("before (features in memory)", Path(args.baseline).resolve(), "train.max_frames=20000")]
    for r in range(args.rounds):
        for name, checkout, batch in codes[: 1 if args.new_only else 2]:
            windows = train(checkout, REPO / "exp" / "throughput-ab" / name.split()[0], args.steps, batch,
                            args.threads)
            result["runs"].append({"round": r, "code": name, "audio_sec_per_sec": statistics.mean(windows),
                                   "windows": windows, "load_average": [round(x, 2) for x in os.getloadavg()]})
            print(json.dumps(result["runs"][-1]), flush=True)
    means = {name: statistics.mean(x["audio_sec_per_sec"] for x in result["runs"] if x["code"] == name)
             for name, _, _ in codes[: 1 if args.new_only else 2]}
    result["mean_audio_sec_per_sec"] = means
    if args.new_only:
        print(f"wrote {write_result(args.out, result)}")
        return
    result["ratio_new_to_old"] = means[codes[0][0]] / means[codes[1][0]]
    print(f"wrote {write_result(args.out, result)}: ratio {result['ratio_new_to_old']:.3f}")


if __name__ == "__main__":
    main()
