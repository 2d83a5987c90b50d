"""speechtl score and plot confusions: file formats, exact counts, icefall-style files, bad ids."""

from __future__ import annotations

import json

import pytest

from speechtl.cli import main
from speechtl.decoding.scoring import align, alignment_text, confusion_counts, score
from speechtl.decoding.transcript_files import paired, read_transcripts
from speechtl.errors import SpeechtlError

REF = "u1 the cat sat\nu2 a dog ran far\nu3 hello\n"


def test_the_four_formats_read_the_same_transcripts(tmp_path):
    (tmp_path / "text").write_text(REF)  # Kaldi text: `id words...`
    (tmp_path / "ref.txt").write_text(REF)
    (tmp_path / "ref.jsonl").write_text("".join(json.dumps({"id": line.split()[0], "text": " ".join(line.split()[1:])})
                                                + "\n" for line in REF.splitlines()))
    ctm = [f"{line.split()[0]} 1 {0.5 * i:.2f} 0.4 {word} 0.9"
           for line in REF.splitlines() for i, word in enumerate(line.split()[1:])]
    (tmp_path / "ref.ctm").write_text(";; a comment\n" + "\n".join(reversed(ctm)) + "\n")  # any line order
    (tmp_path / "ctm-no-suffix").write_text("\n".join(ctm) + "\n")
    want = {"u1": "the cat sat", "u2": "a dog ran far", "u3": "hello"}
    for name in ("text", "ref.txt", "ref.jsonl", "ref.ctm", "ctm-no-suffix"):
        assert read_transcripts(tmp_path / name) == want, name


def test_counts_and_alignment_are_exact():
    result = score([("u1", "the cat sat", "the cat sad"), ("u2", "a dog ran far", "a dog ran"),
                    ("u3", "hello", "hello there"), ("u4", "", "noise")])
    c = result.counts
    assert (c.substitutions, c.deletions, c.insertions, c.reference_length) == (1, 1, 2, 8)
    assert [alignment_text(u.pairs) for u in result.utterances] == [
        "the cat (sat->sad)", "a dog ran (far->*)", "hello (*->there)", "(*->noise)"]
    assert result.substitutions == {("sat", "sad"): 1}
    assert result.deletions == {"far": 1} and result.insertions == {"there": 1, "noise": 1}
    assert result.characters.substitutions == 1  # sat -> sad, one letter
    assert align([], ["x"]) == [(None, "x")] and align(["x"], []) == [("x", None)]


def test_phoneme_unit_leaves_word_boundaries_out_and_counts_confusions():
    result = score([("u1", "t ə | k æ t", "t ə k ɛ t"), ("u2", "d ɔ ɡ", "t ɔ")], unit="phoneme")
    assert result.counts.reference_length == 8 and result.characters is None
    assert result.substitutions == {("æ", "ɛ"): 1, ("d", "t"): 1} and result.deletions == {"ɡ": 1}
    labels, matrix = confusion_counts(result, top=3)
    assert labels == ["t", "ə", "k", "*"]  # the 3 most frequent reference phonemes, then "nothing"
    t, star = labels.index("t"), labels.index("*")
    assert matrix[t][t] == 2  # t right twice; d -> t is left out (d not among the top 3)
    assert sum(map(sum, matrix)) == 2 + 1 + 1  # t twice, ə and k once: pairs with a token outside the top 3 are left out
    assert matrix[star][star] == 0


def test_ids_that_do_not_match_are_named_with_counts():
    refs = {f"u{i}": "a" for i in range(10)}
    hyps = {f"u{i}": "a" for i in range(3)} | {"stray": "b"}
    with pytest.raises(SpeechtlError) as err:
        paired(refs, hyps, "ref.txt", "hyp.txt")
    message = str(err.value)
    assert "7 of the 10 ids of ref.txt have no hypothesis in hyp.txt (first: u3, u4, u5, u6, u7)" in message
    assert "1 of the 4 ids of hyp.txt are not in ref.txt (first: stray)" in message
    assert paired({"a": "x", "b": "y"}, {"a": "x"}, empty_ok=True) == [("a", "x", "x"), ("b", "y", "")]


def test_bad_lines_name_file_and_line(tmp_path):
    (tmp_path / "h.jsonl").write_text('{"id": "u1", "text": "a"}\n{"id": "u2"}\n')
    with pytest.raises(SpeechtlError, match=r"h.jsonl:2: expected an object with \"id\""):
        read_transcripts(tmp_path / "h.jsonl")
    (tmp_path / "h.txt").write_text("u1 a\nu1 b\n")
    with pytest.raises(SpeechtlError, match=r"h.txt:2: id 'u1' appears twice"):
        read_transcripts(tmp_path / "h.txt")


def test_score_cli_prints_rates_and_writes_icefall_files(tmp_path, capsys):
    (tmp_path / "ref.txt").write_text(REF)
    (tmp_path / "hyp.ctm").write_text("u1 1 0.0 0.2 the\nu1 1 0.3 0.2 cat\nu1 1 0.6 0.2 sad\n"
                                      "u2 1 0.0 0.2 a\nu2 1 0.3 0.2 dog\nu2 1 0.6 0.2 ran\n")  # u3: no words
    assert main(["score", "--ref", str(tmp_path / "ref.txt"), "--hyp", str(tmp_path / "hyp.ctm"),
                 "-o", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "%WER 37.50 [ 3 / 8, 0 ins, 2 del, 1 sub ]" in out
    assert "%CER" in out and "1  sat -> sad" in out
    errs = (tmp_path / "out" / "errs-hyp.txt").read_text()
    assert "u1:\tthe cat (sat->sad)" in errs and "u3:\t(hello->*)" in errs
    recogs = (tmp_path / "out" / "recogs-hyp.txt").read_text().splitlines()
    assert recogs[:2] == ["u1:\tref=['the', 'cat', 'sat']", "u1:\thyp=['the', 'cat', 'sad']"]


def test_score_cli_refuses_mismatched_ids(tmp_path, capsys):
    (tmp_path / "ref.txt").write_text(REF)
    (tmp_path / "hyp.txt").write_text("u1 the cat\n")
    assert main(["score", "--ref", str(tmp_path / "ref.txt"), "--hyp", str(tmp_path / "hyp.txt")]) == 2
    assert "2 of the 3 ids" in capsys.readouterr().err and not list(tmp_path.glob("errs-*"))


def test_plot_confusions_writes_a_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    (tmp_path / "ref.jsonl").write_text('{"id": "a", "text": "x", "phonemes": "t ə k æ t"}\n')
    (tmp_path / "hyp.jsonl").write_text('{"id": "a", "text": "y", "phonemes": "t ə k ɛ t s"}\n')
    out = tmp_path / "conf.png"
    assert main(["plot", "confusions", "--ref", str(tmp_path / "ref.jsonl"), "--hyp", str(tmp_path / "hyp.jsonl"),
                 "-o", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 5000


def test_evaluation_writes_per_utterance_files_that_agree_with_its_report(tdnn_en_model, tmp_path):
    from speechtl.workflows.evaluate import evaluate

    report = evaluate(tdnn_en_model, "test", output=tmp_path / "report.json", progress=False)
    per = report["per"]["en"]
    errs = (tmp_path / "errs-report-per.txt").read_text(encoding="utf-8")
    assert errs.startswith(f"%PER {100 * per['rate']:.2f} [ {per['errors']} / {per['reference_length']},")
    recogs = (tmp_path / "recogs-report-per.txt").read_text(encoding="utf-8").splitlines()
    assert len(recogs) == 2 * per["utterances"] and "\tref=[" in recogs[0] and "\thyp=[" in recogs[1]
    if "wer" in report:
        wer = report["wer"]["en"]
        assert (tmp_path / "errs-report-wer.txt").read_text(encoding="utf-8").startswith(
            f"%WER {100 * wer['rate']:.2f} [ {wer['errors']} / {wer['reference_length']},")
