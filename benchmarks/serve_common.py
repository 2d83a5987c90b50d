"""Shared by the serving benchmarks: the benchmark model, FSDD test audio, a server subprocess, RSS."""

from __future__ import annotations

import io
import json
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from benchmarks.common import REPO, env, write_result

FSDD = REPO.parent / "shared" / "data" / "fsdd" / "recordings"
RECIPE = REPO / "benchmarks" / "recipes" / "fsdd-digits-tdnn.yaml"
MODEL = REPO / "exp" / "fsdd-digits-tdnn" / "model"
DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def benchmark_model() -> Path:
    """The small FSDD TDNN the serving benchmarks use (trained by its recipe when missing: about a minute)."""
    if not MODEL.with_suffix(".safetensors").is_file():
        subprocess.run([sys.executable, "-m", "speechtl", "train", str(RECIPE), "--set", "train.num_threads=1"],
                       env=env(1), cwd=REPO, check=True)
    return MODEL


def fsdd_files() -> list[Path]:
    return sorted(FSDD.glob("*.wav"))


def phrases(count: int, low: float, high: float, seed: int = 0) -> list[tuple[np.ndarray, list[str]]]:
    """``count`` 8 kHz recordings of FSDD digits joined with 0.2 s pauses, each ``low``-``high`` seconds long."""
    rng = random.Random(seed)
    files = fsdd_files()
    out = []
    for _ in range(count):
        target, parts, words, total = rng.uniform(low, high), [], [], 0.0
        while total < target:
            f = rng.choice(files)
            wave, rate = sf.read(f, dtype="float32")
            parts += [wave, np.zeros(1600, np.float32)]
            words.append(DIGITS[int(f.name[0])])
            total += (len(wave) + 1600) / rate
        out.append((np.concatenate(parts), words))
    return out


def wav_bytes(wave: np.ndarray, rate: int) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, wave, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(*args: str, threads: int = 2) -> tuple[subprocess.Popen, int]:
    """``speechtl serve --model MODEL ARGS`` on a free loopback port, once it answers ``/health``."""
    import httpx

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "speechtl", "serve", "--model", f"digits={benchmark_model()}",
                             "--port", str(port), "--threads", str(threads), *args],
                            env=env(threads), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180  # models load in the server and in each decoding process
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc, port
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"the server did not start: {proc.stderr.read().decode()[-2000:]}")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def save(name: str, result: dict, load_at_start: tuple) -> None:
    """Add the load averages at start and end, print the result and write ``benchmarks/results/NAME.json``."""
    result["load_average_at_start"] = [round(x, 2) for x in load_at_start]
    result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, indent=2))
    write_result(name, result)
