"""Peak memory of training as the corpus grows: synthetic corpora of 1, 10 and 30 hours.

For each size, the demo recipe's 8 languages are synthesised with as many
training utterances as make that many hours, then ``speechtl train`` runs a few
steps (the data path is what grows: preparing the manifest, storing or
computing features, CMVN, batching). Peak RSS is GNU time's maximum resident
set size of the training process. ``--baseline DIR`` also runs an older
checkout (e.g. the commit before the Lhotse data path) on the same corpora, its
batch size given as ``train.max_frames`` (200 s of audio either way).

    python benchmarks/scale_memory.py --hours 1 10 30 [--baseline /path/to/old/checkout]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

from common import REPO, env, machine, write_result

RECIPE = REPO / "recipes" / "multilingual-synth.yaml"


def synth_overrides(root: Path, per_language: int) -> list[str]:
    return [f"data.root={root}", f"data.synth.train_utterances={per_language}",
            "data.synth.train_utterances_per_language={}", "data.synth.dev_utterances=10",
            "data.synth.test_utterances=10"]


def run(cmd: list[str], cwd: Path, timeout: float = 7200) -> tuple[float, float]:
    """``(peak RSS in MB, wall seconds)`` of ``cmd`` under GNU time."""
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "maxrss_kb=%M", *cmd], cwd=cwd, env={**env(2), "PYTHONPATH": str(cwd)},
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    rss = int(re.findall(r"maxrss_kb=(\d+)", proc.stderr)[-1]) / 1024
    return rss, time.perf_counter() - start


def corpus_hours(root: Path) -> float:
    status = [json.loads(p.read_text()) for p in (root / "status").glob("*.json")]
    return sum(s["stats"]["train"]["hours"] for s in status)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", nargs="+", type=float, default=[1, 10, 30])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--seconds-per-utterance", type=float, default=0.0,
                    help="mean training utterance length (0: measured on a 1-hour corpus first)")
    ap.add_argument("--baseline", help="an older checkout to measure on the same corpora")
    ap.add_argument("--work", default="data/scale")
    ap.add_argument("--out", default="scale_memory")
    args = ap.parse_args()
    work = (REPO / args.work).resolve()
    result = {"command": "python benchmarks/scale_memory.py " + " ".join(sys.argv[1:]), "machine": machine(),
              "steps": args.steps, "runs": []}
    per_utt = args.seconds_per_utterance
    for hours in args.hours:
        per_language = 100 if not per_utt else int(round(hours * 3600 / 8 / per_utt))
        root = work / f"{hours:g}h"
        synth_cmd = [sys.executable, "-m", "speechtl", "synth", str(RECIPE),
                     *[a for o in synth_overrides(root, per_language) for a in ("--set", o)]]
        _, synth_seconds = run(synth_cmd, REPO)
        if not per_utt:  # the first size calibrates the utterance length, then is made at its size
            per_utt = corpus_hours(root) * 3600 / (8 * per_language)
            per_language = int(round(hours * 3600 / 8 / per_utt))
            synth_cmd = [sys.executable, "-m", "speechtl", "synth", str(RECIPE),
                         *[a for o in synth_overrides(root, per_language) for a in ("--set", o)]]
            _, synth_seconds = run(synth_cmd, REPO)
        made = corpus_hours(root)
        for name, checkout, batch in [("lhotse data path", REPO, "train.max_duration=200"),
                                      *([("before (features in memory)", Path(args.baseline).resolve(),
                                          "train.max_frames=20000")] if args.baseline else [])]:
            exp = work / "exp" / f"{hours:g}h-{name.split()[0]}"
            sets = [*synth_overrides(root, per_language), f"train.exp_dir={exp}", f"train.max_steps={args.steps}",
                    f"train.checkpoint_every={args.steps}", "train.log_every=5", batch]
            cmd = [sys.executable, "-m", "speechtl", "train", str(RECIPE), *[a for o in sets for a in ("--set", o)]]
            if checkout == REPO:
                cmd.append("--overwrite")
            else:
                subprocess.run(["rm", "-rf", str(exp)], check=True)
            rss, seconds = run(cmd, checkout)
            row = {"hours": round(made, 2), "utterances_per_language": per_language, "code": name,
                   "peak_rss_mb": round(rss), "train_wall_seconds": round(seconds, 1),
                   "synth_wall_seconds": round(synth_seconds, 1)}
            result["runs"].append(row)
            print(json.dumps(row), flush=True)
            write_result(args.out, result)
    result["seconds_per_utterance"] = per_utt
    print(f"wrote {write_result(args.out, result)}")


if __name__ == "__main__":
    main()
