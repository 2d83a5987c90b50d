"""The plain classifier peer of the supervised FSDD check: a small CNN word classifier, same rotations.

A peer in the benchmark, not in the package (issue 23): 4 convolution blocks on
log-mel filterbanks, each recording normalised by its own mean and variance, trained
for 15 epochs on the same labels as the phoneme recipe (recordings 5-49 of the 4
training speakers), no tuning; scored on all 1,000 recordings of the held-out pair,
each classified alone (batch of one: nothing from the speaker's other recordings).
The phoneme recipe must be at least as good in every rotation
(studies/fsdd-supervised-generalise.yaml).

Run it alone, one thread::

    OMP_NUM_THREADS=1 python -m benchmarks.fsdd_cnn_peer --seeds 0

or one process per rotation, then their outputs joined into ``fsdd_cnn_peer.json``::

    OMP_NUM_THREADS=1 python -m benchmarks.fsdd_cnn_peer --pairs 1 --out fsdd_cnn_peer_1   # 2, 3 likewise
    python -m benchmarks.fsdd_cnn_peer --merge fsdd_cnn_peer_1 fsdd_cnn_peer_2 fsdd_cnn_peer_3
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import sys
import time

import soundfile
import torch
import torchaudio
from torch import nn

from benchmarks.common import REPO, machine, write_result

FSDD = REPO / ".." / "shared" / "data" / "fsdd"
SPEAKERS = ["george", "jackson", "lucas", "nicolas", "theo", "yweweler"]
PAIRS = [SPEAKERS[i:i + 2] for i in range(0, 6, 2)]
EPOCHS, BATCH, LR = 15, 32, 1e-3
MIN_FRAMES = 16


def log_mel(path) -> torch.Tensor:
    """``(1, 40, frames)`` log-mel filterbank of one 8 kHz recording, normalised by its own mean and variance."""
    wave, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    mel = torchaudio.transforms.MelSpectrogram(rate, n_fft=256, hop_length=80, n_mels=40)(torch.from_numpy(wave.mean(1)))
    x = (mel + 1e-6).log()
    x = (x - x.mean()) / (x.std() + 1e-5)
    # at least MIN_FRAMES (4 poolings by 2): 11 FSDD recordings are shorter; zeros are the normalised mean
    return nn.functional.pad(x, (0, max(0, MIN_FRAMES - x.shape[-1]))).unsqueeze(0)


def recordings(speakers: list[str], lo: int = 0, hi: int = 50) -> list[tuple[torch.Tensor, int]]:
    """(features, digit) of ``speakers``' recordings numbered ``lo <= i < hi``."""
    from speechtl.data.fsdd import fsdd_recordings

    return [(log_mel(p), d) for p, d, s, i in fsdd_recordings(FSDD) if s in speakers and lo <= int(i) < hi]


def classifier() -> nn.Module:
    """4 blocks of conv 3x3 + batch norm + ReLU + 2x2 max pool, mean over time and frequency, 10 classes."""
    blocks, width = [], 1
    for out in (16, 32, 64, 128):
        blocks += [nn.Conv2d(width, out, 3, padding=1), nn.BatchNorm2d(out), nn.ReLU(), nn.MaxPool2d(2)]
        width = out
    return nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.3), nn.Linear(width, 10))


def batch(items: list[tuple[torch.Tensor, int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """``(B, 1, 40, T_max)`` features padded with zeros (the normalised mean) and ``(B,)`` labels."""
    frames = max(x.shape[-1] for x, _ in items)
    feats = torch.stack([nn.functional.pad(x, (0, frames - x.shape[-1])) for x, _ in items])
    return feats, torch.tensor([d for _, d in items])


def train(data: list, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    model, order = classifier(), torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), LR)
    model.train()
    for _ in range(EPOCHS):
        perm = torch.randperm(len(data), generator=order).tolist()
        for i in range(0, len(perm), BATCH):
            x, y = batch([data[j] for j in perm[i:i + BATCH]])
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
    return model.eval()


@torch.no_grad()
def score(model: nn.Module, data: list) -> float:
    """Word accuracy (%), each recording classified alone."""
    return round(100 * statistics.fmean(int(model(x.unsqueeze(0)).argmax()) == d for x, d in data), 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--pairs", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--out", default="fsdd_cnn_peer", help="the raw output's name in benchmarks/results")
    ap.add_argument("--merge", nargs="+", metavar="NAME", help="join these outputs' rotations into --out; no training")
    args = ap.parse_args()
    if args.merge:
        parts = [json.loads((REPO / "benchmarks" / "results" / f"{n}.json").read_text()) for n in args.merge]
        report = {"merged_from": {n: {k: p[k] for k in ("command", "uptime")} for n, p in zip(args.merge, parts)},
                  **{k: parts[0][k] for k in ("machine", "epochs", "batch", "lr")},
                  "rotations": sorted((r for p in parts for r in p["rotations"]), key=lambda r: r["pair"])}
        print("written to", write_result(args.out, summarised(report)))
        return
    torch.set_num_threads(1)
    report = {"command": "OMP_NUM_THREADS=1 python " + shlex.join(sys.argv), "machine": machine(),
              "uptime": os.popen("uptime").read().strip(), "epochs": EPOCHS, "batch": BATCH, "lr": LR,
              "rotations": []}
    for k in args.pairs:
        test = PAIRS[k - 1]
        train_spk = [s for s in SPEAKERS if s not in test]
        train_data, test_data = recordings(train_spk, 5, 50), recordings(test)
        runs = []
        for seed in args.seeds:
            start = time.perf_counter()
            model = train(train_data, seed)
            seconds = time.perf_counter() - start
            per_speaker = {s: score(model, recordings([s])) for s in test}
            runs.append({"seed": seed, "word_accuracy": score(model, test_data), "per_speaker": per_speaker,
                         "train_seconds": round(seconds, 1)})
            print(f"rotation {k} ({'+'.join(test)}) seed {seed}: {runs[-1]}", flush=True)
        report["rotations"].append({"pair": k, "test_speakers": test, "train_speakers": train_spk, "runs": runs})
        write_result(args.out, report)
    print("written to", write_result(args.out, summarised(report)))


def summarised(report: dict) -> dict:
    """``report`` with ``summary``: mean and sample std of word accuracy over every rotation and seed."""
    accs = [r["word_accuracy"] for rot in report["rotations"] for r in rot["runs"]]
    report["summary"] = {"mean": round(statistics.fmean(accs), 2),
                         "std": round(statistics.stdev(accs), 2) if len(accs) > 1 else 0.0, "runs": accs}
    return report


if __name__ == "__main__":
    main()
