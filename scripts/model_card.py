"""The model card (``README.md``) of a shipped model, written from its run's own files.

Every figure comes from a file: ``EXP/eval_test.json`` (per-language PER and WER on
the test split), ``EXP/valid_log.jsonl`` (the last dev PER), and, when present,
``benchmarks/results/shipped_fsdd.json`` (the shipped model on real recordings,
``benchmarks/shipped_fsdd.py``). Used by ``scripts/ship_model.py``.
"""

from __future__ import annotations

import json
from pathlib import Path


def _json(path: Path) -> dict | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _last_dev(exp: Path) -> dict | None:
    path = exp / "valid_log.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []
    return rows[-1] if rows else None


def _results_table(report: dict) -> str:
    rows = ["| language | test utterances | phonemes | PER % | WER % (lexicon decoding) |", "| --- | --- | --- | --- | --- |"]
    per, wer = report.get("per", {}), report.get("wer", {})
    for lang in sorted(per):
        w = wer.get(lang, {}).get("rate")
        rows.append(f"| {lang} | {per[lang]['utterances']} | {per[lang]['reference_length']} | "
                    f"{100 * per[lang]['rate']:.1f} | {'-' if w is None else f'{100 * w:.1f}'} |")
    mean = sum(p["rate"] for p in per.values()) / max(len(per), 1)
    mean_wer = sum(w["rate"] for w in wer.values()) / len(wer) if wer else None
    rows.append(f"| mean | | | {100 * mean:.1f} | {'-' if mean_wer is None else f'{100 * mean_wer:.1f}'} |")
    return "\n".join(rows)


def _data(recipe: dict) -> str:
    data, synth = recipe["data"], recipe["data"]["synth"]
    per_lang = synth.get("train_utterances_per_language") or {}
    fewer = ", ".join(f"{lang}: {n}" for lang, n in per_lang.items())
    return (f"Synthetic speech only: eSpeak NG reading random sequences of {synth['words_per_utterance'][0]}-"
            f"{synth['words_per_utterance'][1]} words drawn from each language's {synth['vocabulary']} most "
            f"frequent words (`data.corpus: synthetic`, `speechtl/data/synth.py`), 16 kHz. Per language "
            f"{synth['train_utterances']} training utterances ({fewer or 'the same for all'}), "
            f"{synth['dev_utterances']} dev and {synth['test_utterances']} test. Speakers are eSpeak NG voice "
            f"variants at random rates and pitches: {synth['train_speakers']} training, {synth['dev_speakers']} dev "
            f"and {synth['test_speakers']} test speakers per language, drawn from disjoint pools of variants "
            f"(70/10/20%), so dev and test voices are never heard in training; dev and test sentences hold only "
            f"words never used in training ({int(100 * synth['test_word_fraction'])}% of the vocabulary "
            f"kept for test, {int(100 * synth['dev_word_fraction'])}% for dev). Languages: "
            f"{', '.join(data['languages'])}.")


def _real_speech(repo: Path) -> str:
    fsdd = _json(repo / "benchmarks" / "results" / "shipped_fsdd.json")
    head = ("**Real speech.** This model has heard synthetic speech only. eSpeak NG's formant voices are "
            "far from human voices and microphones, and the figures above do not carry over to real "
            "recordings.")
    if fsdd is None:
        return head + " Its real-speech accuracy has not been measured."
    return (head + f" It is not a real-speech recognizer yet. Measured: English, the {fsdd['files']:,} recordings of the Free Spoken Digit Dataset "
            f"(8 kHz, 6 speakers), each decoded alone with the 10 digit words as the lexicon: word accuracy "
            f"{100 * fsdd['word_accuracy']:.1f}% (chance 10%), {fsdd['empty']} recordings with no word "
            f"(`{fsdd['command']}`, {fsdd['date']}).")


def model_card(name: str, meta: dict, exp: Path, repo: Path, note: str = "") -> str:
    """The ``README.md`` of ``speechtl/models/builtin/{name}`` (Markdown, with a Hub-style YAML header)."""
    recipe = meta["recipe"]
    report = _json(exp / "eval_test.json")
    dev = _last_dev(exp)
    model = recipe["model"]
    languages = recipe["data"]["languages"]
    train = recipe["train"]
    dev_line = "" if dev is None else (
        f" Dev PER at its last validation (step {dev['step']}): "
        + ", ".join(f"{k.removeprefix('per_')} {100 * v:.1f}%" for k, v in dev.items()
                    if k.startswith("per") and isinstance(v, float)) + ".")
    results = _results_table(report) if report else "Not evaluated (no `eval_test.json` in the run)."
    return f"""---
language: [{', '.join(languages)}]
license: apache-2.0
library_name: speechtl
tags: [speech, phoneme-recognition, ctc, multilingual, synthetic-data]
---

# builtin:{name}

A multilingual phoneme recognizer shipped inside the `speechtl` package: one shared
{model['encoder'].upper()} encoder ({model['layers']} layers of {model['dim']}, subsampling {model['subsampling']})
with one CTC phoneme head per language, plus **articulatory attribute detectors** (`model.attributes:
{model.get('attributes', 0)}`), so heads for languages it was never trained on can be composed with no audio
(`speechtl add-language --model builtin:{name} --lang sv --zero-shot -o exp/sv`). Weights are stored in
float16 (upcast to float32 when loaded).

```bash
speechtl decode --model builtin:{name} --lang en recording.wav
python -c 'from speechtl import Recognizer; print(Recognizer.load("builtin:{name}").transcribe("recording.wav", language="en").text)'
```

Words come from lexicon decoding: the language's shipped lexicon (`speechtl/lexicons/`), or your own
words (`--words FILE`, `--lexicon FILE`).

## Training data

{_data(recipe)}

## Training

Recipe `recipes/{name}-shipped.yaml` (the README demo recipe with the attribute detectors), {train['max_steps']}
steps of at most {train['max_duration']} s of audio, learning rate {train['lr']}, SpecAugment and vocal tract
length perturbation, seed {train['seed']}, on a shared 2-core CPU.{dev_line}{(" " + note) if note else ""}

## Results (synthetic test split: unseen voices, unseen words)

Greedy phoneme error rate (PER) and the word error rate of lexicon decoding, where the lexicon
holds every word of the corpus (the test words compete with all training words), from the run's
`eval_test.json`:

{results}

## What it cannot do

{_real_speech(repo)}

* Only the {len(languages)} languages above have trained heads; other languages need
  `speechtl add-language` (zero-shot, or a few minutes of transcribed audio).
* No language model: homophones and near-homophones are not told apart.
* Read text in synthetic voices, clean audio: no noise, reverberation or overlapping speech in training.
* Its features reach 8 kHz (16 kHz audio): audio recorded at 8 kHz (telephone) leaves its top mel bins
  empty, which it never saw in training.
* One seed, one run: the figures above carry that run's noise.

## Reproduce

```bash
speechtl run recipes/{name}-shipped.yaml --set train.max_steps={train['max_steps']}
python -m scripts.ship_model exp/{name}-shipped/model {name}
```
"""
