"""Voice activity detection against the quietest-10-ms cut on long recordings with known word times.

Each recording (2-5 minutes): utterances of 2-6 words of the model's training vocabulary, each
word spoken alone by eSpeak NG with its own leading and trailing silence trimmed (so its start
and end are known to the sample), joined by gaps of 40-150 ms; utterances separated by pauses
of 0.3-3 s; faint noise throughout (about -50 dBFS). ``Recognizer.transcribe`` decodes each
recording whole with ``decode.vad`` on (Silero VAD's speech segments, packed into pieces of at
most ``decode.chunk_seconds``) and off (pieces of ``decode.chunk_seconds`` cut at the quietest
10 ms of their last 5 s), ``--repeats`` times each in turn (A B A B ..., the median CPU time
kept), in one process on one thread. Word-boundary error: the mean absolute difference of start and
end times of the words the alignment matches (jiwer); WER over all recordings; RTF: decoding
seconds per second of audio (CPU time of the one thread: the machine is shared), and VAD's over the fixed cut's.

    speechtl run recipes/tiny.yaml --set 'data.languages=[en]' --set train.max_steps=600 \\
        --set data.root=/tmp/vadbench/data --set train.exp_dir=/tmp/vadbench/exp-tiny-en
    python -m benchmarks.vad --model /tmp/vadbench/exp-tiny-en/model --data-root /tmp/vadbench/data
    python -m scripts.make_results   # docs/results/vad.md from benchmarks/results/vad.json
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time

import numpy as np

from benchmarks.common import REPO, machine, write_result

RATE = 16000
NOISE = 0.003  # standard deviation of the background noise (about -50 dBFS)


def spoken_word(word: str, rate: int, pitch: int):
    """``(samples,)`` at 16 kHz of one word, eSpeak's silence before and after it trimmed."""
    import torch

    from speechtl.data.audio import resample
    from speechtl.data.espeak import Espeak

    engine = Espeak.instance()
    samples = engine.synthesize(word, "en-us", rate, pitch).astype(np.float32) / 32768
    wave = resample(torch.from_numpy(samples), engine.sample_rate, RATE).numpy()
    loud = np.flatnonzero(np.abs(wave) > 0.02)
    return wave[loud[0]: loud[-1] + 1] if loud.size else wave[:0]


def make_recording(vocabulary: list[str], seconds: float, seed: int
                   ) -> tuple[np.ndarray, list[tuple[str, float, float]]]:
    """``(samples at 16 kHz, [(word, start, end)])``: utterances with pauses, about ``seconds`` long."""
    rng = np.random.default_rng(seed)
    rate, pitch = int(rng.integers(150, 190)), int(rng.integers(35, 70))
    parts, truth, t = [], [], 0
    while t < seconds * RATE:
        gap = int(rng.uniform(0.3, 3.0) * RATE)  # the pause before the utterance
        for i, word in enumerate(rng.choice(vocabulary, int(rng.integers(2, 7)))):
            wave = spoken_word(str(word), rate, pitch)
            if wave.size == 0:
                continue
            gap = gap if i == 0 else int(rng.uniform(0.04, 0.15) * RATE)
            parts += [np.zeros(gap, np.float32), wave]
            truth.append((str(word), (t + gap) / RATE, (t + gap + wave.size) / RATE))
            t += gap + wave.size
    parts.append(np.zeros(RATE, np.float32))
    audio = np.concatenate(parts)
    return audio + NOISE * rng.standard_normal(audio.size).astype(np.float32), truth


def score(truth: list[tuple[str, float, float]], words) -> dict:
    """Word errors and the boundary differences of matched words.

    A matched word is one the WER alignment pairs with the same reference word and whose time span
    overlaps that word's: the alignment alone can pair a word with another occurrence seconds away.
    """
    import jiwer

    ref, hyp = [w for w, _, _ in truth], [w.word for w in words]
    out = jiwer.process_words(" ".join(ref), " ".join(hyp) or "<none>")
    diffs = []
    for chunk in out.alignments[0]:
        if chunk.type == "equal":
            for k in range(chunk.ref_end_idx - chunk.ref_start_idx):
                (_, s, e), w = truth[chunk.ref_start_idx + k], words[chunk.hyp_start_idx + k]
                if w.start < e and w.end > s:
                    diffs += [abs(w.start - s), abs(w.end - e)]
    return {"ref_words": len(ref), "errors": out.substitutions + out.deletions + out.insertions,
            "matched": len(diffs) // 2, "boundary_abs_sum": float(sum(diffs)),
            "boundary_median": float(np.median(diffs)) if diffs else None}


def network_rtf(model, audio: np.ndarray, piece_seconds: float = 30.0) -> float:
    """CPU seconds per second of audio of filterbanks and the forward pass alone, in 30-s pieces.

    The weights do not change the cost, so an untrained model of a recipe's design measures it.
    """
    import torch

    from speechtl.data.features import compute_features

    wave, step = torch.from_numpy(audio), int(piece_seconds * RATE)
    start = time.process_time()
    with torch.no_grad():
        for a in range(0, wave.numel(), step):
            feats = compute_features(wave[a: a + step], RATE, model.features)
            model(feats[None], torch.tensor([feats.shape[0]]))
    return (time.process_time() - start) / (audio.size / RATE)


def greedy_seconds(rec, audio: np.ndarray, plans: dict, repeats: int, flip: bool) -> dict:
    """Median CPU seconds of each plan decoding ``audio`` without the word search (greedy phonemes)."""
    runs: dict = {name: [] for name in plans}
    for r in range(repeats):
        for name in (list(plans) if (r + flip) % 2 == 0 else list(plans)[::-1]):
            rec.config.vad = plans[name]
            start = time.process_time()
            rec.transcribe(audio, "en", greedy=True, sample_rate=RATE)
            runs[name].append(time.process_time() - start)
    return {name: round(float(np.median(t)), 3) for name, t in runs.items()}


def demo_design(inventories: dict):
    """An untrained model of ``recipes/multilingual-synth.yaml``'s design (the demo) with these heads."""
    from speechtl.tasks import load_recipe
    from speechtl.tasks.speech.model import build_model

    return build_model(load_recipe(REPO / "recipes" / "multilingual-synth.yaml"), inventories).eval()


def uptime() -> str:
    """``uptime``'s line (the load while this ran: RTF is comparable only within one run)."""
    import subprocess

    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def measure(args) -> dict:
    import torch

    from speechtl.data.manifests import corpus_lexicon_path
    from speechtl.data.vad import VadSettings, speech_spans
    from speechtl.decoding.recognizer import Recognizer
    from speechtl.text.lexicon import read_word_list

    torch.set_num_threads(1)
    measured_on = {**machine(), "uptime_at_start": uptime()}  # the load before this run's own work
    lexicon = corpus_lexicon_path(args.data_root, "en")  # the pronunciations the model was trained with
    rng = np.random.default_rng(args.seed)
    train_words = read_word_list(corpus_lexicon_path(args.data_root, "en", "train"))
    vocabulary = sorted(rng.choice(train_words, min(args.vocabulary, len(train_words)), replace=False).tolist())
    rec = Recognizer.load(args.model)
    passes = []  # samples of each piece decoded (one forward pass and one search each)
    log_probs = rec._log_probs
    rec._log_probs = lambda wave, language: passes.append(wave.numel()) or log_probs(wave, language)
    demo = demo_design(rec.model.inventories)
    demo_rec = Recognizer(demo, copy.deepcopy(rec.config))
    plans = {"vad": "on", "fixed": "off"}
    for plan in plans.values():  # warm up: Silero's session, the decoder for this vocabulary
        rec.config.vad = plan
        warm = make_recording(vocabulary, 5, 10**6)[0]
        rec.transcribe(warm, "en", lexicon=lexicon, words=vocabulary, sample_rate=RATE)
    rows = []
    for n in range(args.recordings):
        audio, truth = make_recording(vocabulary, float(rng.uniform(args.min_seconds, args.max_seconds)), args.seed + n)
        row = {"seconds": round(audio.size / RATE, 2), "words": len(truth)}
        detect = []
        for _ in range(args.repeats):
            start = time.process_time()
            spans = speech_spans(audio, RATE, VadSettings(max_segment=rec.config.chunk_seconds))
            detect.append(time.process_time() - start)
        row["detect_seconds"] = round(float(np.median(detect)), 3)  # Silero alone, part of "vad" below
        row["speech_seconds"] = round(sum(s.duration for s in spans), 2)  # what VAD leaves to decode
        for r in range(args.repeats):  # A B A B ...: the median of each plan's runs is its time
            order = list(plans) if (n + r) % 2 == 0 else list(plans)[::-1]  # alternate which goes first
            for name in order:
                rec.config.vad = plans[name]
                passes.clear()
                start, wall = time.process_time(), time.perf_counter()
                out = rec.transcribe(audio, "en", lexicon=lexicon, words=vocabulary, sample_rate=RATE)
                cpu, wall = time.process_time() - start, time.perf_counter() - wall  # CPU time: the machine is shared
                if r == 0:  # decoding is deterministic: the words of every run are the same
                    row[name] = {"cpu_runs": [], "wall_runs": [], "segments": len(out.segments), "pieces": len(passes),
                                 "decoded_seconds": round(sum(passes) / RATE, 2), **score(truth, out.words)}
                row[name]["cpu_runs"].append(round(cpu, 3))
                row[name]["wall_runs"].append(round(wall, 3))
        for name in plans:
            row[name]["decode_seconds"] = round(float(np.median(row[name]["cpu_runs"])), 3)
        row["ratio_runs"] = [round(a / b, 3) for a, b in zip(row["vad"]["cpu_runs"], row["fixed"]["cpu_runs"])]
        # the network's share grows with its size: VAD against the fixed cut with the demo's encoder, no search
        row["demo_greedy_seconds"] = greedy_seconds(demo_rec, audio, plans, args.repeats, n % 2 == 1)
        row["network_rtf"] = {"tiny": round(network_rtf(rec.model, audio), 5),
                              "demo_design": round(network_rtf(demo, audio), 5)}
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    return {"machine": measured_on, "model": args.model, "seed": args.seed, "vocabulary": len(vocabulary),
            "repeats": args.repeats, "uptime_at_end": uptime(),
            "recordings": rows, "summary": summary(rows, list(plans))}


def summary(rows: list[dict], names: list[str]) -> dict:
    audio = sum(r["seconds"] for r in rows)
    out = {}
    for name in names:
        ref = sum(r[name]["ref_words"] for r in rows)
        matched = sum(r[name]["matched"] for r in rows)
        out[name] = {"wer": round(100 * sum(r[name]["errors"] for r in rows) / ref, 2),
                     "boundary_error_ms": round(1000 * sum(r[name]["boundary_abs_sum"] for r in rows)
                                                / (2 * matched), 1),
                     "matched_words": matched,
                     "rtf": round(sum(r[name]["decode_seconds"] for r in rows) / audio, 4),
                     "segments": sum(r[name]["segments"] for r in rows),
                     "pieces": sum(r[name].get("pieces", r[name]["segments"]) for r in rows)}
    out["rtf_ratio_vad_over_fixed"] = round(sum(r["vad"]["decode_seconds"] for r in rows)
                                            / sum(r["fixed"]["decode_seconds"] for r in rows), 3)
    if all("ratio_runs" in r for r in rows):  # the spread of the pairs A/B: how noisy the machine was
        pairs = [x for r in rows for x in r["ratio_runs"]]
        out["ratio_pairs"] = {"min": min(pairs), "median": float(np.median(pairs)), "max": max(pairs)}
    out["detect_rtf"] = round(sum(r["detect_seconds"] for r in rows) / audio, 4)
    out["speech_share"] = round(sum(r["speech_seconds"] for r in rows) / audio, 3)
    out["audio_minutes"] = round(audio / 60, 1)
    if all("demo_greedy_seconds" in r for r in rows):
        out["demo_greedy_rtf"] = {k: round(sum(r["demo_greedy_seconds"][k] for r in rows) / audio, 4) for k in names}
        out["demo_greedy_ratio"] = round(sum(r["demo_greedy_seconds"]["vad"] for r in rows)
                                         / sum(r["demo_greedy_seconds"]["fixed"] for r in rows), 3)
    if all("network_rtf" in r for r in rows):
        out["network_rtf"] = {k: round(sum(r["network_rtf"][k] * r["seconds"] for r in rows) / audio, 4)
                              for k in ("tiny", "demo_design")}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="a trained English phoneme model (see the docstring)")
    ap.add_argument("--data-root", help="its synthetic corpus (data.root): the words come from its train lexicon")
    ap.add_argument("--recordings", type=int, default=5)
    ap.add_argument("--vocabulary", type=int, default=60, help="training words the recordings use and decoding knows")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=5, help="timed runs of each plan per recording (median kept)")
    ap.add_argument("--min-seconds", type=float, default=120.0, help="shortest recording")
    ap.add_argument("--max-seconds", type=float, default=300.0, help="longest recording")
    args = ap.parse_args()
    if not (args.model and args.data_root):
        ap.error("--model and --data-root are needed to measure")
    print(f"wrote {write_result('vad', measure(args))}; the page: python -m scripts.make_results")

if __name__ == "__main__":
    main()
