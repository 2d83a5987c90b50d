"""Mixed precision (``train.amp``, ``decode.amp``): bfloat16 autocast, exercised on CPU."""

from __future__ import annotations

import contextlib
import json

import torch

from speechtl.models.precision import autocast


def test_autocast_is_bfloat16_when_enabled_and_nothing_otherwise():
    assert isinstance(autocast("cpu", False), contextlib.nullcontext)
    layer = torch.nn.Linear(4, 4)
    with autocast("cpu", True):
        out = layer(torch.randn(2, 4))
    assert out.dtype == torch.bfloat16 and layer.weight.dtype == torch.float32  # weights stay float32


def test_training_under_amp_keeps_float32_weights_and_a_finite_falling_loss(tiny_recipe):
    from speechtl.models.io import load_model
    from speechtl.workflows.train import train

    tiny_recipe.data.languages = ["es"]
    tiny_recipe.train.amp, tiny_recipe.train.device = True, "cpu"
    tiny_recipe.train.max_steps, tiny_recipe.train.log_every = 12, 1
    exp = train(tiny_recipe, progress=False)
    losses = [r["loss"] for r in map(json.loads, (exp / "train_log.jsonl").read_text().splitlines()) if "loss" in r]
    assert all(torch.isfinite(torch.tensor(losses))) and sum(losses[-3:]) < sum(losses[:3])
    model = load_model(exp / "model")
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_decoding_under_amp_matches_float32_closely(es_model):
    from speechtl.decoding.config import DecodeConfig
    from speechtl.decoding.recognizer import Recognizer
    from speechtl.models.io import load_model

    model = load_model(es_model)
    wave = torch.randn(16000) * 0.1
    full = Recognizer(model, DecodeConfig())._log_probs(wave, "es")
    half = Recognizer(model, DecodeConfig(amp=True))._log_probs(wave, "es")
    assert half.dtype == torch.float32 and half.shape == full.shape
    assert (half.exp() - full.exp()).abs().max() < 0.1  # bfloat16 keeps ~3 significant digits
