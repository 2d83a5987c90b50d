"""The phoneme error rate cost of int8 dynamic quantisation on a wav2vec2-style model trained here, over seeds.

For each seed, ``speechtl train recipes/wav2vec2-tiny.yaml --set train.seed=S --set
train.exp_dir=exp/int8_per_cost/seedS`` (skipped when that model exists), then (unless scored
since) the test split's greedy PER per language in float32 and with int8 dynamic quantisation of every ``nn.Linear``
(``speechtl.models.quantize.quantize_int8``: what ``speechtl eval --int8`` and ``speechtl decode
--int8`` do, and what ``benchmarks/ssl_ctc_cost.py`` timed on the base size). The same model and
the same recordings in both modes, so the cost is the paired difference (int8 - float32) of the
mean PER over languages, reported per seed and as mean ± sample standard deviation. One thread.

    OMP_NUM_THREADS=1 python benchmarks/int8_per_cost.py [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

import torch

from speechtl.workflows.study_stats import spread as summary  # mean, sample std (None for one), n

from benchmarks.common import REPO, machine, speechtl_cmd, timed, write_result

RECIPE = "recipes/wav2vec2-tiny.yaml"


def train(seed: int, exp: Path) -> float | None:
    """Train one seed into ``exp`` unless its model is there; the wall-clock seconds, or None when skipped."""
    if (exp / "model.safetensors").exists():
        return None
    cmd = speechtl_cmd("train", RECIPE, "--set", f"train.seed={seed}", "--set", f"train.exp_dir={exp.relative_to(REPO)}")
    return round(timed(cmd, threads=1, timeout=3600), 1)


def test_per(exp: Path, int8: bool) -> dict[str, float]:
    """Greedy test PER per language and their mean (``speechtl eval [--int8]`` without the word search)."""
    from speechtl.workflows.evaluate import evaluate

    mode = "int8" if int8 else "float32"
    out = exp / f"eval_test_{mode}.json"
    if out.exists() and out.stat().st_mtime > (exp / "model.safetensors").stat().st_mtime:  # scored already
        report = json.loads(out.read_text())
    else:
        report = evaluate(exp, "test", output=out, progress=False, words=False, **({"int8": True} if int8 else {}))
    per = {lang: r["rate"] for lang, r in report["per"].items()}
    return {**per, "mean": statistics.fmean(per.values())}


def linear_share(exp: Path) -> float:
    """The fraction of the model's parameters in ``nn.Linear`` layers: what int8 quantises."""
    from speechtl.models.io import load_model

    model = load_model(exp)
    linear = sum(p.numel() for m in model.modules() if isinstance(m, torch.nn.Linear) for p in m.parameters())
    return linear / sum(p.numel() for p in model.parameters())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--exp", default="exp/int8_per_cost", help="experiment folder, one seedS/ per seed")
    args = ap.parse_args()
    torch.set_num_threads(1)
    result = {"command": "python benchmarks/int8_per_cost.py " + " ".join(sys.argv[1:]), "machine": machine(),
              "recipe": RECIPE, "threads": 1, "runs": []}
    for seed in args.seeds:
        exp = REPO / args.exp / f"seed{seed}"
        seconds = train(seed, exp)
        fp32, int8 = test_per(exp, False), test_per(exp, True)
        run = {"seed": seed, "train_seconds": seconds, "per_float32": fp32, "per_int8": int8,
               "difference": int8["mean"] - fp32["mean"], "linear_parameter_share": round(linear_share(exp), 3)}
        result["runs"].append(run)
        print(f"seed {seed}: PER float32 {100 * fp32['mean']:.2f}%, int8 {100 * int8['mean']:.2f}%, "
              f"difference {100 * run['difference']:+.2f} points", flush=True)
    for key in ("per_float32", "per_int8"):
        result[key] = summary([r[key]["mean"] for r in result["runs"]])
    result["difference"] = summary([r["difference"] for r in result["runs"]])
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["load_average_at_end"] = result["machine"]["load_average_at_end"]
    print(f"wrote {write_result('int8_per_cost', result)}")


if __name__ == "__main__":
    main()
