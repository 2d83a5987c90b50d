"""The results documents equal what ``python -m scripts.make_results`` generates from the raw JSON."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _script():
    from scripts import make_results

    return make_results


def test_committed_documents_equal_the_generated_ones():
    make = _script()
    stale = [str(doc) for doc in make.DOCUMENTS if make.render(doc.read_text()) != doc.read_text()]
    assert not stale, f"run python -m scripts.make_results: {stale}"
    assert "<!-- table:demo -->" in (ROOT / "RESULTS.md").read_text()


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


def test_every_table_the_script_makes_is_shown_somewhere():
    import re

    make = _script()
    shown = {name for doc in make.DOCUMENTS for name in re.findall(r"<!-- table:([\w-]+) -->", doc.read_text())}
    assert not set(make.TABLES) - shown, "table functions no document shows: delete them"


def test_the_languages_study_keeps_its_test_languages_out_of_the_choice():
    import json

    result = json.loads((ROOT / "benchmarks" / "results" / "zero_shot_languages.json").read_text(encoding="utf-8"))
    assert len(result["seeds"]) >= 3 and set(result["test_languages"]).isdisjoint(result["dev_languages"])


def test_real_speech_goals_headline_each_recording_alone_and_name_the_transductive_rows():
    from scripts.results import goals
    from scripts.results.common import md_row, read_raw

    table = goals.goals_table()
    real = [md_row(*r) for r in goals.fsdd_goal_rows()]  # the word-accuracy rows of FSDD test speakers
    assert len(real) >= 8 and all(r in table for r in real)
    for row in real:  # a row is either each recording alone or named transductive, never unnamed
        assert ("each recording alone" in row) != row.split(" | ")[1].startswith("**transductive**"), row
    # the per-speaker CMVN models' alone figures come from the raw JSON (alone_word_accuracy), not the transductive ones
    supervised = next(r for r in real if "per-speaker CMVN model" in r and "95%" in r)
    alone = [x["runs"]["per-speaker CMVN"]["alone_word_accuracy"] for x in read_raw("fsdd_supervised_speaker.json")["rotations"]]
    assert f"{sum(alone) / len(alone):.1f}" in supervised


def test_zero_shot_goals_are_computed_from_the_test_languages_alone(tmp_path, monkeypatch):
    import copy
    import json

    from scripts.results import zero_shot as tables

    raw = json.loads(tables.RAW.read_text(encoding="utf-8"))
    assert set(raw["plan"]["test_languages"]).isdisjoint(tables._dev_languages(raw))
    table = tables.languages_table()
    assert all(f"| {lang} |" not in table for lang in tables._dev_languages(raw))  # dev never reported
    worse = copy.deepcopy(raw)
    for seed in worse["runs"].values():
        for lang in raw["plan"]["test_languages"]:
            seed[lang]["zero-shot"]["per"] = 0.5  # every test language misses the PER goal
    path = tmp_path / "zero_shot_shipped.json"
    path.write_text(json.dumps(worse), encoding="utf-8")
    monkeypatch.setattr(tables, "RAW", path)
    assert "PER at most 35%: 50.0%, **not met**" in tables.goals()


def test_a_study_beside_its_peer_per_rotation_says_where_the_arm_falls_below(tmp_path, monkeypatch):
    import json

    from scripts.results import common, fsdd_studies as make

    monkeypatch.setattr(common, "STUDIES", tmp_path / "studies" / "results")
    monkeypatch.setattr(common, "RAW", tmp_path)
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


def test_an_ablation_table_pairs_each_arm_with_its_baseline_and_the_arm_it_builds_on(tmp_path, monkeypatch):
    import json

    from scripts.results import common, fsdd_studies as make

    monkeypatch.setattr(common, "STUDIES", tmp_path)
    wer = {"a": [0.5, 0.6, 0.55], "b": [0.4, 0.4, 0.45], "c": [0.42, 0.38, 0.5]}  # accuracy a 45 ± 5, b 58.3, c 56.7
    for arm, values in wer.items():
        for seed, w in enumerate(values):
            path = tmp_path / "s" / "cells" / arm / "all" / f"seed{seed}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"status": "ok", "rotation": "all", "seed": seed, "wall_seconds": 60,
                                        "metrics": {"target": {"wer_en": w}, "test": {"wer_en": 0.0}}}))
    (tmp_path / "s" / "summary.json").write_text(json.dumps({"arms": {k: [] for k in wer}, "baseline": "a"}))
    rows = make.study_accuracy_table("s", {"b": "a", "c": "b"}).splitlines()
    assert rows[2] == "| a | 3 | 45.0 ± 5.0 | – | – | 100.0 ± 0.0 | 1.0 |"
    assert rows[3].startswith("| b | 3 | 58.3 ± 2.9 | +13.3 ± 5.8: better (vs a) | +13.3 ± 5.8: better (vs a) |")
    assert "| -1.7 ± 3.5: tie (vs b) |" in rows[4]  # c against b: -2, +2, -5 points
