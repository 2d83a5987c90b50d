"""The docs site (mkdocs.yml, docs/) builds with ``mkdocs build --strict``: every page, link and API reference."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("mkdocs", reason="mkdocs is not installed: pip install -e '.[docs]' (the dev extra has it)")
pytest.importorskip("material", reason="mkdocs-material is not installed: pip install -e '.[docs]'")
pytest.importorskip("mkdocstrings_handlers.python", reason="mkdocstrings[python] is not installed: pip install -e '.[docs]'")


def test_the_site_builds_strictly(tmp_path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
                           "-d", str(tmp_path / "site")], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    site = tmp_path / "site"
    assert (site / "getting-started" / "index.html").is_file()
    overview = (site / "results-overview" / "index.html").read_text(encoding="utf-8")
    assert "Results" in overview and 'href="../results/serve/' in overview  # RESULTS.md, links into docs/results
    api = (site / "api" / "recognition" / "index.html").read_text(encoding="utf-8")
    assert "Recognise the words of one recording" in api  # a docstring of Recognizer.transcribe


def test_every_results_page_is_in_the_nav():
    import yaml

    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    config = yaml.load(nav, Loader=yaml.BaseLoader)  # plain text: nav entries only
    listed = {page for section in config["nav"] for page in _pages(section)}
    missing = [p.name for p in (ROOT / "docs" / "results").glob("*.md") if f"results/{p.name}" not in listed]
    assert not missing, f"add these to mkdocs.yml's nav (Results): {missing}"


def _pages(entry):
    if isinstance(entry, str):
        yield entry
    elif isinstance(entry, dict):
        for value in entry.values():
            yield from _pages(value)
    elif isinstance(entry, list):
        for value in entry:
            yield from _pages(value)
