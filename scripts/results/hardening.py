"""docs/results/hardening.md's probes table, from benchmarks/results/hostile_catalogue.json (``python -m tests.hostile_catalogue``)."""

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
    return f"""Every probe of issues #18 and #27 that speechtl can answer with a message, run as a real
`python -m speechtl` process by `python -m tests.hostile_catalogue` on
{_machine(report['machine'])}. The raw results are in `benchmarks/results/hostile_catalogue.json`;
this block is generated from them by `python -m scripts.make_results` (`scripts/results/hardening.py`). The same
probes run in the default test suite (`tests/cli/test_hostile_catalogue.py`), which
asserts the exit code, the message and that no traceback is printed.

**{passed} of {len(report['probes'])} probes give the expected message and exit code; {tracebacks} print a
traceback.** "Before" is the behaviour found on the earlier main, as issue #18 or #27 reports it;
"now" is the first line(s) of the error output, paths relative to the fixtures folder.

| probe | hostile input | before | exit | now | as expected |
|---|---|---|---|---|---|
{rows}
"""


def hardening_table() -> str:
    """The run and the probes table from the raw results."""
    return markdown(json.loads((RAW / "hostile_catalogue.json").read_text(encoding="utf-8")))


TABLES = {"hardening": hardening_table}
