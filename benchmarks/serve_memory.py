"""Peak memory of ``speechtl serve`` (default flags) for the largest uploads it accepts.

Usage: ``python -m benchmarks.serve_memory [--model PATH]`` (default: the FSDD benchmark model).
Starts the server with default flags, then for each upload resets the peak RSS (VmHWM, by
writing 5 to ``/proc/PID/clear_refs``) of the server process and of each decoding process,
posts the upload, and reads their VmHWM (``/proc/PID/status``). The uploads are the worst the
default limits accept (``--max-upload-mb 20``, ``--max-audio-seconds 300``): 300 s of 16-bit WAV
at 32 kHz (19.2 MB) and 300 s of FLAC at 192 kHz (the highest accepted rate: 57.6 million samples;
a quiet tone, so that it compresses under the limit). Many channels cost no more: they are
downmixed block by block as they are read. Writes ``benchmarks/results/serve_memory.json``.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from benchmarks.common import machine
from benchmarks.serve_common import benchmark_model, save, start_server

LIMIT_MB = 20


def processes(pid: int) -> list[int]:
    """The server, then its children (the decoding processes)."""
    return [pid] + [int(c) for task in Path(f"/proc/{pid}/task").iterdir()
                    for c in (task / "children").read_text().split()]


def status_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM back to the current RSS (Linux 4.0+)


def tone(seconds: float, rate: int, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate), dtype=np.float64) / rate
    return (level * np.sin(2 * np.pi * 300 * t) * np.sin(2 * np.pi * 2 * t)).astype(np.float32)


def encoded(wave: np.ndarray, rate: int, fmt: str) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, wave, rate, format=fmt, subtype="PCM_16")
    return buffer.getvalue()


def uploads() -> list[tuple[str, bytes]]:
    return [("300 s WAV, 32 kHz mono", encoded(tone(300, 32000), 32000, "WAV")),
            ("300 s FLAC, 192 kHz mono", encoded(tone(300, 192000, 0.01), 192000, "FLAC"))]


def main() -> None:
    import httpx

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="the model to serve (default: the FSDD benchmark model)")
    args = parser.parse_args()
    if args.model:
        from benchmarks import serve_common
        serve_common.benchmark_model = lambda: Path(args.model)  # noqa: E731
    load = os.getloadavg()
    proc, port = start_server(threads=1)
    rows = []
    try:
        pids = processes(proc.pid)
        start = {str(p): round(status_mb(p, "VmRSS"), 1) for p in pids}
        for name, data in uploads():
            assert len(data) <= LIMIT_MB * 1_000_000, (name, len(data))
            for p in pids:
                reset_peak(p)
            started = time.perf_counter()
            answer = httpx.post(f"http://127.0.0.1:{port}/v1/transcribe", content=data, timeout=300,
                                headers={"Content-Type": "audio/wav" if "WAV" in name else "audio/flac"})
            seconds = time.perf_counter() - started
            peaks = [round(status_mb(p, "VmHWM"), 1) for p in pids]
            rows.append({"upload": name, "bytes": len(data), "status": answer.status_code,
                         "seconds": round(seconds, 2), "server_peak_mb": peaks[0], "worker_peaks_mb": peaks[1:],
                         "server_rss_after_mb": round(status_mb(pids[0], "VmRSS"), 1)})
            print(rows[-1], file=sys.stderr, flush=True)
    finally:
        proc.terminate()
        proc.wait(30)
    save("serve_memory", {"command": "python -m benchmarks.serve_memory" + (f" --model {args.model}" if args.model
                                                                             else ""),
                          "server": "speechtl serve --threads 1 (every limit at its default)",
                          "model": str(args.model or benchmark_model()), "machine": machine(),
                          "rss_mb_at_start": start, "uploads": rows}, load)


if __name__ == "__main__":
    main()
