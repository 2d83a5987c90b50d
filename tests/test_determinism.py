"""Decoding and evaluation give the same output whatever ``PYTHONHASHSEED`` is (issue #18).

String hashing is salted per process, so a set or a dict built from a set that
reached the lexicon decoder (or the order of an inventory, a lexicon, a
homophone merge) would change words and WER between runs of the same command.
Two processes with different hash seeds must print byte-identical results.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from speechtl.data.manifests import corpus_lexicon_path

REPO = Path(__file__).resolve().parent.parent


def _speechtl(args: list[str], hash_seed: int) -> str:
    env = {**os.environ, "PYTHONHASHSEED": str(hash_seed), "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "speechtl", *args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_lexicon_decoding_and_evaluation_ignore_the_hash_seed(es_model, tiny_corpus, tmp_path):
    """``es_model`` (conftest): a small model trained on the tiny corpus's Spanish, so words are found."""
    audio = sorted((Path(tiny_corpus.root) / "audio" / "es" / "test").glob("*.wav"))[:6]
    words = corpus_lexicon_path(tiny_corpus.root, "es", "test")
    runs = []
    for seed in (1, 2):
        report = tmp_path / f"eval-{seed}.json"
        table = _speechtl(["eval", "--model", str(es_model), "-o", str(report), "--threads", "1"], seed)
        decoded = _speechtl(["decode", "--model", str(es_model), "--words", str(words), "--json", "--threads", "1",
                             *map(str, audio)], seed)
        runs.append((table, json.loads(report.read_text(encoding="utf-8")), decoded))
    (table1, report1, decoded1), (table2, report2, decoded2) = runs
    assert decoded1 == decoded2
    assert report1 == report2 and table1 == table2
    hypotheses = [json.loads(line)["text"] for line in decoded1.splitlines()]
    assert sum(len(h.split()) for h in hypotheses) >= len(audio)  # words were found: the comparison means something
    assert "wer" in json.dumps(report1).lower()  # the report scored words with a lexicon, not only phonemes
