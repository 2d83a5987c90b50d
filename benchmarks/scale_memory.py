"""Peak memory of training as the corpus grows: the demo corpus replicated to k times its training audio.

The demo's synthetic corpus (8 languages, about an hour of training audio) is
the base; a corpus k times as large lists each training utterance k times under
new ids (the same audio files, so no hours of synthesis are needed), which is
what the training data path sees of a larger corpus: k times the cuts, the
features, the batches. ``speechtl train`` then runs a few steps; its peak RSS is
GNU time's maximum resident set size of the training process (preparing the
manifest, storing or computing features, CMVN, batching and the steps).
``--baseline DIR`` also runs an older checkout (e.g. the commit before the
Lhotse data path) on the same corpora, its batch given as ``train.max_frames``
(200 s of padded frames against 200 s of audio).

    python -m benchmarks.scale_memory --factors 1 3 10 [--baseline /path/to/old/checkout]
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import REPO, env, machine, write_result

from speechtl.data.synth import language_fingerprint
from speechtl.tasks import load_recipe

RECIPE = REPO / "recipes" / "multilingual-synth.yaml"


def replicate(base: Path, root: Path, k: int, recipe) -> list[str]:
    """Write the base corpus with every training utterance listed ``k`` times; the recipe overrides it needs."""
    synth = recipe.data.synth
    scaled = dataclasses.replace(synth, train_utterances=synth.train_utterances * k,
                                 train_utterances_per_language={lang: n * k for lang, n in
                                                                synth.train_utterances_per_language.items()})
    for sub in ("lexicon",):
        if not (root / sub).exists():
            shutil.copytree(base / sub, root / sub)
    (root / "manifests").mkdir(parents=True, exist_ok=True)
    (root / "status").mkdir(parents=True, exist_ok=True)
    for lang in recipe.data.languages:
        for split in ("train", "dev", "test"):
            for kind in ("recordings", "supervisions"):
                name = f"synth_{lang}_{kind}_{split}.jsonl.gz"
                lines = gzip.open(base / "manifests" / name, "rt", encoding="utf-8").read().splitlines()
                with gzip.open(root / "manifests" / name, "wt", encoding="utf-8") as out:
                    for j in range(k if split == "train" else 1):
                        for line in lines:
                            item = json.loads(line)
                            if j:
                                item["id"] = f"{item['id']}-r{j}"
                                if "recording_id" in item:
                                    item["recording_id"] = f"{item['recording_id']}-r{j}"
                            out.write(json.dumps(item, ensure_ascii=False) + "\n")
        status = json.loads((base / "status" / f"{lang}.json").read_text())
        status["fingerprint"] = language_fingerprint(scaled, lang)
        status["stats"]["train"]["hours"] *= k
        (root / "status" / f"{lang}.json").write_text(json.dumps(status))
    per_language = "{" + ", ".join(f"{lang}: {n}" for lang, n in scaled.train_utterances_per_language.items()) + "}"
    return [f"data.root={root}", f"data.synth.train_utterances={scaled.train_utterances}",
            f"data.synth.train_utterances_per_language={per_language}"]


def run(cmd: list[str], checkout: Path, timeout: float = 7200) -> tuple[float, float]:
    """``(peak RSS in MB, wall seconds)`` of ``cmd`` under GNU time, run in (and importing speechtl from) ``checkout``."""
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "maxrss_kb=%M", *cmd], cwd=checkout,
                          env={**env(2), "PYTHONPATH": str(checkout)}, capture_output=True, text=True, timeout=timeout)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    rss = int(re.findall(r"maxrss_kb=(\d+)", proc.stderr)[-1]) / 1024
    return rss, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--factors", nargs="+", type=int, default=[1, 10, 30])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--baseline", help="an older checkout to measure on the same corpora")
    ap.add_argument("--baseline-factors", nargs="*", type=int, help="the factors the baseline runs (default: all)")
    ap.add_argument("--work", default="data/scale")
    ap.add_argument("--out", default="scale_memory")
    args = ap.parse_args()
    recipe = load_recipe(RECIPE)
    base = REPO / recipe.data.root
    if not all((base / "status" / f"{lang}.json").is_file() for lang in recipe.data.languages):
        subprocess.run([sys.executable, "-m", "speechtl", "synth", str(RECIPE)], cwd=REPO, env=env(2), check=True)
    work = (REPO / args.work).resolve()
    result = {"command": "python -m benchmarks.scale_memory " + " ".join(sys.argv[1:]), "machine": machine(),
              "steps": args.steps, "runs": []}
    for k in args.factors:
        root = work / f"{k}x"
        overrides = replicate(base, root, k, recipe)
        hours = sum(json.loads(p.read_text())["stats"]["train"]["hours"] for p in (root / "status").glob("*.json"))
        codes = [("lhotse data path", REPO, "train.max_duration=200")]
        if args.baseline and (args.baseline_factors is None or k in args.baseline_factors):
            codes.append(("before (features in memory)", Path(args.baseline).resolve(), "train.max_frames=20000"))
        for name, checkout, batch in codes:
            exp = work / "exp" / f"{k}x-{name.split()[0]}"
            shutil.rmtree(exp, ignore_errors=True)
            sets = [*overrides, f"train.exp_dir={exp}", f"train.max_steps={args.steps}",
                    f"train.checkpoint_every={args.steps}", "train.log_every=5", batch]
            recipe_file = checkout / "recipes" / RECIPE.name  # each checkout's own recipe (its batch key)
            cmd = [sys.executable, "-m", "speechtl", "train", str(recipe_file), *[a for o in sets for a in ("--set", o)]]
            rss, seconds = run(cmd, checkout)
            row = {"factor": k, "hours": round(hours, 2), "code": name, "peak_rss_mb": round(rss),
                   "train_wall_seconds": round(seconds, 1)}
            result["runs"].append(row)
            print(json.dumps(row), flush=True)
            write_result(args.out, result)
    print(f"wrote {write_result(args.out, result)}")


if __name__ == "__main__":
    main()
