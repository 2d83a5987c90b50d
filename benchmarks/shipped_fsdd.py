"""The shipped model on real speech: word accuracy on the FSDD recordings with the 10 digit words.

``builtin:multilingual-synth`` (trained on synthetic speech only) decodes each of the
3,000 Free Spoken Digit Dataset recordings (8 kHz, 6 speakers) alone, with its English
head and the 10 digit words as the whole lexicon (chance: 10%). Nothing is chosen on
these recordings. Writes ``benchmarks/results/shipped_fsdd.json``, which the shipped
model card quotes (``scripts/model_card.py``).

    python -m benchmarks.shipped_fsdd [--model builtin:multilingual-synth] [--limit N]
"""

from __future__ import annotations

import argparse
import collections
import time

import torch

from benchmarks.common import machine, write_result
from benchmarks.serve_common import DIGITS, FSDD, fsdd_files

from speechtl.decoding.recognizer import Recognizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="builtin:multilingual-synth")
    parser.add_argument("--limit", type=int, default=0, help="decode only every k-th file so N remain (0: all)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    files = fsdd_files()
    if args.limit:
        files = files[:: max(1, len(files) // args.limit)][: args.limit]
    rec = Recognizer.load(args.model)
    result = {"machine": machine(), "model": args.model, "files": len(files), "fsdd": str(FSDD)}
    correct, empty, confusions = 0, 0, collections.Counter()
    start = time.perf_counter()
    for path in files:
        truth = DIGITS[int(path.name.split("_")[0])]
        words = [w.word for w in rec.transcribe(path, "en", words=DIGITS).words]
        empty += not words
        correct += words == [truth]  # exactly the one right word
        confusions[f"{truth}->{'+'.join(words) or '(none)'}"] += words != [truth]
    result |= {"word_accuracy": round(correct / len(files), 4), "empty": empty,
               "most_frequent_errors": [f"{k}: {n}" for k, n in confusions.most_common(8) if n],
               "wall_seconds": round(time.perf_counter() - start, 1),
               "date": result["machine"]["date"],
               "command": "python -m benchmarks.shipped_fsdd" + (f" --limit {args.limit}" if args.limit else "")}
    print({k: v for k, v in result.items() if k != "machine"})
    write_result("shipped_fsdd", result)


if __name__ == "__main__":
    main()
