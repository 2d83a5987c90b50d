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
    row = next(line for line in generated.splitlines() if line.startswith("| en |"))
    cells = row.split(" | ")
    cells[2] = f"{float(cells[2]) + 0.2:.2f}"  # a PER typed over the generated one
    typed = generated.replace(row, " | ".join(cells))
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


def test_real_speech_goals_headline_each_recording_alone_and_name_the_transductive_rows():
    make = _script()
    table = make.goals_table()
    real = [make._row(*r) for r in make._fsdd_goal_rows()]  # the word-accuracy rows of FSDD test speakers
    assert len(real) >= 8 and all(r in table for r in real)
    for row in real:  # a row is either each recording alone or named transductive, never unnamed
        assert ("each recording alone" in row) != row.split(" | ")[1].startswith("**transductive**"), row
    # the per-speaker CMVN models' alone figures come from the raw JSON (alone_word_accuracy), not the transductive ones
    supervised = next(r for r in real if "per-speaker CMVN model" in r and "95%" in r)
    alone = [x["runs"]["per-speaker CMVN"]["alone_word_accuracy"] for x in make._raw("fsdd_supervised_speaker.json")["rotations"]]
    assert f"{sum(alone) / len(alone):.1f}" in supervised


def test_a_study_beside_its_peer_per_rotation_says_where_the_arm_falls_below(tmp_path, monkeypatch):
    import json

    make = _script()
    monkeypatch.setattr(make, "ROOT", tmp_path)
    monkeypatch.setattr(make, "RAW", tmp_path)
    folder = tmp_path / "studies" / "results" / "s"
    wer = {"a": [0.2, 0.3], "b": [0.1, 0.4]}  # word accuracy a: 80, 70; b: 90, 60
    results = {arm: {rot: {"test.wer_en": {"mean": w, "n": 1}} for rot, w in zip(["r1", "r2"], ws)}
               for arm, ws in wer.items()}
    (folder / "cells" / "a" / "r1").mkdir(parents=True)
    (folder / "cells" / "a" / "r1" / "seed0.json").write_text(json.dumps({"status": "ok", "wall_seconds": 120}))
    (folder / "summary.json").write_text(json.dumps({"rotations": {"r1": [], "r2": []}, "arms": {"a": [], "b": []},
                                                     "results": results}))
    (tmp_path / "peer.json").write_text(json.dumps({"rotations": [{"runs": [{"word_accuracy": 75.0}]},
                                                                  {"runs": [{"word_accuracy": 65.0}]}]}))
    rows = make.study_rotations_table("s", "peer.json").splitlines()
    assert rows[2] == "| peer: peer.json | 75.0 | 65.0 | 70.0 ± 7.1 |  |  |"
    assert rows[3] == "| a | 80.0 | 70.0 | 75.0 ± 7.1 | yes | 2.0 |"
    assert rows[4] == "| b | 90.0 | 60.0 | 75.0 ± 21.2 | no | – |"  # better on average, below the peer in r2
