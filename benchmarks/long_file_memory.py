"""Peak memory of decoding one long recording: 3 and 30 minutes, the same model (flat means streamed in pieces).

The recordings are eSpeak NG sentences with pauses between them, repeated to the
length; ``speechtl decode`` reads and decodes them piece by piece
(``decode.chunk_seconds``). Peak RSS is GNU time's maximum resident set size.

    python -m benchmarks.long_file_memory --model exp/multilingual-synth/model [--minutes 3 30]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time

import numpy as np

from benchmarks.common import REPO, env, machine, write_result

from speechtl.data.audio import resample, save_audio
from speechtl.data.espeak import Espeak


def make_recording(path, minutes: float, rate: int = 16000) -> None:
    engine = Espeak.instance()
    speech = engine.synthesize("the quick brown fox jumps over the lazy dog", "en-us", 160, 50)
    import torch

    piece = resample(torch.from_numpy(speech.astype(np.float32) / 32768.0), engine.sample_rate, rate).numpy()
    unit = np.concatenate([piece, np.zeros(rate // 2, np.float32)])
    reps = int(np.ceil(minutes * 60 * rate / unit.size))
    save_audio(path, np.tile(unit, reps)[: int(minutes * 60 * rate)], rate)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--minutes", nargs="+", type=float, default=[3, 30])
    ap.add_argument("--out", default="long_file_memory")
    args = ap.parse_args()
    result = {"command": "python -m benchmarks.long_file_memory " + " ".join(sys.argv[1:]), "machine": machine(),
              "runs": []}
    work = REPO / "exp" / "long-file"
    work.mkdir(parents=True, exist_ok=True)
    for minutes in args.minutes:
        path = work / f"{minutes:g}min.wav"
        make_recording(path, minutes)
        start = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-f", "maxrss_kb=%M", sys.executable, "-m", "speechtl", "decode",
                               "--model", args.model, "--lang", "en", "--words", str(REPO / "benchmarks" / "words-en.txt"),
                               "--threads", "1", str(path)], cwd=REPO, env=env(1), capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(proc.stderr[-3000:])
        rss = int(re.findall(r"maxrss_kb=(\d+)", proc.stderr)[-1]) / 1024
        words = len(proc.stdout.split()) - 1
        result["runs"].append({"minutes": minutes, "peak_rss_mb": round(rss), "wall_seconds":
                               round(time.perf_counter() - start, 1), "output_tokens": words})
        print(result["runs"][-1], flush=True)
    print(f"wrote {write_result(args.out, result)}")


if __name__ == "__main__":
    main()
