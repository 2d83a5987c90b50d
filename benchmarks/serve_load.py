"""A bounded load test of ``speechtl serve`` on loopback (issue 17).

16 client threads post 1-5 s recordings (FSDD digits joined, 8 kHz WAV) to
``/v1/transcribe`` as fast as answers come back, for ``--seconds``, in ``--rounds``
rounds; the server runs in its own process (2 torch threads, ``--max-concurrent 2
--max-queue 16``). Records requests per second, latency percentiles, errors by status,
and the server's RSS before the load and 5 s after each round (a leak would grow from
round to round). Writes ``benchmarks/results/serve_load.json``.

    python -m benchmarks.serve_load --seconds 30 --rounds 2
"""

from __future__ import annotations

import argparse
import os
import threading
import time

from benchmarks.common import machine
from benchmarks.serve_common import DIGITS, percentile, phrases, rss_mb, save, start_server, wav_bytes


def main() -> None:
    import httpx

    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    bodies = [(wav_bytes(w, 8000), len(w) / 8000) for w, _ in phrases(64, 1.0, 5.0)]
    proc, port = start_server("--max-concurrent", "2", "--max-queue", "16", "--request-timeout", "60")
    url = f"http://127.0.0.1:{port}/v1/transcribe?words={','.join(DIGITS)}"
    try:
        with httpx.Client() as warm:  # the first request builds the decoder
            warm.post(url, content=bodies[0][0], headers={"content-type": "audio/wav"}, timeout=60)
        rss_before = rss_mb(proc.pid)
        load = os.getloadavg()
        latencies, statuses, audio, rss_rounds = [], {}, [0.0], []
        lock = threading.Lock()
        wall = 0.0
        for _ in range(args.rounds):
            stop = time.monotonic() + args.seconds

            def client(k: int) -> None:
                with httpx.Client(timeout=120) as c:
                    i = k
                    while time.monotonic() < stop:
                        body, seconds = bodies[i % len(bodies)]
                        i += args.clients
                        start = time.perf_counter()
                        try:
                            code = c.post(url, content=body, headers={"content-type": "audio/wav"}).status_code
                        except httpx.HTTPError as err:
                            code = type(err).__name__
                        with lock:
                            statuses[str(code)] = statuses.get(str(code), 0) + 1
                            if code == 200:
                                latencies.append(time.perf_counter() - start)
                                audio[0] += seconds

            started = time.perf_counter()
            threads = [threading.Thread(target=client, args=(k,)) for k in range(args.clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall += time.perf_counter() - started
            time.sleep(5)
            rss_rounds.append(round(rss_mb(proc.pid), 1))
    finally:
        proc.terminate()
        proc.wait(10)
    ok = statuses.get("200", 0)
    result = {"machine": machine(),
              "command": f"python -m benchmarks.serve_load --seconds {args.seconds:g} --rounds {args.rounds}",
              "model": "exp/fsdd-digits-tdnn/model (benchmarks/recipes/fsdd-digits-tdnn.yaml), 10 digit words",
              "server": "speechtl serve --threads 2 --max-concurrent 2 --max-queue 16",
              "clients": args.clients, "seconds": round(wall, 1), "requests": sum(statuses.values()),
              "statuses": statuses, "errors": sum(v for k, v in statuses.items() if k != "200"),
              "requests_per_second": round(ok / wall, 2), "audio_seconds_per_second": round(audio[0] / wall, 2),
              "latency_p50_s": round(percentile(latencies, 50), 3),
              "latency_p95_s": round(percentile(latencies, 95), 3),
              "latency_max_s": round(max(latencies), 3) if latencies else None,
              "rounds": args.rounds, "rss_mb_before": round(rss_before, 1), "rss_mb_after_each_round": rss_rounds,
}
    save("serve_load", result, load)


if __name__ == "__main__":
    main()
