"""The closest trained language by sound: frequency-weighted feature distance, several heads per phoneme, --from."""

from __future__ import annotations

import pytest
import torch

from speechtl.cli import main
from speechtl.errors import LanguageError
from speechtl.models.acoustic import AcousticModelConfig, build_acoustic_model
from speechtl.models.attributes import phoneme_counts, zero_shot_head
from speechtl.models.config import ModelConfig
from speechtl.models.io import load_model, save_model
from speechtl.models.attributes import blended_head
from speechtl.text.closest import (blend_sources, choose_sources, inventory_distance, language_weights,
                                   phone_sources, rank_heads)
from speechtl.text.g2p_lexicon import number_lexicon, shipped_lexicon
from speechtl.text.inventory import Inventory

DEMO = ["en", "de", "fr", "es", "it", "nl", "pt", "pl"]  # the README demo model's languages


def test_swahili_is_closest_to_a_five_vowel_language_not_english():
    """Not measured on audio: the choice alone, from eSpeak's pronunciations (shipped lexicons' inventories)."""
    inventories = {lang: sorted(shipped_lexicon(lang).symbols()) for lang in DEMO}
    counts = phoneme_counts(pron for _, pron in number_lexicon("sw").items())
    ranking = [head for head, _ in rank_heads(counts, inventories)]
    assert ranking[0] in {"es", "it", "pt"}  # a e i o u
    assert ranking.index("en") > ranking.index("es")


def test_frequency_decides_between_inventories():
    counts = {"a": 10, "i": 10, "u": 10, "ɓ": 1}
    five, english = ["a", "e", "i", "o", "u", "b"], ["æ", "ɪ", "ʊ", "ɓ"]
    assert inventory_distance(counts, five) < inventory_distance(counts, english)
    assert rank_heads(counts, {"en": english, "es": five})[0][0] == "es"
    even = {p: 1 for p in counts}  # unweighted, the rare implosive English has counts as much as a
    assert inventory_distance(even, english) < inventory_distance(counts, english)


def test_each_phoneme_takes_its_nearest_in_any_head_ties_to_the_closest():
    inventories = {"es": ["a", "e", "i", "o", "u", "b", "t"], "en": ["æ", "θ", "t", "b"]}
    sources = phone_sources(["a", "θ", "t", "ʃ"], inventories, ["es", "en"])
    assert (sources["a"].head, sources["a"].symbol) == ("es", "a")
    assert (sources["θ"].head, sources["θ"].symbol, sources["θ"].distance) == ("en", "θ", 0.0)  # another head
    assert sources["t"].head == "es"  # in both: the closest head's row
    _, only = choose_sources({"a": 1, "θ": 1}, inventories, only="es")
    assert {s.head for s in only.values()} == {"es"} and only["θ"].symbol != "θ"
    with pytest.raises(LanguageError, match="--from 'fr': the model has no head for it; its heads: es, en"):
        choose_sources({"a": 1}, inventories, only="fr")


def _base(tmp_path):
    torch.manual_seed(0)
    config = AcousticModelConfig(model=ModelConfig(encoder="tdnn", dim=16, layers=1))
    model = build_acoustic_model(config, {"en": Inventory(["æ", "θ", "t", "b", "ɪ"]),
                                          "es": Inventory(["a", "e", "i", "o", "u", "b", "t"])})
    save_model(model, tmp_path / "base")
    return model


def test_zero_shot_rows_come_from_several_heads(tmp_path):
    model = _base(tmp_path)
    new = Inventory(["a", "i", "θ", "t"])
    head, made = zero_shot_head(model.heads, None, new, counts={"a": 5, "i": 5, "θ": 1, "t": 2},
                                blank_offset=0.0, prior_weight=0.0, any_head=True)
    assert made["closest"] == "es" and made["mapped"] == {"θ": "en:θ"}
    en, es = model.heads.head("en"), model.heads.head("es")
    assert torch.equal(head.weight[new.index["θ"]], en.weight[model.inventories["en"].index["θ"]])
    assert torch.equal(head.weight[new.index["a"]], es.weight[model.inventories["es"].index["a"]])
    assert torch.equal(head.weight[0], es.weight[0])  # blank from the closest head
    _, one = zero_shot_head(model.heads, None, new, counts={"a": 5, "i": 5, "θ": 1, "t": 2}, choice="sound")
    assert one["closest"] == "es" and one["mapped"] == {"θ": "t"}  # the closest head's rows alone
    _, old = zero_shot_head(model.heads, None, new, choice="mean")  # the earlier rule: one head, unweighted
    assert len(old["ranking"]) == 1


def test_add_language_any_head_and_from(tmp_path, capsys):
    _base(tmp_path)
    lexicon = tmp_path / "sw.txt"
    lexicon.write_text("tata t a t a\nata a t a\nia i a\nthi θ i\n", encoding="utf-8")
    out = tmp_path / "zs"
    assert main(["add-language", "--model", str(tmp_path / "base"), "--lang", "sw", "--zero-shot", "--lexicon",
                 str(lexicon), "-o", str(out), "--any-head"]) == 0
    text = capsys.readouterr().out
    assert "closest trained heads by sound (frequency-weighted feature distance): es" in text
    assert "'θ': the closest trained head (es) lacks it; its nearest-phone part is en's 'θ''s row" in text
    assert main(["add-language", "--model", str(tmp_path / "base"), "--lang", "sw", "--zero-shot", "--lexicon",
                 str(lexicon), "--from", "EN", "-o", str(tmp_path / "from-en")]) == 0
    assert "--from en" in capsys.readouterr().out
    assert load_model(tmp_path / "from-en" / "model").languages == ["en", "es", "sw"]
    assert main(["add-language", "--model", str(tmp_path / "base"), "--lang", "sw", "--zero-shot", "--lexicon",
                 str(lexicon), "--from", "fr", "-o", str(tmp_path / "bad")]) == 2
    assert "its heads: en, es" in capsys.readouterr().err


def test_blend_weights_every_heads_nearest_phoneme_by_distance():
    inventories = {"es": ["a", "e", "t"], "it": ["a", "t"], "en": ["æ", "θ", "t"]}
    blend = blend_sources(["a", "θ", "t"], inventories, temperature=0.5)
    a = {s.head: (s.symbol, w) for s, w in blend["a"]}
    assert a["es"] == a["it"] and a["es"][0] == "a" and a["en"][0] == "æ"  # exact matches share the row
    assert a["en"][1] < a["es"][1] and sum(w for _, w in a.values()) == pytest.approx(1.0)
    assert max(blend["θ"], key=lambda sw: sw[1])[0].head == "en"  # the head that has it counts most
    assert [w for _, w in blend["t"]] == pytest.approx([1 / 3] * 3)
    sharper = {s.head: w for s, w in blend_sources(["a"], inventories, temperature=0.1)["a"]}
    assert sharper["en"] < a["en"][1]  # a lower temperature leaves the distant stand-in less
    with pytest.raises(ValueError, match="temperature"):
        blend_sources(["a"], inventories, temperature=0.0)


def test_a_language_temperature_favours_the_head_closest_as_a_whole():
    inventories = {"pl": ["a", "ɨ", "tɕ", "t"], "pt": ["a", "i", "t", "ɐ"]}
    new = ["a", "ɨ", "tɕ", "t"]
    assert language_weights(new, inventories, None) == {"pl": 1.0, "pt": 1.0}
    weights = language_weights(new, inventories, 0.05)
    assert weights["pl"] == 1.0 and weights["pt"] < 0.05  # pl has every phoneme; pt is far on average
    alike = {s.head: w for s, w in blend_sources(["t"], inventories)["t"]}
    leaning = {s.head: w for s, w in blend_sources(["t"], inventories, head_weights=weights)["t"]}
    assert alike["pl"] == alike["pt"] and leaning["pl"] > 0.95  # t is in both: only the whole decides
    with pytest.raises(ValueError, match="language temperature"):
        language_weights(new, inventories, -1.0)


def test_blended_rows_are_weighted_averages_of_centred_rows(tmp_path):
    model = _base(tmp_path)
    en, es = model.heads.head("en"), model.heads.head("es")
    with torch.no_grad():  # an offset added to every row of a head changes none of its outputs ...
        es.weight += 5.0
        es.bias += 3.0
    new = Inventory(["a", "θ", "t"])
    blend = blend_sources(new.phonemes, {k: v.phonemes for k, v in model.inventories.items()})
    head = blended_head(model.heads, new, blend)

    shared = 0.5 * (en.weight.mean(0) + es.weight.mean(0))  # every head's rows moved to this common mean

    def centred(h, symbol, inv):
        return h.weight[inv.index[symbol]] - h.weight.mean(0) + shared

    t = 0.5 * centred(en, "t", model.inventories["en"]) + 0.5 * centred(es, "t", model.inventories["es"])
    assert torch.allclose(head.weight[new.index["t"]], t, atol=1e-5)  # ... so it does not leak into the average
    blank = 0.5 * (en.weight[0] - en.weight.mean(0)) + 0.5 * (es.weight[0] - es.weight.mean(0)) + shared
    assert torch.allclose(head.weight[0], blank, atol=1e-5)  # blank: every head's, averaged
    _, made = zero_shot_head(model.heads, None, new, counts={"a": 5, "θ": 1, "t": 2})  # the default rule
    assert made["choice"] == "blend" and made["mapped"] == {"θ": "en:θ"}  # θ: mostly en's row


def test_the_default_rule_is_the_one_the_shipped_models_dev_languages_chose():
    """The library's rule and temperature equal what benchmarks/zero_shot_shipped.py chose on dev languages."""
    import json
    from pathlib import Path

    from speechtl.text.closest import LANGUAGE_TEMPERATURE, TEMPERATURE

    result = json.loads((Path(__file__).resolve().parents[2] / "benchmarks" / "results" /
                         "zero_shot_shipped.json").read_text(encoding="utf-8"))
    assert result["measured"] and set(result["plan"]["test_languages"]).isdisjoint(result["plan"]["dev_languages"])
    assert result["dev"]["closest"]["chosen"] == f"blend {TEMPERATURE:g} {LANGUAGE_TEMPERATURE}"
    defaults = result["library_defaults"]
    assert (defaults["choice"], defaults["temperature"], defaults["language_temperature"]) == \
        ("blend", TEMPERATURE, LANGUAGE_TEMPERATURE)  # the zero-shot rows of the page are the library's
