"""int8 dynamic quantisation: ``quantize_int8``, ``speechtl decode --int8`` and ``speechtl eval --int8``."""

from __future__ import annotations

import json

import jiwer
import pytest
import soundfile
import torch

from speechtl.cli import main
from speechtl.decoding.recognizer import Recognizer
from speechtl.errors import SpeechtlError
from speechtl.models.acoustic import AcousticModelConfig, build_acoustic_model
from speechtl.models.config import ModelConfig, SSLConfig
from speechtl.models.quantize import quantize_int8
from speechtl.text.inventory import Inventory
from speechtl.workflows.evaluate import evaluate

EN = "p t k b d ɡ s z m n l ɹ w j h iː ɪ ɛ æ ʌ ʊ uː ə eɪ aɪ oʊ".split()
DYNAMIC_LINEAR = torch.ao.nn.quantized.dynamic.Linear


def _wav2vec2_model():
    """A random 2-layer wav2vec2-style phoneme model reading the waveform."""
    torch.manual_seed(0)
    conv = [(16, 10, 5)] + [(16, 3, 2)] * 4 + [(16, 2, 2)] * 2
    model = ModelConfig(encoder="wav2vec2", dim=32, layers=2, heads=4, ff_dim=64, dropout=0.0,
                        ssl=SSLConfig(conv_layers=conv, pos_conv_kernel=8, pos_conv_groups=4, attention_dropout=0.0))
    config = AcousticModelConfig(model=model)
    config.features.kind, config.features.cmvn = "waveform", "utterance"
    return build_acoustic_model(config, {"en": Inventory(EN)}).eval()


def test_quantize_int8_quantises_the_linear_layers_of_a_copy_and_stays_close_to_float32():
    model = _wav2vec2_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    int8 = quantize_int8(model)
    linears = sum(isinstance(m, torch.nn.Linear) for m in model.modules())
    assert linears >= 9 and sum(isinstance(m, DYNAMIC_LINEAR) for m in int8.modules()) == linears
    assert not any(type(m) is torch.nn.Linear for m in int8.modules())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # the float32 model is unchanged
    wave = 0.1 * torch.randn(16000, generator=torch.Generator().manual_seed(1))
    a = Recognizer(model)._log_probs(wave, "en")
    b = Recognizer(int8)._log_probs(wave, "en")
    assert a.shape == b.shape and not torch.equal(a, b)  # quantised for real, yet close
    assert (a - b).abs().max() < 0.1
    assert (a.argmax(-1) == b.argmax(-1)).float().mean() >= 0.9


def test_quantize_int8_refuses_a_gpu():
    with pytest.raises(SpeechtlError, match="CPU only.*'cuda'"):
        quantize_int8(_wav2vec2_model(), "cuda")


@pytest.fixture(scope="module")
def recordings(en_phrases, tmp_path_factory):
    folder = tmp_path_factory.mktemp("int8")
    for i, (samples, _) in enumerate(en_phrases[1][:4]):
        soundfile.write(folder / f"p{i}.wav", samples.numpy(), 16000)
    return folder


def _greedy(model, folder, capsys, *extra) -> list[str]:
    assert main(["decode", str(folder), "--model", str(model), "--greedy", "--format", "jsonl", *extra]) == 0
    return [json.loads(line)["phonemes"] for line in capsys.readouterr().out.splitlines()]


def test_decode_int8_prints_nearly_the_float32_phonemes(tdnn_en_model, recordings, capsys):
    fp32 = _greedy(tdnn_en_model, recordings, capsys)
    int8 = _greedy(tdnn_en_model, recordings, capsys, "--int8")
    assert len(int8) == len(fp32) == 4 and all(fp32)
    assert jiwer.wer(fp32, int8) <= 0.1  # phoneme by phoneme, float32 as the reference
    assert main(["decode", str(recordings), "--model", str(tdnn_en_model), "--int8", "--workers", "2"]) == 2
    assert "--int8 decodes in this process" in capsys.readouterr().err


def test_eval_int8_scores_the_quantised_model(tdnn_en_model, tmp_path, capsys):
    fp32 = evaluate(tdnn_en_model, "test", output=tmp_path / "fp32.json", progress=False, words=False)
    assert main(["eval", "--model", str(tdnn_en_model), "--int8", "-o", str(tmp_path / "int8.json")]) == 0
    int8 = json.loads((tmp_path / "int8.json").read_text())
    assert "PER" in capsys.readouterr().out
    a, b = fp32["per"]["en"]["rate"], int8["per"]["en"]["rate"]
    assert a < 0.9 and abs(a - b) <= 0.03  # a trained model, about as good in int8
    assert main(["eval", "--model", str(tdnn_en_model), "--int8", "--device", "cuda"]) == 2
    assert "CPU only" in capsys.readouterr().err
