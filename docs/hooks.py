"""mkdocs hook: the repository's RESULTS.md becomes the page ``results-overview.md``, read at build time.

RESULTS.md lives at the repository root (outside ``docs/``) and links to ``docs/results/*.md``;
the page keeps one copy of the text (the file itself) with those links made relative to ``docs/``.
"""

from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent


def on_files(files, config):
    text = (ROOT / "RESULTS.md").read_text(encoding="utf-8").replace("](docs/", "](")
    files.append(File.generated(config, "results-overview.md", content=text))
    return files
