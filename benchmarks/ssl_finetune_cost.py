"""Fine-tuning cost of a small wav2vec2-style encoder against the demo's TDNN on this CPU (a ratio, measured alternately).

Both train on the same corpus (``recipes/tiny.yaml``'s synthetic 3 languages, features
stored once), one thread, the same batch budget, for ``--steps`` steps, in turns (TDNN,
wav2vec2, TDNN, wav2vec2, ...) so that other work on the machine hits both alike. The
TDNN is the demo model (``recipes/multilingual-synth.yaml``: 8 layers of 384, filterbanks);
the wav2vec2-style encoder is ``recipes/wav2vec2-small.yaml``'s (random init, about as many
parameters, reading the waveform). Throughput is the mean of the logged
``audio_sec_per_sec`` windows after the first (which includes start-up).

    OMP_NUM_THREADS=1 python -m benchmarks.ssl_finetune_cost [--rounds 2 --steps 40]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

from benchmarks.common import REPO, env, machine, read_log, speechtl_cmd, write_result

DATA = f"data.root={REPO / 'data' / 'ssl-bench-tiny'}"
ENCODERS = {
    "tdnn (demo model)": [str(REPO / "recipes" / "tiny.yaml"), "model.dim=384", "model.layers=8",
                          "model.kernel_size=3", "model.dropout=0.1"],
    "wav2vec2-style (small)": [str(REPO / "recipes" / "wav2vec2-small.yaml"), "data.languages=[en, de, es]",
                               "data.synth.vocabulary=300", "data.synth.train_utterances=120",
                               "data.synth.dev_utterances=10", "data.synth.test_utterances=20",
                               "data.synth.train_speakers=12"],
}


def parameters(recipe_args: list[str]) -> int:
    from speechtl.tasks import load_recipe
    from speechtl.tasks.speech.model import build_model
    from speechtl.text.inventory import Inventory

    recipe = load_recipe(recipe_args[0], recipe_args[1:])
    return sum(p.numel() for p in build_model(recipe, {"en": Inventory(["a"])}).encoder.parameters())


def train(name: str, recipe_args: list[str], steps: int) -> list[float]:
    exp = REPO / "exp" / "ssl-cost" / name.split()[0]
    subprocess.run(["rm", "-rf", str(exp)], check=True)
    sets = [DATA, f"train.exp_dir={exp}", f"train.max_steps={steps}", f"train.checkpoint_every={steps}",
            "train.log_every=5", "train.num_threads=1", "train.max_duration=60", "train.valid_every=0",
            *recipe_args[1:]]
    cmd = speechtl_cmd("train", recipe_args[0], *[a for s in sets for a in ("--set", s)])
    proc = subprocess.run(cmd, env=env(1), cwd=REPO, capture_output=True, text=True, timeout=7200)
    if proc.returncode:
        raise RuntimeError(f"{name}: training failed:\n{proc.stderr[-3000:]}")
    return [r["audio_sec_per_sec"] for r in read_log(exp)[1:] if "audio_sec_per_sec" in r]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--out", default="ssl_finetune_cost")
    args = ap.parse_args()
    result = {"command": "python -m benchmarks.ssl_finetune_cost " + " ".join(sys.argv[1:]), "machine": machine(),
              "steps": args.steps, "threads": 1, "batch_seconds": 60,
              "parameters": {name: parameters(a) for name, a in ENCODERS.items()}, "runs": []}
    for r in range(args.rounds):
        for name, recipe_args in ENCODERS.items():
            windows = train(name, recipe_args, args.steps)
            result["runs"].append({"round": r, "encoder": name, "audio_sec_per_sec": statistics.mean(windows),
                                   "windows": windows, "load_average": [round(x, 2) for x in os.getloadavg()]})
            print(json.dumps(result["runs"][-1]), flush=True)
    means = {name: statistics.mean(x["audio_sec_per_sec"] for x in result["runs"] if x["encoder"] == name)
             for name in ENCODERS}
    result["mean_audio_sec_per_sec"] = means
    tdnn, w2v = list(ENCODERS)
    result["ratio_wav2vec2_to_tdnn"] = means[w2v] / means[tdnn]
    result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(f"wrote {write_result(args.out, result)}: ratio {result['ratio_wav2vec2_to_tdnn']:.3f}")


if __name__ == "__main__":
    main()
