"""The results documents' tables equal what scripts/make_results.py generates from the raw JSON."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "make_results.py"


def _script():
    spec = importlib.util.spec_from_file_location("make_results", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_documents_equal_the_generated_ones():
    make = _script()
    stale = [str(doc) for doc in make.DOCUMENTS if make.render(doc.read_text()) != doc.read_text()]
    assert not stale, f"run python scripts/make_results.py: {stale}"
    assert "<!-- table:demo -->" in (SCRIPT.parent.parent / "RESULTS.md").read_text()


def test_a_typed_number_is_caught_and_unknown_tables_refused():
    make = _script()
    text = "before\n<!-- table:demo -->\n<!-- /table -->\nafter\n"
    generated = make.render(text)
    assert generated.startswith("before\n<!-- table:demo -->\n| language |") and generated.endswith("after\n")
    assert make.render(generated) == generated
    typed = generated.replace("| en | 2277 | 12.12 | 14.66 |", "| en | 2277 | 12.12 | 14.86 |")
    assert typed != generated and make.render(typed) == generated  # the check would flag the typed number
    with pytest.raises(KeyError, match="unknown table 'nope'"):
        make.render("<!-- table:nope -->\n<!-- /table -->\n")


def test_the_languages_document_is_what_its_benchmark_generates_from_the_json():
    import json

    path = SCRIPT.parent.parent / "benchmarks" / "zero_shot_languages.py"
    spec = importlib.util.spec_from_file_location("zero_shot_languages", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = json.loads(module.RESULT.read_text(encoding="utf-8"))
    assert module.DOC.read_text(encoding="utf-8") == module.markdown(result), \
        "run python benchmarks/zero_shot_languages.py --report"
    assert len(result["seeds"]) >= 3 and set(result["test_languages"]).isdisjoint(result["dev_languages"])
