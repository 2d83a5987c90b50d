"""CPU cost of a base-size CTC phoneme checkpoint: real-time factor in float32 and int8, memory against file length.

A random-initialised ``Wav2Vec2ForCTC`` of the base architecture (Hugging Face's default
configuration: 12 layers of 768, about 95M parameters; an eSpeak-IPA vocabulary) is saved as a
user would bring it (``save_pretrained``, ``vocab.json``, tokenizer and preprocessor files) and
read by ``Recognizer.load(DIR)``. Random weights cost what trained ones cost. Real-time factor:
seconds of compute per second of audio for greedy phonemes of FSDD recordings joined into one
file, one thread, the best of ``--reps`` runs after a warm-up; int8 is torch's dynamic
quantisation of every ``nn.Linear`` (``speechtl.models.quantize.quantize_int8``, as ``--int8`` does; the
convolutional feature extractor stays float32). Memory: in a fresh process per file of each
``--minutes``, the peak RSS while loading, then (the high-water mark reset) while decoding the
file in ``decode.chunk_seconds`` pieces, which should not grow with its length.
Needs ``transformers`` (the ``dev`` extra) to write the checkpoint; nothing is downloaded.

    OMP_NUM_THREADS=1 python -m benchmarks.ssl_ctc_cost [--seconds 20] [--minutes 1 4]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from benchmarks.common import REPO, env, machine, write_result

FSDD = REPO / ".." / "shared" / "data" / "fsdd" / "recordings"
VOCAB = ["<pad>", "<s>", "</s>", "<unk>"] + sorted(
    "a b d e f h i j k l m n o p r s t u v w x z æ ð ŋ ɐ ɑː ɔː ə ɚ ɛ ɜː ɡ ɪ ɹ ɾ ʃ ʊ ʌ ʒ θ aɪ aʊ eɪ oʊ ɔɪ iː uː tʃ dʒ "
    "ɲ β ɣ ʎ ç ø y œ ɨ ʉ ɯ ɤ ɵ ɒ ʁ ʀ χ ħ ʕ ʔ ɓ ɗ ɠ ts dz ɕ ʑ ʂ ʐ ɬ ɮ ɭ ɳ ɖ ʈ".split())


def write_checkpoint(folder: Path) -> None:
    import transformers

    torch.manual_seed(0)
    config = transformers.Wav2Vec2Config(vocab_size=len(VOCAB), pad_token_id=0)  # the base architecture
    transformers.Wav2Vec2ForCTC(config).eval().save_pretrained(folder)
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(VOCAB)}, ensure_ascii=False))
    (folder / "tokenizer_config.json").write_text(json.dumps({"pad_token": "<pad>", "word_delimiter_token": None}))
    (folder / "preprocessor_config.json").write_text(json.dumps({"sampling_rate": 16000, "do_normalize": True}))


def write_speech(path: Path, seconds: float) -> None:
    """FSDD recordings (8 kHz, resampled to 16 kHz) joined with short pauses up to ``seconds``."""
    from speechtl.data.audio import load_audio

    pieces, total = [], 0
    for f in sorted(FSDD.glob("*.wav")):
        wave = load_audio(f, 16000).numpy()
        pieces += [wave, np.zeros(3200, np.float32)]
        total += wave.size + 3200
        if total >= seconds * 16000:
            break
    sf.write(path, np.concatenate(pieces)[: int(seconds * 16000)], 16000, subtype="PCM_16")


def recogniser(folder: Path, int8: bool):
    from speechtl.decoding.recognizer import Recognizer
    from speechtl.models.quantize import quantize_int8

    rec = Recognizer.load(folder)
    if int8:
        rec = Recognizer(quantize_int8(rec.model), rec.config)
    return rec


def real_time_factor(rec, path: Path, reps: int) -> float:
    seconds = sf.info(path).duration
    rec.transcribe(path, greedy=True)  # warm-up
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        rec.transcribe(path, greedy=True)
        best = min(best, time.perf_counter() - start)
    return best / seconds


def peak_rss_mb() -> int:
    """The process's resident-set high-water mark (VmHWM)."""
    status = Path("/proc/self/status").read_text()
    return round(int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))) / 1024)


def child(folder: str, audio: str, int8: bool) -> None:
    """One fresh process: load the model, reset the RSS high-water mark, decode one file; both peaks."""
    torch.set_num_threads(1)
    rec = recogniser(Path(folder), int8)
    gc.collect()
    load_peak = peak_rss_mb()
    Path("/proc/self/clear_refs").write_text("5")  # Linux: reset VmHWM to the current RSS
    start = time.perf_counter()
    out = rec.transcribe(audio, greedy=True)
    print(json.dumps({"peak_rss_mb_loading": load_peak, "peak_rss_mb_decoding": peak_rss_mb(),
                      "wall_seconds": round(time.perf_counter() - start, 1), "phonemes": len(out.phonemes.split())}))


def memory_runs(folder: Path, audio: Path, minutes: float, seconds: float, tmp: Path) -> list[dict]:
    """Both modes on ``audio`` repeated to ``minutes``, each in a fresh process."""
    long = tmp / f"{minutes:g}min.wav"
    data = sf.read(audio, dtype="float32")[0]
    sf.write(long, np.tile(data, int(np.ceil(minutes * 60 / seconds)))[: int(minutes * 60 * 16000)], 16000,
             subtype="PCM_16")
    runs = []
    for mode in ("float32", "int8"):
        cmd = [sys.executable, __file__, "--child", str(folder), str(long)] + (["--int8"] if mode == "int8" else [])
        proc = subprocess.run(cmd, env=env(1), cwd=REPO, capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(proc.stderr[-3000:])
        runs.append({"minutes": minutes, "mode": mode, **json.loads(proc.stdout.splitlines()[-1])})
        print(runs[-1], flush=True)
    return runs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="audio for the real-time factor")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--minutes", nargs="+", type=float, default=[1.0, 4.0], help="file lengths for memory")
    ap.add_argument("--child", nargs=2, metavar=("CHECKPOINT", "AUDIO"), help=argparse.SUPPRESS)
    ap.add_argument("--int8", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--memory-only", action="store_true", help="measure memory only; keep the last run's RTF")
    args = ap.parse_args()
    if args.child:
        return child(*args.child, args.int8)
    torch.set_num_threads(1)
    result = {"command": "python -m benchmarks.ssl_ctc_cost " + " ".join(sys.argv[1:]), "machine": machine(),
              "threads": 1, "rtf": {}, "memory": []}
    if args.memory_only:  # keep the real-time factors of the last full run
        last = json.loads((REPO / "benchmarks" / "results" / "ssl_ctc_cost.json").read_text())
        result = {**last, "memory_command": result["command"], "memory_machine": result["machine"], "memory": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder, audio = Path(tmp) / "ckpt", Path(tmp) / "speech.wav"
        write_checkpoint(folder)
        write_speech(audio, args.seconds)
        for minutes in args.minutes:
            result["memory"] += memory_runs(folder, audio, minutes, args.seconds, Path(tmp))
        if args.memory_only:
            print(f"wrote {write_result('ssl_ctc_cost', result)}")
            return
        fp32, int8 = recogniser(folder, False), recogniser(folder, True)
        result["parameters_m"] = round(fp32.model.num_parameters() / 1e6, 1)
        result["seconds_of_audio"] = args.seconds
        for name, rec in (("float32", fp32), ("int8", int8)):
            result["rtf"][name] = round(real_time_factor(rec, audio, args.reps), 4)
            print(name, result["rtf"][name], flush=True)
        wave = fp32.read_samples(audio)[1]
        a, b = fp32._log_probs(wave, "mul"), int8._log_probs(wave, "mul")
        result["int8_vs_float32"] = {"max_abs_log_prob_diff": round(float((a - b).abs().max()), 4),
                                     "frame_argmax_agreement": round(float((a.argmax(-1) == b.argmax(-1)).float()
                                                                           .mean()), 4)}
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(f"wrote {write_result('ssl_ctc_cost', result)}")


if __name__ == "__main__":
    main()
