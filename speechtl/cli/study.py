"""``speechtl study STUDY.yaml``: a comparison as data, run over arms, seeds and rotations, chosen on dev.

Runs every cell of the study file (each a normal train + eval of the base
recipe with the cell's overrides) that has not finished yet, writes one raw
JSON per cell and ``summary.json``, and prints the markdown report (mean ±
std per arm and metric, paired differences, goal verdicts, what dev chose).
``--report`` runs nothing and prints the report of the records there are.
See :mod:`speechtl.workflows.study_file` for the file's keys.
"""

from __future__ import annotations

from speechtl.cli import add_set_arg, command


def add_parser(sub) -> None:
    p = command(sub, "study", "run a study file (arms x seeds x rotations of a recipe, chosen on dev) and report it")
    p.add_argument("study", help="study YAML file (see studies/)")
    p.add_argument("-o", "--output", default=None, help="folder of the cells' records, runs and summary "
                                                        "(default: exp/study/NAME)")
    p.add_argument("--jobs", type=int, default=1, help="cells run at once, each in its own process")
    p.add_argument("--arms", nargs="+", default=[], metavar="ARM",
                   help="run only these arms' cells (the report still covers every arm)")
    p.add_argument("--rotations", nargs="+", default=[], metavar="ROTATION",
                   help="run only these rotations' cells (the report still covers every rotation)")
    p.add_argument("--seeds", nargs="+", type=int, default=[], metavar="SEED",
                   help="run only these seeds' cells (the report still covers every seed)")
    p.add_argument("--report", action="store_true", help="run nothing: print the report of the finished cells")
    add_set_arg(p, "every cell's recipe (after the study's own set; rotations, arms and grids still win)")
    p.set_defaults(func=run)


def run(args) -> int:
    from speechtl.errors import SpeechtlError
    from speechtl.workflows.study import run_study
    from speechtl.workflows.study_report import render_markdown

    if args.jobs < 1:
        raise SpeechtlError(f"--jobs {args.jobs}: expected 1 or more")
    summary = run_study(args.study, args.output, args.jobs, args.overrides, report_only=args.report, arms=args.arms,
                        rotations=args.rotations, seeds=args.seeds)
    print(render_markdown(summary), end="")
    print(f"(records, summary.json and report.md in {summary['output']})")
    return 0
