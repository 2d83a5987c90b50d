"""Zero-shot phonemes through articulatory attributes: composition, training term, add-language --zero-shot."""

from __future__ import annotations

import pytest
import torch

from speechtl.cli import main
from speechtl.models.acoustic import AcousticModelConfig, build_acoustic_model
from speechtl.models.attributes import (BLANK_OFFSET, MIX, PRIOR_WEIGHT, AttributeDetectors, compose_logits,
                                       log_prior, nearest_phone_head, project_signatures, signature_matrix)
from speechtl.models.config import ModelConfig
from speechtl.models.io import load_model, save_model
from speechtl.text.inventory import Inventory
from speechtl.text.phonesets import ATTRIBUTES, attribute_signature, nearest_phone

INV = Inventory(["b", "p", "m", "a", "i"])


def test_signatures_are_panphon_features():
    sig = {p: dict(zip(ATTRIBUTES, attribute_signature(p))) for p in ["b", "p", "m", "a", "aɪ"]}
    assert sig["b"]["voi"] == 1 and sig["p"]["voi"] == -1 and sig["m"]["nas"] == 1 and sig["b"]["nas"] == -1
    assert sig["a"]["syl"] == 1 and sig["a"]["lo"] == 1 and sig["aɪ"]["hi"] == 0.0  # a low, ɪ high: half each
    assert signature_matrix(INV).shape == (5, len(ATTRIBUTES))


def test_a_phonemes_score_is_what_its_attributes_give_on_hand_built_posteriors():
    k = len(ATTRIBUTES)
    z = torch.zeros(1, 3, 2 + k)  # (batch, time, blank + boundary + attributes)
    z[0, :, 0], z[0, :, 1] = torch.tensor([5.0, -1.0, 0.0]), -3.0
    voi, nas, lab = (2 + ATTRIBUTES.index(a) for a in ("voi", "nas", "lab"))
    z[0, 1, voi], z[0, 1, nas], z[0, 1, lab] = 2.0, -4.0, 3.0  # frame 1: voiced, oral, labial: [b]
    logits = compose_logits(z, signature_matrix(INV))
    assert logits.shape == (1, 3, len(INV))
    assert torch.equal(logits[0, :, :2], z[0, :, :2])  # blank and boundary pass through
    sig = signature_matrix(INV)
    for p, phoneme in enumerate(INV.phonemes):  # each phoneme's score is its signature times the attribute logits
        expected = sum(float(sig[p, j]) * float(z[0, 1, 2 + j]) for j in range(k))
        assert logits[0, 1, 2 + p].item() == pytest.approx(expected)
    assert INV.decode([int(logits[0, 1].argmax())]) == ["b"]  # voiced oral labial: b, not p or m
    detectors = AttributeDetectors(8)
    hidden = torch.randn(2, 4, 8)
    head = detectors.compose_head(INV, blank_offset=0.0)  # the composed head is an ordinary linear head
    assert torch.allclose(head(hidden), compose_logits(detectors(hidden), signature_matrix(INV)), atol=1e-5)


def test_attribute_values_no_trained_phoneme_had_take_the_trained_mean():
    trained = signature_matrix(Inventory(["p", "t", "k", "b", "a"]))  # nobody aspirated: sg is -1 throughout
    new = Inventory(["kʰ", "k", "ħ"])
    kh, k, h = (new.phonemes.index(p) for p in ("kʰ", "k", "ħ"))
    sig = signature_matrix(new)
    projected = project_signatures(sig, trained)
    sg = ATTRIBUTES.index("sg")
    assert sig[kh, sg] == 1 and projected[kh, sg] == -1  # aspiration never seen: scored as its unaspirated kin
    assert torch.equal(projected[kh], projected[k])  # kʰ and k now identical
    assert torch.equal(projected[k], sig[k])  # a trained phoneme's signature is untouched
    lo = ATTRIBUTES.index("lo")  # ħ is [+low]; only a is, so the value was seen and is kept
    assert sig[h, lo] == 1 and projected[h, lo] == 1
    mixed = torch.tensor([[1.0], [0.0], [0.0], [0.0]])  # one attribute, never negative in training: mean 0.25
    assert project_signatures(torch.tensor([[-1.0], [1.0], [0.0]]), mixed).flatten().tolist() == [0.25, 1.0, 0.0]


def test_the_composed_head_with_training_inventories_and_blank_offset_scores_as_its_parts():
    detectors = AttributeDetectors(8)
    trained, new = Inventory(["p", "t", "k", "b", "a"]), Inventory(["kʰ", "k", "a"])
    hidden = torch.randn(2, 5, 8)
    head = detectors.compose_head(new, trained=[trained], blank_offset=2.5)
    sig = project_signatures(signature_matrix(new), signature_matrix(trained))
    expected = compose_logits(detectors(hidden), sig)
    expected[..., 0] -= 2.5  # blank lowered by the offset; boundary and phonemes as composed
    assert torch.allclose(head(hidden), expected, atol=1e-5)
    plain = detectors.compose_head(new, blank_offset=0.0)  # no training inventories: signatures as they are
    assert torch.allclose(plain(hidden), compose_logits(detectors(hidden), signature_matrix(new)), atol=1e-5)
    assert not torch.allclose(plain.weight, head.weight)


def test_a_lexicon_prior_breaks_ties_between_phonemes_the_attributes_cannot_tell_apart():
    from speechtl.models.attributes import log_prior, phoneme_counts, zero_shot_head

    config = AcousticModelConfig(model=ModelConfig(encoder="tdnn", dim=16, layers=1, attributes=0.5))
    base = build_acoustic_model(config, {"de": Inventory(["k", "a", "t"])})
    new = Inventory(["k", "kʰ", "a"])  # no trained phoneme is aspirated: kʰ's row equals k's
    counts = phoneme_counts([("kʰ", "a"), ("kʰ", "a", "kʰ"), ("a", "k")])  # kʰ 3, a 3, k 1
    assert counts == {"kʰ": 3, "a": 3, "k": 1}
    hidden = torch.randn(1, 4, 16)
    plain, _ = zero_shot_head(base.heads, base.attributes, new, mix=0.5, blank_offset=0.0, prior_weight=0.0,
                              counts=counts)
    k, kh = new.index["k"], new.index["kʰ"]
    # a tie (equal rows; a matrix product may round two columns apart in the last bit on some CPUs)
    torch.testing.assert_close(plain(hidden)[..., k], plain(hidden)[..., kh], rtol=0, atol=1e-5)
    with_prior, _ = zero_shot_head(base.heads, base.attributes, new, mix=0.5, blank_offset=0.0, prior_weight=1.0,
                                   counts=counts)
    expected = plain(hidden)
    expected[..., 2:] += log_prior(new, counts)  # (count + 1) / total, centred: kʰ and a log 4, k log 2
    assert torch.allclose(with_prior(hidden), expected, atol=1e-5)
    assert (with_prior(hidden)[..., kh] > with_prior(hidden)[..., k]).all()  # the frequent one wins now
    assert log_prior(new, counts).sum().abs() < 1e-6


def test_attribute_term_trains_the_detectors_and_they_are_saved(tmp_path):
    from speechtl.data.dataset import Batch
    from speechtl.tasks.speech.objective import CTCTask

    config = AcousticModelConfig(model=ModelConfig(encoder="tdnn", dim=16, layers=1, attributes=0.5))
    model = build_acoustic_model(config, {"de": INV})
    assert model.attributes is not None
    batch = Batch(feats=torch.randn(2, 80, 80), lengths=torch.tensor([80, 60]), languages=["de", "de"],
                  targets=[torch.tensor(INV.encode("b a")), torch.tensor(INV.encode("m i"))],
                  ids=["u1", "u2"], speakers=["s1", "s2"])
    out = CTCTask(model)(batch)
    assert "attribute_ctc" in out.logs and out.logs["attribute_ctc"] > 0
    out.loss.backward()
    assert model.attributes.linear.weight.grad.abs().sum() > 0  # the term reaches the detectors
    save_model(model, tmp_path / "m")
    again = load_model(tmp_path / "m")
    assert torch.equal(again.attributes.linear.weight, model.attributes.linear.weight)


def test_nearest_phone_head_copies_rows_of_the_nearest_trained_phoneme():
    config = AcousticModelConfig(model=ModelConfig(encoder="tdnn", dim=16, layers=1))
    model = build_acoustic_model(config, {"de": Inventory(["k", "a", "i"])})
    head, mapped = nearest_phone_head(model.heads, Inventory(["x", "a"]))
    assert mapped == {"x": "k"}
    de = model.heads.head("de")
    new = Inventory(["x", "a"])
    assert torch.equal(head.weight[new.index["x"]], de.weight[model.inventories["de"].index["k"]])
    assert torch.equal(head.weight[0], de.weight[0])  # blank


@pytest.mark.parametrize("attributes", [0.5, 0.0])
def test_add_language_zero_shot_composes_a_head_from_the_inventory_alone(tmp_path, capsys, attributes):
    config = AcousticModelConfig(model=ModelConfig(encoder="tdnn", dim=16, layers=1, attributes=attributes))
    base = build_acoustic_model(config, {"de": Inventory(["k", "a", "i", "n", "t"])})
    save_model(base, tmp_path / "base")
    lexicon = tmp_path / "sw.txt"
    lexicon.write_text("habari h a b a r i\nndiyo ⁿd i j ɔ\n", encoding="utf-8")
    out = tmp_path / "zs"
    assert main(["add-language", "--model", str(tmp_path / "base"), "--lang", "sw", "--zero-shot",
                 "--lexicon", str(lexicon), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    model = load_model(out / "model")
    assert model.languages == ["de", "sw"] and set(model.inventories["sw"].phonemes) == set("habrijɔ") | {"ⁿd"}
    sw, de = model.inventories["sw"], model.inventories["de"]
    hidden = torch.randn(1, 3, 16)
    nearest = hidden @ base.heads.head("de").weight.T + base.heads.head("de").bias  # de's rows: k a i n t
    rows = [de.index[p if p in de.index else nearest_phone(p, de.phonemes)[0]] for p in sw.tokens]
    nearest = nearest[..., rows]
    assert "'b': the closest trained head (de) lacks it; its nearest-phone part is mostly 't''s row" in text
    blended = "every head's, blended by distance"  # one head here: de's rows, copied
    if attributes:  # MIX of the composed head, the rest nearest phonemes; blank lowered by BLANK_OFFSET
        assert f"head composed (attributes, {MIX:g} composed + {1 - MIX:g} nearest phonemes: {blended})" in text
        sig = project_signatures(signature_matrix(sw), signature_matrix(de))
        expected = MIX * compose_logits(model.attributes(hidden), sig) + (1 - MIX) * nearest
    else:
        assert f"head composed (nearest-phone, nearest phonemes: {blended})" in text
        expected = nearest
    expected[..., 0] -= BLANK_OFFSET
    counts = {"h": 1, "a": 2, "b": 1, "r": 1, "i": 2, "ⁿd": 1, "j": 1, "ɔ": 1}  # the lexicon's phonemes
    expected[..., 2:] += PRIOR_WEIGHT * log_prior(sw, counts)
    assert torch.allclose(model.heads(hidden, "sw"), expected, atol=1e-5)
    assert main(["add-language", "--model", str(tmp_path / "base"), "--lang", "sw"]) == 2  # no --data


def test_with_audio_the_composed_rows_start_the_phonemes_no_old_head_has():
    from speechtl.tasks.speech.model import start_heads

    config = AcousticModelConfig(model=ModelConfig(encoder="tdnn", dim=16, layers=1, attributes=0.5))
    source = build_acoustic_model(config, {"de": Inventory(["k", "a"])})
    new_inv = Inventory(["k", "a", "ħ"])
    model = build_acoustic_model(config, {"de": source.inventories["de"], "ar": new_inv})
    start_heads(model, source, init_new=True, kept=[])
    head, composed = model.heads.head("ar"), source.attributes.compose_head(new_inv, trained=[source.inventories["de"]])
    i, k = new_inv.index["ħ"], new_inv.index["k"]
    assert torch.equal(head.weight[i], composed.weight[i])  # unseen: composed from its attributes
    assert torch.equal(head.weight[k], source.heads.head("de").weight[source.inventories["de"].index["k"]])
