"""Exported models (ONNX via onnxruntime, TorchScript) give the PyTorch model's log-probabilities."""

import json
import pickle

import numpy as np
import pytest
import torch

from speechtl.cli import main
from speechtl.tasks.speech.model import build_model
from speechtl.models.export import LogProbModel
from speechtl.models.io import load_model, save_model
from speechtl.models.config import ModelConfig
from speechtl.tasks.speech.recipe import Recipe
from speechtl.text.inventory import Inventory

ort = pytest.importorskip("onnxruntime")
LENGTHS = [[50], [33, 200, 7], [1000, 401]]  # batch sizes 1-3, lengths unlike the trace's


def _saved_model(tmp_path, encoder: str):
    recipe = Recipe(model=ModelConfig(encoder=encoder, dim=32, layers=2, heads=2, ff_dim=64, dropout=0.1))
    model = build_model(recipe, {"en": Inventory(["a", "b", "ʃ"]), "de": Inventory(["a", "c", "d", "ç"])})
    with torch.no_grad():  # CMVN statistics as after fitting, so normalisation is exercised
        model.frontend.normalizer.mean.normal_()
        model.frontend.normalizer.std.uniform_(0.5, 2.0)
    save_model(model, tmp_path / "model")
    return load_model(tmp_path / "model")


def _reference(model, languages, lengths):
    feats = torch.randn(len(lengths), max(lengths), 80) * 3 + 5
    lens = torch.tensor(lengths)
    with torch.no_grad():
        return feats, lens, LogProbModel(model, languages)(feats, lens)


def _assert_same(want, got, atol=1e-4):
    out_lengths = want[-1]
    np.testing.assert_array_equal(np.asarray(got[-1]), out_lengths.numpy())
    for w, g in zip(want[:-1], got[:-1], strict=True):
        g = np.asarray(g)
        assert g.shape == tuple(w.shape)
        for b, n in enumerate(out_lengths.tolist()):  # frames past an utterance's end are padding
            np.testing.assert_allclose(g[b, :n], w[b, :n].numpy(), rtol=0, atol=atol)


@pytest.mark.parametrize("encoder", ["conformer", "blstm", "tdnn"])
def test_onnx_export_matches_pytorch(tmp_path, capsys, encoder):
    model = _saved_model(tmp_path, encoder)
    assert main(["export", "--model", str(tmp_path / "model"), "--format", "onnx", "-o", str(tmp_path / "m.onnx")]) == 0
    assert "log_probs_en, log_probs_de, out_lengths" in capsys.readouterr().out
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["log_probs_en", "log_probs_de", "out_lengths"]
    for lengths in LENGTHS:
        feats, lens, want = _reference(model, ["en", "de"], lengths)
        _assert_same(want, session.run(None, {"feats": feats.numpy(), "lengths": lens.numpy()}))
    meta = session.get_modelmeta().custom_metadata_map
    assert json.loads(meta["speechtl.inventories"])["de"] == model.inventories["de"].tokens
    assert json.loads(meta["speechtl.features"])["num_mel_bins"] == 80


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated")
def test_one_language_and_torchscript(tmp_path):
    model = _saved_model(tmp_path, "conformer")
    assert main(["export", "--model", str(tmp_path / "model"), "--lang", "de", "-o", str(tmp_path / "de.onnx")]) == 0
    session = ort.InferenceSession(str(tmp_path / "de.onnx"), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["log_probs_de", "out_lengths"]
    feats, lens, want = _reference(model, ["de"], [120, 64])
    _assert_same(want, session.run(None, {"feats": feats.numpy(), "lengths": lens.numpy()}))

    assert main(["export", "--model", str(tmp_path / "model"), "--format", "torchscript", "-o", str(tmp_path / "m.pt")]) == 0
    scripted = torch.jit.load(str(tmp_path / "m.pt"))
    for lengths in LENGTHS:
        feats, lens, want = _reference(model, ["en", "de"], lengths)
        with torch.no_grad():
            _assert_same(want, [t.numpy() for t in scripted(feats, lens)], atol=1e-5)


def test_export_errors_are_clear(tmp_path, capsys):
    _saved_model(tmp_path, "tdnn")
    assert main(["export", "--model", str(tmp_path / "model"), "--lang", "fr", "-o", str(tmp_path / "x.onnx")]) == 2
    assert "no head for language 'fr'; it has: en, de" in capsys.readouterr().err
    (tmp_path / "evil.safetensors").write_bytes(pickle.dumps({"not": "ours"}))
    (tmp_path / "evil.json").write_text(json.dumps({"format": "speechtl-model", "version": 2, "kind": "acoustic-model"}))
    assert main(["export", "--model", str(tmp_path / "evil.safetensors"), "-o", str(tmp_path / "x.onnx")]) == 2
    assert "not a safetensors file" in capsys.readouterr().err
    assert not (tmp_path / "x.onnx").exists()
