"""GPU checks of the training loop, checkpoints, collectives and export (needs CUDA; no corpus needed).

    python -m benchmarks.gpu_check [--out benchmarks/results/gpu_check.json]

Features are random (utterance lengths like the synthetic corpus); what is checked
is the code path on the GPU, not accuracy:

1. ``Trainer`` on CUDA: 20 steps straight vs 10 steps, checkpoint, ``resume`` to 20
   (CUDA's CTC backward is not bit-deterministic: the largest weight difference is reported);
2. NCCL: a one-process NCCL group, the loop's collectives (``all_reduce_sum``,
   ``all_gather``) and DDP wrapping with tensors on the GPU;
3. export of a CUDA model to ONNX: onnxruntime (CPU) against the model on the GPU;
4. training-step throughput of the default-sized conformer, GPU vs this machine's CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import tempfile
import time
from pathlib import Path

import torch

from speechtl.data.dataset import Utterance, collate
from speechtl.data.sampler import IndexBatchLoader
from speechtl.tasks.speech.model import build_model
from speechtl.models.config import ModelConfig
from speechtl.tasks.speech.recipe import Recipe
from speechtl.training.config import TrainConfig
from speechtl.text.inventory import Inventory
from speechtl.tasks.speech.objective import CTCTask
from speechtl.training.distributed import DistInfo, all_gather, all_reduce_sum
from speechtl.training.loop import Trainer
from speechtl.training.objective import Objective

PHONES = list("abdefgiklmnoprstuvz")


class FrameBudget:
    """Index batches of at most ``max_frames`` padded frames, in order, from any batch on (resume)."""

    def __init__(self, lengths: list[int], max_frames: int) -> None:
        self.batches, current = [], []
        for i, n in enumerate(lengths):
            if current and max(lengths[j] for j in current + [i]) * (len(current) + 1) > max_frames:
                self.batches.append(current)
                current = []
            current.append(i)
        self.batches.append(current)
        self.start = 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        self.start = start

    def __iter__(self):
        return iter(self.batches[self.start:])


def dataset(n: int = 300, seed: int = 0) -> tuple[list, dict]:
    g = torch.Generator().manual_seed(seed)
    inventories = {lang: Inventory(PHONES) for lang in ("en", "de", "es")}
    utts = []
    for i in range(n):
        frames = int(torch.randint(40, 270, (1,), generator=g))
        phones = [PHONES[int(j)] for j in torch.randint(0, len(PHONES), (frames // 12,), generator=g)]
        utts.append(Utterance(f"u{i}", ("en", "de", "es")[i % 3], "s", torch.randn(frames, 80, generator=g),
                              " ".join(phones), "", f"u{i}"))
    return [(u, torch.tensor(inventories[u.language].encode(u.phonemes))) for u in utts], inventories


MODEL = ModelConfig(encoder="conformer", dim=144, layers=4, dropout=0.1)


def trainer(exp: Path, steps: int, device: str, dist: DistInfo | None = None, max_frames: int = 4000) -> Trainer:
    torch.manual_seed(0)
    data, inventories = dataset()
    recipe = Recipe(model=MODEL)
    model = build_model(recipe, inventories)
    cfg = TrainConfig(max_steps=steps, warmup_steps=50, checkpoint_every=10, log_every=5)
    dist = dist or DistInfo(device=torch.device(device))
    loader = IndexBatchLoader(data, FrameBudget([u.feats.shape[0] for u, _ in data], max_frames), collate)
    return Trainer(Objective(CTCTask(model)), loader, cfg, exp, model_meta=dict, frames_per_second=100, dist=dist,
                   progress=False)


def check_resume(tmp: Path, device: str) -> dict:
    straight = trainer(tmp / "a", 20, device)
    straight.fit()
    first = trainer(tmp / "b", 10, device)
    first.fit()
    resumed = trainer(tmp / "b", 20, device)
    assert resumed.resume() and resumed.step == 10
    resumed.fit()
    diff = max(float((a - b).abs().max()) for a, b in zip(straight.objective.model.state_dict().values(),
                                                          resumed.objective.model.state_dict().values()))
    return {"resumed_at_step": 10, "max_weight_difference_vs_straight": diff,
            "weights_finite": all(torch.isfinite(p).all().item() for p in resumed.objective.parameters())}


def check_collectives(tmp: Path, device: str) -> dict:
    import torch.distributed as dist

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    if device == "cuda":
        torch.cuda.set_device(0)
    dist.init_process_group("nccl" if device == "cuda" else "gloo", rank=0, world_size=1)
    try:
        # claim 2 ranks so the loop takes its distributed branches; the group has one
        info = DistInfo(rank=0, world_size=2, local_rank=0, device=torch.device(device, 0))
        sums = all_reduce_sum([1.5, 2.0], info)
        gathered = all_gather({"a": 1}, info)
        t = trainer(tmp / "nccl", 6, device, dist=info)
        t.fit()
        wrapped = type(t._forward).__name__
    finally:
        dist.destroy_process_group()
    return {"backend": "nccl" if device == "cuda" else "gloo", "all_reduce_sum": sums, "all_gather": gathered,
            "wrapper": wrapped,
            "checkpoint_rng_ranks": len(json.loads((tmp / "nccl/checkpoints/step-0000006/trainer.json").read_text())
                                        ["state"].get("rng_ranks", []))}


def check_export(tmp: Path, device: str) -> dict:
    import numpy as np
    import onnxruntime as ort

    from speechtl.models.export import LogProbModel, export_model

    model = trainer(tmp / "e", 0, device).objective.model.to(device).eval()
    export_model(model, tmp / "m.onnx")
    session = ort.InferenceSession(str(tmp / "m.onnx"), providers=["CPUExecutionProvider"])
    worst = 0.0
    for lengths in ([50], [33, 200, 7], [1000, 401]):
        feats, lens = torch.randn(len(lengths), max(lengths), 80), torch.tensor(lengths)
        with torch.no_grad():
            want = LogProbModel(model, model.languages)(feats.to(device), lens.to(device))
        got = session.run(None, {"feats": feats.numpy(), "lengths": lens.numpy()})
        assert np.array_equal(got[-1], want[-1].cpu().numpy())
        for w, g in zip(want[:-1], got[:-1]):
            for b, n in enumerate(want[-1].tolist()):
                worst = max(worst, float(np.abs(w[b, :n].cpu().numpy() - g[b, :n]).max()))
    return {"max_abs_logprob_difference_onnxruntime_cpu_vs_model": worst}


def throughput(tmp: Path, device: str, steps: int = 30) -> dict:
    t = trainer(tmp / f"speed-{device}", steps, device, max_frames=20000)
    t.cfg.log_every = steps
    t.cfg.checkpoint_every = 10**9
    start = time.perf_counter()
    record = t.fit()
    if device == "cuda":
        torch.cuda.synchronize()
    return {"audio_sec_per_sec": round(record["audio_sec_per_sec"], 1),
            "wall_s": round(time.perf_counter() - start, 2), "steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/gpu_check.json")
    parser.add_argument("--quick", action="store_true", help="a tiny model (a dry run of the script on CPU)")
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.quick:
        MODEL.dim, MODEL.layers, MODEL.ff_dim = 32, 1, 64
    result = {"command": "python -m benchmarks.gpu_check", "device": device,
              "gpu": torch.cuda.get_device_name(0) if device == "cuda" else None,
              "torch": torch.__version__, "cpu_count": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        for name, check in [("resume", check_resume), ("collectives", check_collectives), ("export", check_export)]:
            try:
                result[name] = {"ok": True, **check(Path(tmp), device)}
            except Exception as err:  # report every check, even after one fails
                result[name] = {"ok": False, "error": f"{type(err).__name__}: {err}"}
            print(name, json.dumps(result[name]), flush=True)
        result["throughput_conformer"] = {"model": f"{MODEL.dim}x{MODEL.layers}",
                                          **{dev: throughput(Path(tmp), dev) for dev in dict.fromkeys((device, "cpu"))}}
    print(json.dumps(result, indent=1))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
