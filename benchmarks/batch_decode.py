"""Batch decoding speed on the 3,000 FSDD recordings with the 10 digit words (issue 17).

Runs ``speechtl decode`` on ``shared/data/fsdd/recordings`` (JSONL output, word times
included) with one thread and 1 worker, then 2 workers of one thread each, and once in
process to separate decoding from start-up. Writes ``benchmarks/results/batch_decode.json``.

    python -m benchmarks.batch_decode
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

from benchmarks.common import REPO, env, machine, write_result
from benchmarks.serve_common import DIGITS, FSDD, benchmark_model


def cli_run(model, words_file, workers: int) -> dict:
    """One ``speechtl decode`` over the folder: wall seconds (start-up included) and word accuracy."""
    with tempfile.NamedTemporaryFile("w+", suffix=".jsonl") as out:
        cmd = [sys.executable, "-m", "speechtl", "decode", "--model", str(model), "--words", words_file,
               "--format", "jsonl", "--threads", "1", "--workers", str(workers), "-o", out.name, str(FSDD)]
        load = os.getloadavg()
        start = time.perf_counter()
        proc = subprocess.run(cmd, env=env(1), cwd=REPO, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if proc.returncode not in (0, 2):
            raise RuntimeError(proc.stderr[-2000:])
        records = [json.loads(line) for line in open(out.name, encoding="utf-8")]
    audio = sum(r["duration"] for r in records)
    correct = sum(r["text"] == DIGITS[int(r["id"][0])] for r in records)
    timed = sum(bool(r["words"]) and all("start" in w for w in r["words"]) for r in records)
    return {"workers": workers, "threads_per_worker": 1, "files": len(records), "audio_seconds": round(audio, 1),
            "wall_seconds": round(wall, 2), "rtf": round(wall / audio, 5),
            "audio_seconds_per_second": round(audio / wall, 1), "word_accuracy": round(correct / len(records), 4),
            "files_with_word_times": timed, "load_average_at_start": [round(x, 2) for x in load]}


def in_process() -> dict:
    """Decoding alone (model loaded, decoder built), one thread: wall and CPU seconds."""
    import torch
    from speechtl.data.inputs import audio_inputs
    from speechtl.decoding.batch import decode_files
    from speechtl.decoding.recognizer import Recognizer

    torch.set_num_threads(1)
    rec = Recognizer.load(benchmark_model())
    inputs = audio_inputs([str(FSDD)])
    list(decode_files(rec, inputs[:200], "en", words=DIGITS))  # warm-up
    load = os.getloadavg()
    wall, cpu = time.perf_counter(), time.process_time()
    results = list(decode_files(rec, inputs, "en", words=DIGITS))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    audio = sum(r.duration for _, r in results)
    return {"files": len(results), "audio_seconds": round(audio, 1), "wall_seconds": round(wall, 2),
            "cpu_seconds": round(cpu, 2), "rtf_wall": round(wall / audio, 5), "rtf_cpu": round(cpu / audio, 5),
            "load_average_at_start": [round(x, 2) for x in load]}


def main() -> None:
    model = benchmark_model()
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as words:
        words.write("\n".join(DIGITS) + "\n")
    result = {"machine": machine(), "model": str(model.relative_to(REPO)),
              "model_recipe": "benchmarks/recipes/fsdd-digits-tdnn.yaml",
              "command": "python -m benchmarks.batch_decode",
              "in_process_1_thread": in_process(),
              "cli": [cli_run(model, words.name, 1), cli_run(model, words.name, 2)]}
    os.unlink(words.name)
    print(json.dumps(result, indent=2))
    write_result("batch_decode", result)


if __name__ == "__main__":
    main()
