"""Shared helpers of the benchmark scripts: run ``speechtl``, read its log, describe the machine."""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

from speechtl.workflows.study_stats import spread

REPO = Path(__file__).resolve().parent.parent


def speechtl_cmd(*args: str, nproc: int = 1) -> list[str]:
    """``python -m speechtl ARGS``, under ``torchrun --standalone`` when ``nproc`` > 1."""
    launcher = ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"] if nproc > 1 else []
    return [sys.executable, *launcher, "-m", "speechtl", *args]


def env(threads: int) -> dict:
    """The environment of a run: the repository importable, ``threads`` OpenMP threads per process."""
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": str(threads)}


def timed(cmd: list[str], threads: int, timeout: float = 3600) -> float:
    """Run ``cmd`` to completion; its wall-clock seconds."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env(threads), cwd=REPO, capture_output=True, text=True, timeout=timeout)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    return time.perf_counter() - start


def read_log(exp: Path) -> list[dict]:
    return [json.loads(line) for line in (exp / "train_log.jsonl").read_text().splitlines()]


def machine() -> dict:
    """What the numbers were measured on (load average: other work running at the same time)."""
    return {
        "date": datetime.date.today().isoformat(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "python": platform.python_version(),
    }


def write_result(name: str, result: dict) -> Path:
    out = REPO / "benchmarks" / "results" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return out


def summary(values: list[float]) -> dict:
    """The studies' spread of ``values`` (mean, sample std) rounded to 2 places, with the runs (std 0.0 for one)."""
    s = spread(values)
    return {"mean": round(s["mean"], 2), "std": round(s["std"], 2) if s["std"] is not None else 0.0, "runs": values}
