"""Helpers of the results tables: raw JSON, markdown rows, spreads, provenance and goal verdicts."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from speechtl.workflows.study_stats import verdict

ROOT = Path(__file__).resolve().parents[2]


RAW = ROOT / "benchmarks" / "results"


LANGS = ["de", "en", "es", "fr", "it", "nl", "pl", "pt"]


def read_raw(name: str) -> dict:
    return json.loads((RAW / name).read_text())


def md_row(*cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def md_table(header: list[str], rows: list[list]) -> str:
    return "\n".join([md_row(*header), md_row(*["---"] * len(header)), *(md_row(*r) for r in rows)]) + "\n"


def pm_pop(values: list[float], scale: float = 1.0, digits: int = 2) -> str:
    """``mean ± population std`` of ``values * scale`` (n runs), as text."""
    xs = [scale * v for v in values]
    return f"{statistics.fmean(xs):.{digits}f} ± {statistics.pstdev(xs):.{digits}f}"


def provenance_table(*names: str) -> str:
    """Where each raw output came from: command, date, machine load at the start and the end, and the
    seconds it took (a column only when every output records them)."""
    return provenance_rows([(f"`{name}`", read_raw(name)) for name in names])


def provenance_rows(calls: list[tuple[str, dict]]) -> str:
    """The provenance table of ``(label, raw output or one recorded call)`` pairs."""
    timed = all("seconds" in r for _, r in calls)
    rows = []
    for label, r in calls:
        m = r["machine"]
        end = r.get("load_average_at_end")
        rows.append([label, f"`{r['command']}`", m["date"], f"{m['cpus_usable']} of {m['cpu_count']}",
                     " / ".join(f"{x:.2f}" for x in m["load_average_at_start"]),
                     " / ".join(f"{x:.2f}" for x in end) if end else "-",
                     *([f"{r['seconds']:.0f}"] if timed else [])])
    return md_table(["raw output", "command", "date", "CPUs", "load average at start (1/5/15 min)",
                   "at end", *(["seconds"] if timed else [])], rows)


# after a figure measured with the test speakers normalised by their own other recordings (not each file alone)
TRANSDUCTIVE = " (**transductive**: test speakers normalised by their own recordings)"


def mean_std_text(values: list[float]) -> str:
    """``mean ± sample std (each)`` of per-rotation word accuracies."""
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.1f} ± {std:.1f} ({' / '.join(f'{v:.1f}' for v in values)})"


def change_text(v: dict) -> str:
    """A PER change's ``{"mean", "std"}`` in points, signed."""
    return f"{100 * v['mean']:+.2f} ± {100 * v['std']:.2f}"


def summary_percent(summary: dict, sign: str = "") -> str:
    """``mean ± std`` in percent of a ``{"mean", "std"}`` summary (no std for one run)."""
    std = "" if summary["std"] is None else f" ± {100 * summary['std']:.2f}"
    return f"{100 * summary['mean']:{sign}.2f}{std}"


GOAL_WORDS = {"better": "met", "worse": "**not met**", "tie": "a tie with the goal (inside the spread)"}


def goal_verdict(mean: float, std: float, goal: float, higher_is_better: bool = True) -> str:
    """``met`` / ``not met`` / ``a tie with the goal`` by the studies' one tie rule
    (:func:`speechtl.workflows.study_stats.verdict`: the goal within one standard deviation of the runs' mean)."""
    return GOAL_WORDS[verdict({"mean": mean, "std": std, "n": 2}, goal, higher_is_better)]


def summary_text(v: dict) -> str:
    return f"{v['mean']:.1f} ± {v['std']:.1f}%"


def mean_std_pct(values: list[float]) -> tuple[float, float, str]:
    mean, std = statistics.fmean(values), statistics.stdev(values)
    return mean, std, f"{mean:.1f} ± {std:.1f}%"


STUDIES = ROOT / "studies" / "results"


def study_folder(name: str) -> Path:
    """Where ``speechtl study -o`` wrote a study's records: ``studies/results/NAME``."""
    return STUDIES / name


def read_study(name: str) -> dict:
    """A study's summary (``studies/results/NAME/summary.json``)."""
    return json.loads((study_folder(name) / "summary.json").read_text())


def study_table(name: str) -> str:
    """A study's report from its summary (``studies/results/NAME/summary.json``), by the one study renderer."""
    from speechtl.workflows.study_report import render_markdown

    return render_markdown(read_study(name))
