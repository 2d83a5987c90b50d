"""Zero-shot word recognition: words never heard in training, found through phonemes and a lexicon.

On the synthetic test split (its words never occur in a training transcript), per language:

* WER of lexicon decoding with the test words alone and with N distractors added
  (N = 1,000 and 10,000: the most frequent wordfreq words that are not test words,
  pronounced by G2P; distractors sounding exactly like a test word are left out,
  since without a language model no recogniser can tell them apart). The word
  and word-boundary scores are chosen on the dev split (its own unseen words +
  1,000 distractors). Also reported: WER with homophones merged (a word counts
  as right when it sounds exactly like the reference).
* Baseline (a): a SentencePiece subword CTC model trained by the same recipe
  (``--set units.kind=subword``): greedy open-vocabulary WER, and WER with the
  same word lists as a lexicon spelled in pieces.
* Baseline (b): pocketsphinx with its en-us model and the same English words in
  its dictionary (CMUdict pronunciations, G2P fallback), uniform unigram LM.
* Real-time factor on one core (torch.set_num_threads(1)): speechtl's whole
  ``Recognizer.transcribe`` (audio read, features, network, search, alignment)
  and pocketsphinx on the same English test files, in the same run.
* Optionally (``--fsdd``), real speech: the Free Spoken Digit Dataset, each
  file one digit, with a 10-word lexicon for both recognisers.

    python -m benchmarks.zero_shot --model exp/multilingual-synth/model \\
        [--subword-model exp/subword-synth/model] [--distractors 1000 10000] \\
        [--long-minutes 60] [--fsdd ../shared/data/fsdd] [--out benchmarks/results/zero_shot.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

from speechtl.data.manifests import corpus_lexicon_path
from speechtl.decoding.evaluate import iter_log_probs, lexicon_decoders, merge_homophones, per_language
from speechtl.decoding.metrics import ErrorCounts
from speechtl.tasks.speech.data import load_split
from speechtl.tasks.speech.task import load_trained
from speechtl.text.g2p_lexicon import add_context_variants, frequent_lexicon
from speechtl.text.lexicon import Lexicon, read_word_list
from speechtl.text.subword import encode, pieces_to_text, processor


def emissions(model, utts) -> list[torch.Tensor]:
    """Each utterance's ``(frames, classes)`` log-probs, computed once and reused by every condition."""
    out: list = [None] * len(utts)
    for chunk, _, log_probs, lengths in iter_log_probs(model, utts):
        for i, lp, n in zip(chunk, log_probs, lengths):
            out[i] = lp[: int(n)].contiguous()
    return out


def decode_all(decoders: dict, utts, ems) -> list[str]:
    return [" ".join(decoders[u.language](e[None])[0].words) if u.language in decoders else ""
            for u, e in zip(utts, ems)]


def rates(counts: dict[str, ErrorCounts]) -> dict:
    out = {lang: round(100 * c.rate, 2) for lang, c in counts.items()}
    out["mean"] = round(sum(c.rate for c in counts.values()) / max(1, len(counts)) * 100, 2)
    return out


def split_lexicons(model, root: str, split: str, languages: list[str], sizes: list[int]) -> dict:
    """``{N: {lang: Lexicon}}``: the split's words (+ context variants) and N distractors."""
    out: dict[int, dict[str, Lexicon]] = {n: {} for n in sizes}
    for lang in languages:
        words = read_word_list(corpus_lexicon_path(root, lang, split))
        base = add_context_variants(Lexicon.read(corpus_lexicon_path(root, lang)).subset(words), lang)
        spoken = {p for _, p in base.items()}
        inventory = model.inventories[lang]
        pool = frequent_lexicon(lang, int(max(sizes) * 1.15) + 200, exclude=words, inventory=inventory, context=True)
        distractors = [w for w in pool if not spoken & set(pool.pronunciations(w))]
        for n in sizes:
            out[n][lang] = base.merge(pool.subset(distractors[:n]))
    return out


def tune(model, decode, dev, lexicons, word_scores: list[float], sil_scores: list[float],
         word_boundary: str | None = None) -> tuple[dict, dict]:
    """The (word_score, sil_score) pair with the lowest mean dev WER, and the WER of each pair."""
    ems = emissions(model, dev)
    table = {}
    for ws in word_scores:
        for sil in sil_scores:
            cfg = dataclasses.replace(decode, word_score=ws, sil_score=sil)
            decoders = lexicon_decoders(model, lexicons, cfg, word_boundary)
            table[(ws, sil)] = rates(per_language(dev, decode_all(decoders, dev, ems)))
            print(f"dev word_score {ws:+.1f} sil_score {sil:+.1f}: WER {table[(ws, sil)]}", flush=True)
    ws, sil = min(table, key=lambda k: table[k]["mean"])
    return {"word_score": ws, "sil_score": sil}, {f"{k[0]:+.1f},{k[1]:+.1f}": v for k, v in table.items()}


def spelled_in_pieces(model, lexicons: dict[str, Lexicon]) -> dict[str, Lexicon]:
    """The same words, spelled with each language's SentencePiece model."""
    out = {}
    for lang, lex in lexicons.items():
        sp = processor(model.unit_models[lang])
        out[lang] = Lexicon((w, encode(sp, w)) for w in lex)
    return out


def subword_baseline(path: str, test, dev, dev_lexicons, lexicons: dict[int, dict[str, Lexicon]],
                     word_scores: list[float]) -> dict:
    """Greedy open-vocabulary WER, and lexicon WER with the same word lists spelled in pieces."""
    from speechtl.decoding.greedy import ctc_greedy

    model, _, decode = load_trained(path)
    if model.units != "subword":
        raise SystemExit(f"{path}: not a subword model (units {model.units})")
    utts = [u for u in test if u.language in model.inventories]
    ems = emissions(model, utts)
    greedy = []
    for u, e in zip(utts, ems):
        inv = model.inventories[u.language]
        ids = ctc_greedy(e[None], torch.tensor([e.shape[0]]), inv.blank)[0]
        greedy.append(pieces_to_text(inv.decode(ids)))
    result = {"model": path, "greedy_open_vocabulary": rates(per_language(utts, greedy))}
    print(f"subword greedy: {result['greedy_open_vocabulary']}", flush=True)
    dev = [u for u in dev if u.language in model.inventories]
    # pieces have no "|": sil_score does not apply
    grid = sorted(set(word_scores) | {2.0, 4.0})  # pieces may want a word bonus rather than a penalty
    best, result["dev_grid"] = tune(model, decode, dev, spelled_in_pieces(model, dev_lexicons), grid, [0.0],
                                    word_boundary="none")
    result["decode"] = best
    cfg = dataclasses.replace(decode, **best)
    for n, by_lang in lexicons.items():
        decoders = lexicon_decoders(model, spelled_in_pieces(model, by_lang), cfg, word_boundary="none")
        result[f"lexicon_{n}"] = rates(per_language(utts, decode_all(decoders, utts, ems)))
        print(f"subword + lexicon of test words + {n}: {result[f'lexicon_{n}']}", flush=True)
    return result


def pocketsphinx_and_rtf(model, cfg, test, lexicon: Lexicon, files: int, workdir: Path) -> dict:
    """pocketsphinx WER on the English test set, and both RTFs on its first ``files`` files, one thread."""
    from benchmarks.pocketsphinx_peer import Pocketsphinx, build_dictionary

    from speechtl.data.audio import load_audio
    from speechtl.decoding.recognizer import Recognizer

    english = [u for u in test if u.language == "en"]
    dictionary = build_dictionary(lexicon.words, workdir / "pocketsphinx")
    ps = Pocketsphinx(workdir / "pocketsphinx")
    torch.set_num_threads(1)
    recognizer = Recognizer(model, cfg)
    recognizer.prepare("en", lexicon=lexicon)  # built once, outside the timing
    hyps, ours_s, ps_s, audio_s = [], 0.0, 0.0, 0.0
    for k, utt in enumerate(english):
        start = time.perf_counter()
        wave = load_audio(utt.source).numpy()
        text, _ = ps.transcribe(wave)
        elapsed_ps = time.perf_counter() - start
        hyps.append(text)
        if k < files:
            start = time.perf_counter()
            recognizer.transcribe(utt.source, "en", lexicon=lexicon)
            ours_s += time.perf_counter() - start
            ps_s += elapsed_ps
            audio_s += len(wave) / 16000
    return {"pocketsphinx_wer_en": rates(per_language(english, hyps))["en"], "dictionary": dictionary,
            "rtf_files": min(files, len(english)), "rtf_audio_seconds": round(audio_s, 2),
            "rtf_speechtl": round(ours_s / audio_s, 4), "rtf_pocketsphinx": round(ps_s / audio_s, 4)}


DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def fsdd_digits(model, cfg, fsdd: Path, workdir: Path) -> dict:
    """Real speech: word accuracy on the Free Spoken Digit Dataset with a 10-word lexicon (ours and pocketsphinx)."""
    from benchmarks.pocketsphinx_peer import Pocketsphinx, build_dictionary

    from speechtl.data.audio import load_audio
    from speechtl.decoding.recognizer import Recognizer
    from speechtl.text.g2p_lexicon import g2p_lexicon

    files = sorted((fsdd / "recordings").glob("*.wav"))
    lexicon, _ = g2p_lexicon(DIGITS, "en")
    recognizer = Recognizer(model, cfg)
    build_dictionary(DIGITS, workdir / "pocketsphinx-digits")
    ps = Pocketsphinx(workdir / "pocketsphinx-digits")
    ours = theirs = 0
    for path in files:
        truth = DIGITS[int(path.name.split("_")[0])]
        ours += recognizer.transcribe(path, "en", lexicon=lexicon).text == truth
        theirs += ps.transcribe(load_audio(path).numpy())[0] == truth
    return {"files": len(files), "speechtl_word_accuracy": round(100 * ours / len(files), 2),
            "pocketsphinx_word_accuracy": round(100 * theirs / len(files), 2)}


def long_audio(model_path: str, minutes: float, test, workdir: Path) -> dict:
    """Decode a ``minutes``-long file (English test audio repeated) with the shipped lexicon, in a fresh
    process: wall time and peak resident memory."""
    import subprocess

    import numpy as np

    from speechtl.data.audio import load_audio, save_audio

    english = [load_audio(u.source).numpy() for u in test if u.language == "en"]
    piece = np.concatenate(english)
    reps = int(np.ceil(minutes * 60 * 16000 / len(piece)))
    path = workdir / "long.flac"
    save_audio(path, np.tile(piece, reps)[: int(minutes * 60 * 16000)], 16000)
    # VmHWM, not ru_maxrss: the latter keeps the forking parent's peak across exec
    code = ("import re, time, torch, json; torch.set_num_threads(1);"
            "from speechtl.decoding.recognizer import Recognizer;"
            f"r = Recognizer.load({model_path!r}); t = time.perf_counter();"
            f"out = r.transcribe({str(path)!r}, 'en');"
            "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1);"
            "print(json.dumps({'seconds': time.perf_counter() - t, 'words': len(out.words),"
            "'peak_rss_mb': int(hwm) / 1024}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result.update(minutes=minutes, rtf=round(result["seconds"] / (minutes * 60), 4))
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="exp/multilingual-synth/model")
    ap.add_argument("--subword-model", help="the same recipe trained with --set units.kind=subword")
    ap.add_argument("--distractors", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--word-scores", type=float, nargs="+", default=[0.0, -2.0, -4.0, -6.0, -8.0],
                    help="word_score values tried on dev")
    ap.add_argument("--sil-scores", type=float, nargs="+", default=[0.0, -2.0, -4.0],
                    help="sil_score values tried on dev")
    ap.add_argument("--rtf-files", type=int, default=100, help="English test files timed for the RTF")
    ap.add_argument("--no-pocketsphinx", action="store_true")
    ap.add_argument("--long-minutes", type=float, default=0.0, help="also decode a file this long")
    ap.add_argument("--fsdd", help="Free Spoken Digit Dataset directory (real speech), e.g. ../shared/data/fsdd")
    ap.add_argument("--out", default="benchmarks/results/zero_shot.json")
    ap.add_argument("--workdir", default="exp/zero-shot")
    args = ap.parse_args()
    started = time.time()
    load_before = os.getloadavg()
    model, recipe, decode = load_trained(args.model)
    languages = [lang for lang in recipe.data.languages if lang in model.inventories]
    sizes = [0] + args.distractors
    workdir = Path(args.workdir)
    test = load_split(recipe, "test")
    dev = load_split(recipe, "dev")
    report: dict = {"model": args.model, "date": datetime.date.today().isoformat(),
                    "hardware": f"{platform.machine()} CPU, {os.cpu_count()} cores, no GPU",
                    "command": " ".join([Path(sys.argv[0]).as_posix()] + sys.argv[1:])}
    dev_lex = split_lexicons(model, recipe.data.root, "dev", languages, [1000])[1000]
    best, report["dev_grid"] = tune(model, decode, dev, dev_lex, args.word_scores, args.sil_scores)
    report["decode"] = best
    cfg = dataclasses.replace(decode, **best)
    lexicons = split_lexicons(model, recipe.data.root, "test", languages, sizes)
    report["lexicon_sizes"] = {str(n): {lang: len(lex) for lang, lex in by.items()} for n, by in lexicons.items()}
    ems = emissions(model, test)
    report["wer"], report["wer_homophones_merged"] = {}, {}
    for n in sizes:
        start = time.perf_counter()
        hyps = decode_all(lexicon_decoders(model, lexicons[n], cfg), test, ems)
        report["wer"][str(n)] = rates(per_language(test, hyps))
        report["wer_homophones_merged"][str(n)] = rates(per_language(*merge_homophones(test, hyps, lexicons[n])))
        print(f"test words + {n} distractors: WER {report['wer'][str(n)]} ({time.perf_counter() - start:.0f} s)",
              flush=True)
    if args.subword_model:
        report["subword"] = subword_baseline(args.subword_model, test, dev, dev_lex,
                                             {n: lexicons[n] for n in sizes if n}, args.word_scores)
    if not args.no_pocketsphinx and "en" in languages:
        n = 1000 if 1000 in lexicons else sizes[-1]
        report["pocketsphinx"] = {"lexicon": f"test words + {n}",
                                  **pocketsphinx_and_rtf(model, cfg, test, lexicons[n]["en"], args.rtf_files, workdir)}
        print("pocketsphinx / RTF:", json.dumps(report["pocketsphinx"]), flush=True)
    if args.fsdd and "en" in languages:
        report["fsdd_digits"] = fsdd_digits(model, cfg, Path(args.fsdd), workdir)
        print("FSDD digits (real speech):", report["fsdd_digits"], flush=True)
    if args.long_minutes:
        report["long_audio"] = long_audio(args.model, args.long_minutes, test, workdir)
        print("long audio:", report["long_audio"], flush=True)
    report["wall_seconds"] = round(time.time() - started)
    report["load_average_before_after"] = [round(load_before[0], 2), round(os.getloadavg()[0], 2)]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"written {out}")


if __name__ == "__main__":
    main()
