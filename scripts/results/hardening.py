"""docs/results/hardening.md, the whole page, from benchmarks/results/hostile_catalogue.json (``python -m tests.hostile_catalogue``)."""

from __future__ import annotations

import json

from scripts.results.common import RAW


def _cell(text: str, limit: int = 220) -> str:
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    return text.replace("|", "\\|").replace("\n", "<br>")


def _machine(m: dict) -> str:
    return f"{m['date']}, {m['cpu']} ({m['cpus_usable']} usable CPUs), Python {m['python']}, torch {m['torch']}"


def markdown(report: dict) -> str:
    rows = "\n".join(f"| {r['name']} | {_cell(r['input'])} | {_cell(r['before'])} | {r['exit_code']} | "
                     f"`{_cell(r['message'])}` | {'yes' if r['passed'] else '**no**'} |" for r in report["probes"])
    passed = sum(r["passed"] for r in report["probes"])
    tracebacks = sum(r["traceback"] for r in report["probes"])
    return f"""# Hardening: the hostile-input catalogue (issues #18 and #27)

Every probe of issues #18 and #27 that speechtl can answer with a message, run as a real
`python -m speechtl` process by `python -m tests.hostile_catalogue` on
{_machine(report['machine'])}. The raw results are in `benchmarks/results/hostile_catalogue.json`;
this document is generated from them by `python -m scripts.make_results` (edit `scripts/results/hardening.py`, not this file). The same
probes run in the default test suite (`tests/test_hostile_catalogue.py`), which
asserts the exit code, the message and that no traceback is printed.

**{passed} of {len(report['probes'])} probes give the expected message and exit code; {tracebacks} print a
traceback.** "Before" is the behaviour found on the earlier main, as issue #18 or #27 reports it;
"now" is the first line(s) of the error output, paths relative to the fixtures folder.

| probe | hostile input | before | exit | now | as expected |
|---|---|---|---|---|---|
{rows}

## The rules behind the table

- **Recipes and model files.** Every numeric field of every recipe section and of
  the model metadata declares its allowed interval (`speechtl.config.ranged`);
  `from_dict` checks it for recipes, `--set` overrides and model files alike, and
  the message carries the dotted key, the value and the interval. Floats must be
  finite. Cross-field rules (min <= max, odd kernels, `model.dim` a multiple of
  `model.heads` for the conformer, `frame_shift_ms <= frame_length_ms`) live in
  each section's `validate()`.
- **YAML.** Aliases (`*name`) are refused, in recipe files and in `--set` values, so
  an anchor bomb is a one-line error; a recipe is at most 1 MiB; values shown in
  messages are cut to about 80 characters (`speechtl.errors.shorten`).
- **One error boundary** (`speechtl.cli.main`): a user error (a `SpeechtlError`, or
  a file the system refused: missing folder, a file where a folder is needed,
  permissions) is one paragraph and exit status 2; a bad option is argparse's
  usage line and status 2; anything else is a bug, reported in two lines naming a
  log file with the full traceback, status 1.
- **Audio.** Samples are `(samples,)` or `(samples, channels)`; a channels-first
  array (torchaudio's `(1, N)`) is refused instead of being read as N channels.
  Float samples far outside [-1, 1] are scaled to peak 1 with a note instead of
  giving NaN features. An empty transcript carries a note saying why.
- **Words** are put in Unicode NFC by one function (`speechtl.text.normalize.nfc`)
  wherever they enter: lexicon entries and look-ups, word lists, the recogniser's
  `words`, transcripts, and both sides of an error rate.
- **Determinism.** `tests/test_determinism.py` runs `speechtl eval` (PER, lexicon
  WER and the homophones-merged WER*) and `speechtl decode --words` in processes with
  different `PYTHONHASHSEED`s and requires byte-identical output: the whole table,
  the whole JSON report and the whole transcript, not chosen columns.
- **Files the user owns** (issue #27). An `-o` file is written under a temporary
  name beside it and renamed when complete (`speechtl.outputs.AtomicOutput`), so a
  failed command leaves an earlier file as it was; an `-o` that is one of the inputs
  is refused before anything is opened. An experiment directory is locked by its run
  (`.speechtl.lock`: PID, host, start, command; a lock whose process is gone is taken
  over with a note) and keeps a manifest (`.speechtl-run.json`) of what was there
  before the run, so `--overwrite` removes only a run's outputs (without a manifest:
  only entries of the kinds a run writes). A full disk or a refused permission is a
  user error naming the path (exit 2), and the half-written file or checkpoint
  directory is removed. (`tests/test_file_safety.py`)
- **Model and recipe files** (issue #27). Model files are opened only when they are
  regular files (a FIFO is refused, never waited on); JSON is bounded in size and
  nesting before it is parsed (64 levels; recipes and `--set` values 32), the sizes
  `model.json` gives are checked against the tensor shapes of the weights' header on
  PyTorch's `meta` device before anything is allocated, and weights must match the
  SHA-256 their JSON records: a JSON without one is refused unless the user passes
  `--accept-unverified`. `pretrain` on few recordings uses as many duration buckets
  as it has recordings, and counts every skipped path by its cause (FIFO, dangling
  link, unreadable audio, duration). (`tests/test_model_files.py`)

Not covered here: issue #18's item 1 (shipped lexicons against model
inventories) belongs to the phone-set work.
"""


def page() -> str:
    """The whole page from the raw results."""
    return markdown(json.loads((RAW / "hostile_catalogue.json").read_text(encoding="utf-8")))
