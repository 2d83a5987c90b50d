"""Whole Hugging Face CTC phoneme checkpoints as speechtl recognisers: equal to transformers, bad input refused.

Every checkpoint is a tiny random model saved by ``transformers`` (``tests/ctc_checkpoints.py``);
nothing is downloaded. The tests skip without ``transformers`` (the ``dev`` extra).
"""

from __future__ import annotations

import json

import pytest
import torch

from ctc_checkpoints import VOCAB, make_ctc_checkpoint, reference_greedy, reference_logits, write_noise
from speechtl.cli import main
from speechtl.data.features import compute_features
from speechtl.errors import CheckpointError
from speechtl.models.ctc_checkpoint import UNIVERSAL, read_ctc_checkpoint
from speechtl.models.io import load_model_and_meta
from speechtl.text.ctc_vocab import map_vocabulary

pytest.importorskip("transformers")


def our_logits(model, wave) -> torch.Tensor:
    """speechtl's ``(frames, |inventory|)`` universal-head logits of one recording."""
    feats = compute_features(torch.as_tensor(wave), 16000, model.features)
    with torch.no_grad():
        hidden, _ = model(feats[None], torch.tensor([feats.shape[0]]))
        return model.heads(hidden, UNIVERSAL)[0]


@pytest.mark.parametrize("family", ["wav2vec2", "xlsr", "hubert", "wavlm"])
def test_logits_equal_transformers(family, tmp_path):
    reference = make_ctc_checkpoint(tmp_path / "ckpt", family)
    model, meta = load_model_and_meta(tmp_path / "ckpt")
    wave = write_noise(tmp_path / "a.wav", 1.3, seed=1)
    theirs = reference_logits(reference, wave)
    inventory = model.inventories[UNIVERSAL]
    assert inventory.phonemes == sorted(VOCAB[5:]) and meta["ctc_checkpoint"]["left_out"] == {
        "<s>": "special token", "</s>": "special token", "<unk>": "special token"}
    rows = [VOCAB.index(t) if t not in ("<blank>",) else 0 for t in inventory.tokens]
    ours = our_logits(model, wave)
    assert ours.shape == (theirs.shape[0], len(inventory)) == (64, len(VOCAB) - 3)
    torch.testing.assert_close(ours, theirs[:, rows], atol=1e-4, rtol=0)


@pytest.mark.parametrize("family", ["wav2vec2", "xlsr", "hubert"])
def test_cli_greedy_prints_transformers_greedy_decode(family, tmp_path, capsys):
    reference = make_ctc_checkpoint(tmp_path / "ckpt", family, seed=3)
    files = [tmp_path / f"{i}.wav" for i in range(3)]
    waves = [write_noise(f, s, seed=i) for i, (f, s) in enumerate(zip(files, (0.8, 1.5, 2.2)))]
    code = main(["decode", "--model", str(tmp_path / "ckpt"), "--greedy", "--format", "jsonl",
                 "--batch-seconds", "0", *map(str, files)])
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    expected = [reference_greedy(reference, w, VOCAB) for w in waves]
    assert [line["phonemes"] for line in lines] == expected
    assert all(len(e.split()) >= 5 for e in expected)  # real sequences, not one symbol


def test_no_normalisation_and_no_word_delimiter(tmp_path):
    """``do_normalize: false`` feeds the samples as they are; a vocabulary without ``|`` gets one that never wins."""
    vocab = [t for t in VOCAB if t != "|"]
    reference = make_ctc_checkpoint(tmp_path / "ckpt", vocab=vocab, delimiter=None, normalize=False)
    model, _ = read_ctc_checkpoint(tmp_path / "ckpt")
    assert model.features.cmvn == "none" and model.inventories[UNIVERSAL].tokens[1] == "|"
    wave = write_noise(tmp_path / "a.wav", 1.0, seed=2)
    ours, theirs = our_logits(model, wave), reference_logits(reference, wave, normalize=False)
    torch.testing.assert_close(ours[:, 0], theirs[:, 0], atol=1e-4, rtol=0)
    assert (ours[:, 1] == ours[:, 0] - 20.0).all()  # the blank's row, e^-20 as likely
    assert reference_greedy(reference, wave, vocab, normalize=False).split() == \
        [model.inventories[UNIVERSAL].tokens[i] for i in torch.unique_consecutive(ours.argmax(-1)).tolist() if i]


def test_ipa_of_other_conventions_is_normalised_and_non_ipa_left_out():
    vocab = {"<pad>": 0, "|": 1, "a": 2, "ˈa": 3, "t͡ʃ": 4, "g": 5, "e:": 6, "Q": 7, "#": 8, "<unk>": 9, "aɪ": 10}
    mapping = map_vocabulary(vocab, "<pad>", "|", {"<unk>"})
    assert mapping.rows == {"<blank>": 0, "|": 1, "a": 2, "tʃ": 4, "ɡ": 5, "eː": 6, "aɪ": 10}
    assert mapping.renamed == {"t͡ʃ": "tʃ", "g": "ɡ", "e:": "eː"}
    assert mapping.left_out == {"ˈa": "the same symbol as row 2 ('a')", "Q": "not IPA (no articulatory features)",
                                "#": "not IPA (no articulatory features)", "<unk>": "special token"}
    assert mapping.report()[:3] == ["vocabulary token 'ˈa' left out: the same symbol as row 2 ('a')",
                                    "vocabulary token 'Q' left out: not IPA (no articulatory features)",
                                    "vocabulary token '#' left out: not IPA (no articulatory features)"]


def test_a_non_ipa_symbol_is_reported_once_and_left_out(tmp_path, caplog, capsys):
    vocab = VOCAB + ["Q", "*"]
    make_ctc_checkpoint(tmp_path / "ckpt", vocab=vocab)
    with caplog.at_level("WARNING"):
        model, meta = read_ctc_checkpoint(tmp_path / "ckpt")
        read_ctc_checkpoint(tmp_path / "ckpt")  # read again (add-language reads a base twice): not reported again
    warnings = [r.getMessage() for r in caplog.records if "left out" in r.getMessage()]
    assert len(warnings) == 2 and "'Q' left out: not IPA" in warnings[0]
    assert "Q" not in model.inventories[UNIVERSAL] and meta["ctc_checkpoint"]["left_out"]["*"].startswith("not IPA")
    lexicon = tmp_path / "lex.txt"
    lexicon.write_text("bat b æ t\ncat k æ t\n", encoding="utf-8")
    write_noise(tmp_path / "a.wav", 1.0, seed=0)
    assert main(["decode", "--model", str(tmp_path / "ckpt"), "--lexicon", str(lexicon), "--format", "jsonl",
                 str(tmp_path / "a.wav")]) == 0  # the vocabulary's Q is no output: the lexicon never maps to it
    assert json.loads(capsys.readouterr().out)["text"] in ("bat", "cat", "bat cat", "cat bat", "")


def test_a_character_vocabulary_is_read_with_a_warning(tmp_path, caplog):
    vocab = ["<pad>", "<s>", "</s>", "<unk>", "|"] + list("abcdefghijklmnopqrstuvwxyz") + ["'"]
    make_ctc_checkpoint(tmp_path / "ckpt", vocab=vocab)
    with caplog.at_level("WARNING"):
        model, meta = read_ctc_checkpoint(tmp_path / "ckpt")
    assert "a character (spelling) vocabulary read as IPA?" in caplog.text
    assert meta["ctc_checkpoint"]["left_out"]["'"].startswith("not IPA") and "ɡ" in model.inventories[UNIVERSAL]


# -- bad input -------------------------------------------------------------------------------------

def test_another_architecture_is_refused_naming_it(tmp_path):
    folder = tmp_path / "s2s"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "speech-encoder-decoder",
                                                    "architectures": ["SpeechEncoderDecoderModel"]}))
    with pytest.raises(CheckpointError, match=r"model_type 'speech-encoder-decoder', architectures "
                                              r"\['SpeechEncoderDecoderModel'\]: not a CTC recogniser speechtl reads; "
                                              r"supported: Wav2Vec2ForCTC, HubertForCTC, WavLMForCTC"):
        load_model_and_meta(folder)
    (folder / "config.json").write_text(json.dumps({"model_type": "wav2vec2", "architectures": ["Wav2Vec2Model"]}))
    with pytest.raises(CheckpointError, match="architectures \\['Wav2Vec2Model'\\].*an encoder without a CTC head "
                                              "goes in a recipe as model.pretrained"):
        load_model_and_meta(folder)
    assert main(["decode", "--model", str(folder), "--greedy", str(folder / "config.json")]) != 0


def test_vocabulary_of_another_size_is_refused_with_both_numbers(tmp_path):
    make_ctc_checkpoint(tmp_path / "ckpt")
    (tmp_path / "ckpt" / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(VOCAB[:-2])}))
    with pytest.raises(CheckpointError, match=f"vocab.json: {len(VOCAB) - 2} tokens, but lm_head has {len(VOCAB)} "
                                              "output rows"):
        read_ctc_checkpoint(tmp_path / "ckpt")
    (tmp_path / "ckpt" / "vocab.json").unlink()
    with pytest.raises(CheckpointError, match="vocab.json: missing"):
        read_ctc_checkpoint(tmp_path / "ckpt")


class NotATensor:  # a pickled object: torch.load(weights_only=True) must refuse it
    def __reduce__(self):
        return (print, ("this ran",))


def test_pickled_objects_are_refused_never_unpickled(tmp_path, capsys):
    make_ctc_checkpoint(tmp_path / "ckpt")
    (tmp_path / "ckpt" / "model.safetensors").unlink()
    torch.save({"lm_head.weight": NotATensor()}, tmp_path / "ckpt" / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match=r"pytorch_model.bin: torch.load\(weights_only=True\) refused it"):
        read_ctc_checkpoint(tmp_path / "ckpt")
    assert "this ran" not in capsys.readouterr().out


def test_pytorch_model_bin_of_tensors_is_read(tmp_path):
    reference = make_ctc_checkpoint(tmp_path / "ckpt")
    (tmp_path / "ckpt" / "model.safetensors").unlink()
    torch.save(reference.state_dict(), tmp_path / "ckpt" / "pytorch_model.bin")
    model, _ = read_ctc_checkpoint(tmp_path / "ckpt")
    wave = write_noise(tmp_path / "a.wav", 0.5, seed=0)
    torch.testing.assert_close(our_logits(model, wave)[:, 0], reference_logits(reference, wave)[:, 0], atol=1e-4,
                               rtol=0)
