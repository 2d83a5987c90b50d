"""The hostile-input catalogue (issues #18 and #27), each probe run as a real ``python -m speechtl`` process.

Writes the raw results to ``benchmarks/results/hostile_catalogue.json`` and the
table of ``docs/results/hardening.md`` from them (``--doc-only`` regenerates the
document from the JSON). The probes and what each must print are in
``tests/hostile_catalogue.py``, shared with ``tests/cli/test_hostile_catalogue.py``.

    python benchmarks/hostile_catalogue.py
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from common import REPO, env, machine, write_result

sys.path.insert(0, str(REPO / "tests"))
from hostile_catalogue import PROBES, make_fixtures  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "hostile_catalogue.json"
DOC = REPO / "docs" / "results" / "hardening.md"


def run_probe(probe, fixtures: Path) -> dict:
    """Run one probe in its own process; what it printed, its exit status, and whether it passed."""
    cmd = [sys.executable, "-m", "speechtl", *probe.argv(fixtures)]
    proc = subprocess.run(cmd, env=env(1), cwd=REPO, capture_output=True, text=True, timeout=600)
    err = proc.stderr.replace(str(fixtures) + "/", "")  # paths relative to the fixtures folder
    lines = err.splitlines()
    first = next((i for i, line in enumerate(lines) if line.startswith("speechtl")), max(len(lines) - 1, 0))
    message = lines[first : first + 4]  # the message (and, for a lexicon, its first problems)
    shown = [re.sub(r"^\d\d:\d\d:\d\d ", "", line) for line in lines if probe.show and re.search(probe.show, line)]
    message = shown[:1] or message  # a probe that succeeds: the line that says what it did
    if not message and proc.stdout.strip():  # no complaint: what it printed instead
        message = ["(stdout) " + proc.stdout.strip().splitlines()[0].replace(str(fixtures) + "/", "")]
    return {"name": probe.name, "input": probe.input, "before": probe.before,
            "argv": ["speechtl", *[a.replace(str(fixtures) + "/", "") for a in cmd[3:]]],
            "exit_code": proc.returncode, "expected_exit_code": probe.code,
            "message": "\n".join(message), "stderr_bytes": len(proc.stderr.encode()),
            "traceback": "Traceback" in proc.stderr,
            "passed": proc.returncode == probe.code and "Traceback" not in proc.stderr
            and re.search(probe.expect, proc.stderr, re.M) is not None}


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
`python -m speechtl` process by `python benchmarks/hostile_catalogue.py` on
{_machine(report['machine'])}. The raw results are in `benchmarks/results/hostile_catalogue.json`;
this document is generated from them (edit the script, not this file). The same
probes run in the default test suite (`tests/cli/test_hostile_catalogue.py`), which
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
- **Determinism.** `tests/decoding/test_determinism.py` runs `speechtl eval` (PER, lexicon
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
  directory is removed. (`tests/training/test_file_safety.py`)
- **Model and recipe files** (issue #27). Model files are opened only when they are
  regular files (a FIFO is refused, never waited on); JSON is bounded in size and
  nesting before it is parsed (64 levels; recipes and `--set` values 32), the sizes
  `model.json` gives are checked against the tensor shapes of the weights' header on
  PyTorch's `meta` device before anything is allocated, and weights must match the
  SHA-256 their JSON records: a JSON without one is refused unless the user passes
  `--accept-unverified`. `pretrain` on few recordings uses as many duration buckets
  as it has recordings, and counts every skipped path by its cause (FIFO, dangling
  link, unreadable audio, duration). (`tests/models/test_model_files.py`)

Not covered here: issue #18's item 1 (shipped lexicons against model
inventories) belongs to the phone-set work.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--doc-only", action="store_true", help="regenerate the document from the JSON")
    parser.add_argument("--only", nargs="+", metavar="PROBE",
                        help="rerun these probes and replace their rows in the JSON (the others are kept)")
    args = parser.parse_args()
    if not args.doc_only:
        earlier = json.loads(RESULTS.read_text(encoding="utf-8"))["probes"] if args.only else []
        with tempfile.TemporaryDirectory() as tmp:
            fixtures = make_fixtures(Path(tmp) / "fixtures")
            fresh = {}
            for probe in PROBES:
                if args.only and probe.name not in args.only:
                    continue
                fresh[probe.name] = run_probe(probe, fixtures)
                print(f"{probe.name}: exit {fresh[probe.name]['exit_code']}, "
                      f"{'ok' if fresh[probe.name]['passed'] else 'NOT AS EXPECTED'}", flush=True)
        kept = {r["name"]: r for r in earlier}
        probes = [fresh.get(p.name) or kept[p.name] for p in PROBES]
        write_result(RESULTS.stem, {"machine": machine(), "probes": probes})
    DOC.write_text(markdown(json.loads(RESULTS.read_text(encoding="utf-8"))), encoding="utf-8")
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
