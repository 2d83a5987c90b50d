"""Write the tables of RESULTS.md and docs/results/*.md from the raw JSON in benchmarks/results/.

A generated table sits between ``<!-- table:NAME -->`` and ``<!-- /table -->``;
the prose around it stays hand-written. ``<!-- table:study-NAME -->`` is the report
of the study whose records are in ``studies/results/NAME/`` (``speechtl study -o``). Every number in such a table is read
from a benchmark's raw output, so it cannot drift from its source. The tables are made by the modules of
``scripts/results/`` (one per group of pages); this is only the registry and the driver.

    python -m scripts.make_results           # rewrite the documents
    python -m scripts.make_results --check   # exit 1 when a committed document differs

``tests/test_results_documents.py`` runs the check in the default test suite.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable

from scripts.results import fsdd, fsdd_studies, goals, hardening, languages, serve, systems, transfer, vad, zero_shot
from scripts.results.common import ROOT, study_table

DOCUMENTS = [ROOT / "RESULTS.md", *sorted((ROOT / "docs" / "results").glob("*.md"))]


BLOCK = re.compile(r"(<!-- table:([\w-]+) -->\n)(.*?)(<!-- /table -->)", re.S)


TABLES: dict[str, Callable[[], str]] = {}
for _page in (fsdd, fsdd_studies, goals, hardening, languages, serve, systems, transfer, vad, zero_shot):
    TABLES.update(_page.TABLES)


def render(text: str) -> str:
    """``text`` with every table block regenerated.

    Raises:
        KeyError: a block names a table this script does not make.
    """
    def fill(m: re.Match) -> str:
        name = m.group(2)
        if name.startswith("study-"):  # any study's report: a new comparison needs no code here
            return m.group(1) + study_table(name.removeprefix("study-")) + m.group(4)
        if name not in TABLES:
            raise KeyError(f"unknown table {name!r}; known: {', '.join(TABLES)}")
        return m.group(1) + TABLES[name]() + m.group(4)

    return BLOCK.sub(fill, text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="only report documents that differ; exit 1 if any")
    args = ap.parse_args(argv)
    stale = []
    for doc in DOCUMENTS:
        text = doc.read_text()
        new = render(text)
        if new != text:
            stale.append(doc.relative_to(ROOT))
            if not args.check:
                doc.write_text(new)
    for path in stale:
        print(f"{'differs from its raw JSON' if args.check else 'rewritten'}: {path}")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
