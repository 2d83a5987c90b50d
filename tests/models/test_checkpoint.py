import json
import pickle

import pytest
import torch

from speechtl.errors import CheckpointError
from speechtl.tasks.speech.model import build_model
from speechtl.models.io import load_model, save_model
from speechtl.models.config import ModelConfig
from speechtl.tasks.speech.recipe import Recipe
from speechtl.text.inventory import Inventory
from speechtl.files import latest_checkpoint
from speechtl.training.checkpoint import save_checkpoint
from speechtl.files import pack, unpack


def _model():
    recipe = Recipe(model=ModelConfig(encoder="blstm", dim=16, layers=1))
    return build_model(recipe, {"en": Inventory(["a", "b"]), "de": Inventory(["a", "c", "d"])})


def test_model_round_trip(tmp_path):
    model = _model().eval()
    save_model(model, tmp_path / "m")
    meta = json.loads((tmp_path / "m.json").read_text())
    assert meta["format"] == "speechtl-model" and meta["inventories"]["de"][-1] == "d"
    loaded = load_model(tmp_path / "m.safetensors")
    x, lengths = torch.randn(2, 30, 80), torch.tensor([30, 17])
    h1, _ = model(x, lengths)
    h2, _ = loaded(x, lengths)
    assert torch.equal(h1, h2)
    assert loaded.inventories == model.inventories and loaded.config == model.config


def test_a_pickle_is_refused_without_unpickling(tmp_path):
    class Boom:
        def __reduce__(self):
            return (pytest.fail, ("unpickled!",))

    (tmp_path / "evil.safetensors").write_bytes(pickle.dumps(Boom()))
    (tmp_path / "evil.json").write_text(json.dumps({"format": "speechtl-model", "version": 2,
                                                     "kind": "acoustic-model"}))
    with pytest.raises(CheckpointError, match="not a safetensors file"):
        load_model(tmp_path / "evil.safetensors")
    (tmp_path / "other.json").write_text("{}")
    (tmp_path / "other.safetensors").write_bytes(b"x")
    with pytest.raises(CheckpointError, match="not a speechtl model"):
        load_model(tmp_path / "other")


def test_truncated_weights_are_detected(tmp_path):
    save_model(_model(), tmp_path / "m")
    data = (tmp_path / "m.safetensors").read_bytes()
    (tmp_path / "m.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="do not match their recorded hash"):
        load_model(tmp_path / "m")


def test_pack_unpack_optimizer_state():
    model = _model()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.heads.heads["en"].weight.sum().backward()
    opt.step()
    tensors, skeleton = pack(opt.state_dict())
    json.dumps(skeleton)
    restored = unpack(tensors, skeleton)
    opt2 = torch.optim.AdamW(_model().parameters(), lr=1e-3)
    opt2.load_state_dict(restored)
    a, b = opt.state_dict()["state"], opt2.state_dict()["state"]
    assert a.keys() == b.keys()
    for k in a:
        for name, value in a[k].items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(b[k][name]))


def test_corrupt_newest_checkpoint_falls_back(tmp_path, caplog):
    model = _model()
    for step in (10, 20):
        save_checkpoint(tmp_path, step, model.state_dict(), {"kind": "acoustic-model"}, {"step": step}, keep=3)
    weights = tmp_path / "step-0000020" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    assert latest_checkpoint(tmp_path).name == "step-0000010"
    assert "incomplete or corrupt" in caplog.text
    for step in (30, 40, 50):
        save_checkpoint(tmp_path, step, model.state_dict(), {}, {"step": step}, keep=2)
    assert sorted(p.name for p in tmp_path.glob("step-*")) == ["step-0000040", "step-0000050"]
