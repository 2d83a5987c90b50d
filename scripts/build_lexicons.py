#!/usr/bin/env python
"""Write the shipped lexicons ``speechtl/lexicons/{lang}.txt`` from wordfreq's most frequent words via G2P.

Each file holds the ``--words`` most frequent plain words (lower-case, alphabetic,
two letters or more) that eSpeak NG pronounces with the language's own rules,
with their isolated pronunciation first and eSpeak's in-context variants after
it (see ``speechtl.text.g2p.pronounce_in_context``). Deterministic: rerunning it
with the same wordfreq and eSpeak NG versions rewrites the same files.

    python -m scripts.build_lexicons                # the 8 default languages, 20,000 words each
    python -m scripts.build_lexicons --lang en de --words 5000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from speechtl.data.config import DEFAULT_LANGUAGES
from speechtl.text.g2p_lexicon import frequent_lexicon, shipped_lexicon_dir

MAX_BYTES = 2_000_000  # keep each shipped file well under 2 MB


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", nargs="+", default=DEFAULT_LANGUAGES)
    parser.add_argument("--words", type=int, default=20000, help="words per language")
    parser.add_argument("--out", default=str(shipped_lexicon_dir()))
    args = parser.parse_args()
    out = Path(args.out)
    summary = {}
    for lang in args.lang:
        start = time.time()
        lexicon = frequent_lexicon(lang, args.words, context=True)
        path = out / f"{lang}.txt"
        lexicon.write(path)
        size = path.stat().st_size
        prons = sum(1 for _ in lexicon.items())
        summary[lang] = {"words": len(lexicon), "pronunciations": prons, "bytes": size}
        print(f"{path}: {len(lexicon)} words, {prons} pronunciations, {size / 1e6:.2f} MB "
              f"({time.time() - start:.0f} s)", flush=True)
        if size > MAX_BYTES:
            print(f"{path}: larger than {MAX_BYTES / 1e6:.0f} MB; ship fewer words", file=sys.stderr)
            return 1
    (out / "README.md").write_text(_readme(args.words, summary), encoding="utf-8")
    return 0


def _readme(words: int, summary: dict) -> str:
    import importlib.metadata as md

    rows = "\n".join(f"| {lang} | {s['words']} | {s['pronunciations']} | {s['bytes'] / 1e6:.2f} |"
                     for lang, s in summary.items())
    return f"""# Shipped lexicons

Made by `python -m scripts.build_lexicons` (never edited by hand): the {words} most frequent
plain words of each language (wordfreq {md.version('wordfreq')}) that eSpeak NG
(espeakng-loader {md.version('espeakng-loader')}, phonemizer {md.version('phonemizer')}) pronounces
with that language's own rules. Format: `word p1 p2 ...`, one pronunciation per line; the first
line of a word is its isolated pronunciation, the others are eSpeak's in-context variants
(liaison, lenition, voicing assimilation), which models trained on eSpeak's running-speech
phonemes output.

| language | words | pronunciations | MB |
| --- | --- | --- | --- |
{rows}
"""


if __name__ == "__main__":
    sys.exit(main())
