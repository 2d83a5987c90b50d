"""The one renderer of study results: a study's ``summary.json`` as markdown.

A table of arms x metrics (mean ± sample std over every seed and rotation, n
runs, and the verdict against the study's goal), the first metric per rotation (over that rotation's seeds;
for a study of several rotations), the paired differences against
the baseline arm with their verdicts by the tie rule, what dev selection chose
and on what, the prepared runs' figures, and how many cells failed (with their logs). Results pages embed it
(``scripts/make_results.py``); ``speechtl study STUDY.yaml --report`` prints it.
"""

from __future__ import annotations


def _figure(stats: dict) -> str:
    """``mean ± std (n=N)``; ``–`` where no run finished."""
    if not stats["n"]:
        return "–"
    std = f" ± {stats['std']:.3f}" if stats["std"] is not None else ""
    return f"{stats['mean']:.3f}{std} (n={stats['n']})"


def _row(cells: list) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _table(header: list[str], rows: list[list]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(r) for r in rows)]


def arms_table(summary: dict) -> list[str]:
    """Arms x metrics: mean ± std (n), and the goal verdict beside a metric that has a goal."""
    metrics = list(summary["metrics"])
    header = ["arm"]
    for m in metrics:
        direction = "lower" if summary["metrics"][m] == "lower" else "higher"
        header.append(f"{m} ({direction} is better)")
    rows = []
    for arm in summary["arms"]:
        row = [arm]
        for m in metrics:
            text = _figure(summary["results"][arm]["all"][m])
            goal = summary["goals"].get(arm, {}).get(m)
            if goal:
                sign = "≤" if summary["metrics"][m] == "lower" else "≥"
                text += f", goal {sign} {goal['goal']:g}: {goal['verdict']}"
            row.append(text)
        rows.append(row)
    return _table(header, rows)


def rotations_table(summary: dict) -> list[str]:
    """The first (headline) metric per arm and rotation, mean ± std over that rotation's seeds; nothing for a study
    of one rotation (the arms table says it all)."""
    rotations = list(summary["rotations"])
    if len(rotations) < 2:
        return []
    metric = next(iter(summary["metrics"]))
    rows = [[arm, *(_figure(summary["results"][arm][rotation][metric]) for rotation in rotations)]
            for arm in summary["arms"]]
    return ["", *_table([f"{metric} by rotation", *rotations], rows)]


def paired_table(summary: dict) -> list[str]:
    """Each arm minus the baseline, paired over matched seeds and rotations, with its verdict."""
    if not summary["paired"]:
        return []
    metrics = list(summary["metrics"])
    rows = []
    for pair, per_metric in summary["paired"].items():
        rows.append([pair, *(f"{_signed(per_metric[m])}: {per_metric[m]['verdict']}" for m in metrics)])
    return ["", *_table(["paired difference", *metrics], rows)]


def _signed(stats: dict) -> str:
    if not stats["n"]:
        return "no matched runs"
    std = f" ± {stats['std']:.3f}" if stats["std"] is not None else ""
    return f"{stats['mean']:+.3f}{std} (n={stats['n']})"


def selection_lines(summary: dict) -> list[str]:
    """One line per arm with a dev grid: what was chosen in each rotation, on which split and criterion."""
    lines = []
    for arm, by_rotation in summary["selection"].items():
        choices = []
        for rotation, choice in by_rotation.items():
            setting = ", ".join(f"{k}={v}" for k, v in (choice["setting"] or {}).items()) or "nothing finished"
            met = choice.get("constraint", {}).get("met") if choice["scores"] else None
            choices.append(f"{rotation}: {setting}" + ("" if met is None else
                                                       f" ({len(met)} of {len(choice['scores'])} points met it)"))
        first = next(iter(by_rotation.values()))
        bound = first.get("constraint")
        limit = "" if not bound else (f" among the points with {bound['metric']} "
                                      + (f"<= {bound['at_most']:g}" if "at_most" in bound else f">= {bound['at_least']:g}")
                                      + " (else the one nearest to it)")
        lines.append(f"- {arm}: chosen on {first['split']} by {first['criterion']} ({first['direction']} is better)"
                     f"{limit}, per rotation: {'; '.join(choices)}")
    return ["", "Dev selection (test never read):", *lines] if lines else []


def prepared_lines(summary: dict) -> list[str]:
    """One line per prepared run (per rotation, for one prepared per rotation): its recipe, how many seeds
    finished, and its figures."""
    lines = []
    for name, prep in summary.get("prepare", {}).items():
        figures = ", ".join(f"{m} {_figure(stats)}" for m, stats in prep["results"].items()) or "not scored"
        failed = f", {prep['failed']} failed" if prep["failed"] else ""
        failed += f", {prep['reused']} linked from {prep['reused_from']}" if prep.get("reused") else ""
        per = f"rotation {prep['rotation']}, once per seed" if prep.get("rotation") else "once per seed"
        lines.append(f"- {name}: {prep['recipe']} ({per}, {prep['ok']} finished{failed}): {figures}")
    return ["", "Prepared before the cells:", *lines] if lines else []


def render_markdown(summary: dict) -> str:
    """The study's results as markdown (see the module docstring)."""
    cells = summary["cells"]
    lines = [f"Study `{summary['study']}` ({summary['file']}): {len(summary['seeds'])} seeds x "
             f"{len(summary['rotations'])} rotations per arm; mean ± sample std over all of them.", "",
             *arms_table(summary), *rotations_table(summary), *paired_table(summary), *selection_lines(summary),
             *prepared_lines(summary), "",
             f"Cells: {cells['planned']} planned, {cells['ok']} finished, {cells['failed']} failed"
             + (f", {cells['not_run']} not run" if cells["not_run"] else "") + "."]
    lines += [f"- failed: {f['cell']} ({f['error']}; log {f['log']})" for f in cells["failures"]]
    if summary["paired"]:
        lines.append(f"Tie rule: {summary['tie_rule']}.")
    return "\n".join(lines) + "\n"
