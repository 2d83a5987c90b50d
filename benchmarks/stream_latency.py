"""Streaming latency of ``WS /v1/stream`` on loopback, audio sent in real time (issue 17).

Each of ``--files`` recordings (FSDD digits joined with pauses, 3-6 s, resampled to 16 kHz)
is sent as 100 ms PCM messages at the pace of real time; a receiver thread notes when
each partial and the final arrive. Records the gaps between partials, how far the
decoded audio trails the audio sent, the final's delay after the end of the audio, and
the word error rate of the streamed finals against ``POST /v1/transcribe`` of the same
audio. Writes ``benchmarks/results/stream_latency.json``.

    python -m benchmarks.stream_latency --files 8
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time

import numpy as np
import torch

from benchmarks.common import machine
from benchmarks.serve_common import DIGITS, percentile, phrases, save, start_server, wav_bytes


def stream_one(port: int, pcm: bytes, chunk: int) -> dict:
    from websockets.sync.client import connect

    events: list[tuple[float, dict]] = []
    with connect(f"ws://127.0.0.1:{port}/v1/stream?words={','.join(DIGITS)}") as ws:
        assert json.loads(ws.recv())["type"] == "ready"

        def receive() -> None:
            for message in ws:
                events.append((time.perf_counter(), json.loads(message)))
                if events[-1][1]["type"] in ("final", "error"):
                    return

        receiver = threading.Thread(target=receive)
        receiver.start()
        start = time.perf_counter()
        for k, a in enumerate(range(0, len(pcm), chunk)):
            time.sleep(max(0.0, start + k * chunk / 32000 - time.perf_counter()))  # real time: 32,000 bytes/s
            ws.send(pcm[a: a + chunk])
        end_sent = time.perf_counter()
        ws.send(json.dumps({"type": "end"}))
        receiver.join(60)
    partial_times = [start] + [t for t, m in events if m["type"] == "partial"]
    final_time, final = next((t, m) for t, m in events if m["type"] in ("final", "error"))
    lags = [(t - start) - m["decoded_seconds"] for t, m in events if m["type"] == "partial"]
    return {"gaps": list(np.diff(partial_times)), "final_delay": final_time - end_sent, "lags": lags,
            "final": final, "partials": len(partial_times) - 1}


def main() -> None:
    import httpx
    import jiwer

    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=8)
    args = parser.parse_args()
    from speechtl.data.audio import resample

    audio = [resample(torch.from_numpy(w), 8000, 16000).numpy() for w, _ in phrases(args.files, 3.0, 6.0, seed=1)]
    proc, port = start_server("--max-concurrent", "2", threads=2)
    load = os.getloadavg()
    try:
        runs, offline = [], []
        for wave in audio:
            pcm = (np.clip(wave, -1, 1) * 32767).astype("<i2").tobytes()
            runs.append(stream_one(port, pcm, 3200))
            body = wav_bytes(np.frombuffer(pcm, "<i2").astype(np.float32) / 32768, 16000)
            offline.append(httpx.post(f"http://127.0.0.1:{port}/v1/transcribe?words={','.join(DIGITS)}",
                                      content=body, headers={"content-type": "audio/wav"}, timeout=60).json())
    finally:
        proc.terminate()
        proc.wait(10)
    gaps = [g for r in runs for g in r["gaps"]]
    delays = [r["final_delay"] for r in runs]
    lags = [x for r in runs for x in r["lags"]]
    streamed = [r["final"].get("text", "") for r in runs]
    reference = [o["text"] for o in offline]
    result = {"machine": machine(), "command": f"python -m benchmarks.stream_latency --files {args.files}",
              "model": "exp/fsdd-digits-tdnn/model (benchmarks/recipes/fsdd-digits-tdnn.yaml), 10 digit words",
              "server": "speechtl serve --threads 2 (partial every 0.25 s of audio)",
              "files": len(runs), "audio_seconds": round(sum(len(w) for w in audio) / 16000, 1),
              "message_ms": 100, "partials": sum(r["partials"] for r in runs),
              "partial_gap_p50_s": round(percentile(gaps, 50), 3), "partial_gap_p95_s": round(percentile(gaps, 95), 3),
              "partial_gap_max_s": round(max(gaps), 3),
              "decoded_lag_p50_s": round(percentile(lags, 50), 3), "decoded_lag_p95_s": round(percentile(lags, 95), 3),
              "final_delay_p50_s": round(percentile(delays, 50), 3), "final_delay_max_s": round(max(delays), 3),
              "finals_equal_offline": sum(s == r for s, r in zip(streamed, reference)),
              "wer_stream_vs_offline": round(jiwer.wer(reference, streamed), 4) if any(reference) else None,
}
    save("stream_latency", result, load)


if __name__ == "__main__":
    main()
