"""Training throughput (seconds of audio per second of wall time) at the demo's model size.

Reads the training log of a run (the demo's by default) and reports the mean of
the logged windows after the first (which includes start-up).

    python -m benchmarks.throughput [--exp exp/multilingual-synth]
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--exp", default="exp/multilingual-synth")
    ap.add_argument("--out", default="benchmarks/results/throughput.json")
    args = ap.parse_args()
    log = [json.loads(x) for x in (Path(args.exp) / "train_log.jsonl").read_text().splitlines()]
    windows = [r["audio_sec_per_sec"] for r in log[1:]] or [log[0]["audio_sec_per_sec"]]
    result = {
        "exp": args.exp, "steps": log[-1]["step"],
        "audio_sec_per_sec_mean": sum(windows) / len(windows),
        "audio_sec_per_sec_min": min(windows), "audio_sec_per_sec_max": max(windows),
        "torch_threads": torch.get_num_threads(), "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
