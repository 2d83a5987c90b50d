"""``steps: eval`` in a study: cells that only score a (prepared) model, with decode settings as overrides."""

from __future__ import annotations

import ast
import json
import shlex
from pathlib import Path

import pytest

from speechtl.cli import main
from speechtl.config import to_dict
from speechtl.errors import RecipeError
from speechtl.workflows.study import run_study
from speechtl.workflows.study_file import load_study, prepared_model

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "recipes" / "tiny.yaml"
SMALL = "train.max_steps=4, train.checkpoint_every=4, train.num_threads=1, model.dim=32, model.layers=2"

STUDY = f"""name: scoring
steps: eval
recipe: {TINY}
prepare:
  src: {{recipe: {TINY}, set: [{SMALL}, "data.languages=[en]"]}}
set: ["eval.model={{prepare.src}}", "data.languages=[en]"]
seeds: [0]
arms:
  beam: []
  isolated: [decode.isolated=true]
metrics: {{test.wer_en: lower, dev.per_en: lower}}
compare: {{baseline: beam}}
"""


def _corpus(tiny_corpus) -> list[str]:
    """The command line's overrides: the session's tiny corpus (prepared runs and cells alike)."""
    return [f"data.root={tiny_corpus.root}", f"data.synth={json.dumps(to_dict(tiny_corpus.synth))}"]


def _hypotheses(run: Path) -> list[list[str]]:
    """The words decoded from each test recording of a cell (its ``recogs-`` file's ``hyp=[...]`` lines)."""
    lines = (run / "recogs-eval_test-wer.txt").read_text(encoding="utf-8").splitlines()
    return [ast.literal_eval(line.split("hyp=", 1)[1]) for line in lines if "hyp=" in line]


def test_cells_score_the_prepared_model_with_each_arms_decode_setting_and_resume(tiny_corpus, tmp_path):
    path, out = tmp_path / "scoring.yaml", tmp_path / "out"
    path.write_text(STUDY)
    summary = run_study(path, out, jobs=2, overrides=_corpus(tiny_corpus))  # the second cell in its own process
    assert summary["cells"]["ok"] == 2 and summary["cells"]["failed"] == 0 and summary["ran_now"] == 2
    model = prepared_model(out, "src", 0)
    records = {arm: json.loads((out / "cells" / arm / "all" / "seed0.json").read_text()) for arm in ("beam", "isolated")}
    for arm, record in records.items():
        run = out / "runs" / arm / "all" / "seed0"
        assert record["status"] == "ok" and record["wall_seconds"] > 0 and record["steps"] == "eval"
        assert record["command"].startswith(f"speechtl eval --model {model} --recipe {TINY} ")
        assert record["command"].count("speechtl eval") == 2  # test and dev, each report in the cell's folder
        report = json.loads((run / "eval_test.json").read_text())
        assert record["metrics"]["test"]["wer_en"] == report["wer"]["en"]["rate"]
        assert set(record["metrics"]["dev"]) >= {"per_en", "per_mean", "wer_en", "wer_mean"}
        assert not (run / "model.json").exists()  # nothing trained
    assert "--set decode.isolated=true" in records["isolated"]["command"]
    # the decode setting reached the decoder (not the model's saved one): the same model and audio, other words,
    # one per recording (isolated decoding never gives nothing)
    isolated, beam = (_hypotheses(out / "runs" / arm / "all" / "seed0") for arm in ("isolated", "beam"))
    assert len(isolated) == len(beam) == 20 and all(len(words) == 1 for words in isolated) and isolated != beam
    # the same per (greedy, no decoding) in both arms; the summary pairs them
    assert records["beam"]["metrics"]["dev"]["per_en"] == records["isolated"]["metrics"]["dev"]["per_en"]
    pair = summary["paired"]["isolated - beam"]["test.wer_en"]
    assert pair["n"] == 1 and pair["mean"] == pytest.approx(records["isolated"]["metrics"]["test"]["wer_en"]
                                                            - records["beam"]["metrics"]["test"]["wer_en"])

    # the command a record gives is the cell: the first one (test) typed again decodes the same words
    again = shlex.split(records["isolated"]["command"].split(" && ")[0])[1:]
    again[again.index("-o") + 1] = str(tmp_path / "again" / "eval_test.json")
    assert main(again) == 0
    assert _hypotheses(tmp_path / "again") == isolated

    stamps = {p: p.stat().st_mtime_ns for p in (out / "cells").rglob("*.json")}
    assert run_study(path, out, overrides=_corpus(tiny_corpus))["ran_now"] == 0
    assert {p: p.stat().st_mtime_ns for p in (out / "cells").rglob("*.json")} == stamps

    # a cell that fails (the model's weights gone) is recorded with its log; the finished cell is not run again
    (out / "cells" / "isolated" / "all" / "seed0.json").unlink()
    model.with_suffix(".safetensors").unlink()
    summary = run_study(path, out, overrides=_corpus(tiny_corpus))
    assert summary["ran_now"] == 1 and (summary["cells"]["ok"], summary["cells"]["failed"]) == (1, 1)
    failure = summary["cells"]["failures"][0]
    assert failure["cell"] == "isolated/all/seed0" and "model.safetensors" in failure["error"]
    assert "Traceback" in Path(failure["log"]).read_text()
    beam = out / "cells" / "beam" / "all" / "seed0.json"
    assert beam.stat().st_mtime_ns == stamps[beam]


@pytest.mark.parametrize("change, line, words", [
    (("eval.model=", "eval.modle="), 6, r"set\[0\]: eval.modle: unknown option; eval accepts eval.model, eval.int8"),
    (("eval.model={prepare.src}", "eval.model=/nonexistent/model"), 6,
     r"set\[0\]: eval.model: /nonexistent/model: model file not found"),
    (("[decode.isolated=true]", "[eval.int8=maybe]"), 10, r"arms.isolated\[0\]: eval.int8: expected true or false"),
    (("steps: eval\n", ""), 5, r"set: eval.model: an eval option; needs steps: eval"),
    (('"eval.model={prepare.src}", ', ""), 9, r"arms.beam: eval.model: missing; every eval cell scores a model"),
    (("{prepare.src}", "{prepare.sorce}"), 6, r"set: \{prepare.sorce\}: no such prepared run; the study prepares src"),
    (("test.wer_en: lower", "target.wer_en: lower"), 11, r"metrics.target.wer_en: metric target.wer_en: an eval "
                                                          r"cell of arm beam reports per_en, per_mean, wer_en, wer_mean "
                                                          r"on dev, test, train \(did you mean test.wer_en\?\)"),
    (("dev.per_en: lower", "dev.per_english: lower"), 11, r"metrics.dev.per_english: metric dev.per_english: .* "
                                                          r"\(did you mean dev.per_en\?\)"),
])
def test_bad_eval_studies_are_refused_naming_the_line(tmp_path, change, line, words):
    path = tmp_path / "study.yaml"
    path.write_text(STUDY.replace(*change, 1))
    with pytest.raises(RecipeError, match=rf"study.yaml:{line}: {words}"):
        load_study(path)


def test_an_add_language_option_is_refused_in_an_eval_study(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text(STUDY.replace("[decode.isolated=true]", "[add-language.lang=es]"))
    with pytest.raises(RecipeError, match=r"study.yaml:10: arms.isolated: add-language.lang: an add-language "
                                          r"option; needs steps: add-language"):
        load_study(path)
