"""Conversion fidelity: a Hugging Face checkpoint read by speechtl gives the Hugging Face model's hidden states.

For each family, a random-initialised model of the real architecture (Hugging Face's
default configurations are the base models; the large one is XLS-R 300M's shape) is
saved with ``save_pretrained`` (config.json + model.safetensors), read back through
``model.pretrained``'s loader into speechtl's encoder, and run on one real FSDD
recording (resampled to 16 kHz). The table gives the largest absolute difference
against the Hugging Face model's last hidden state, against each earlier layer's
output, and against torchaudio's own importer (``import_huggingface_model``, which
needs ``transformers``). Needs the ``dev`` extra (``transformers``); nothing is downloaded.

    OMP_NUM_THREADS=1 python -m benchmarks.ssl_fidelity
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.common import REPO, machine, write_result

RECORDING = REPO / ".." / "shared" / "data" / "fsdd" / "recordings" / "7_george_3.wav"
LARGE = {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16, "intermediate_size": 4096,
         "do_stable_layer_norm": True, "feat_extract_norm": "layer", "conv_bias": True}
MODELS = [("wav2vec 2.0 base", "Wav2Vec2Config", "Wav2Vec2Model", {}),
          ("XLS-R 300M / MMS shape (pre-norm, layer-norm extractor)", "Wav2Vec2Config", "Wav2Vec2Model", LARGE),
          ("HuBERT base", "HubertConfig", "HubertModel", {}),
          ("WavLM base", "WavLMConfig", "WavLMModel", {})]


def main() -> None:
    import transformers
    from torchaudio.models.wav2vec2.utils import import_huggingface_model

    from speechtl.data.audio import load_audio, resample
    from speechtl.models.config import ModelConfig
    from speechtl.models.pretrained import load_pretrained, read_pretrained
    from speechtl.models.ssl import build_wav2vec2

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    wave = load_audio(RECORDING)
    wave = resample(wave, 8000, 16000)[None]
    result = {"command": "python -m benchmarks.ssl_fidelity", "machine": machine(), "transformers":
              transformers.__version__, "recording": RECORDING.name, "seconds_of_audio": wave.shape[1] / 16000,
              "models": []}
    for name, config_name, model_name, extra in MODELS:
        torch.manual_seed(0)
        original = getattr(transformers, model_name)(getattr(transformers, config_name)(**extra)).eval()
        with tempfile.TemporaryDirectory() as folder:
            original.save_pretrained(folder)
            start = time.perf_counter()
            arch, state = read_pretrained(Path(folder), ModelConfig(encoder="wav2vec2", dropout=0.0))
            encoder = build_wav2vec2(160, arch)
            load_pretrained(encoder, state, encoder.final_norm is None, folder)
            load_seconds = time.perf_counter() - start
        encoder.eval()
        with torch.no_grad():
            expected = original(wave, output_hidden_states=True)
            states, _ = encoder.hidden_states(wave, torch.tensor([wave.shape[1]]))
            imported = import_huggingface_model(original).eval()
            by_torchaudio, _ = imported(wave)
        row = {"model": name, "parameters": sum(p.numel() for p in encoder.parameters()),
               "layers": arch.layers, "dim": arch.dim, "load_seconds": round(load_seconds, 2),
               "max_abs_diff_last": (states[-1] - expected.last_hidden_state).abs().max().item(),
               "max_abs_diff_earlier_layers": max((a - b).abs().max().item()
                                                  for a, b in zip(states[:-1], expected.hidden_states[:-1])),
               "max_abs_diff_torchaudio_importer": (states[-1] - by_torchaudio).abs().max().item(),
               "hidden_state_abs_max": expected.last_hidden_state.abs().max().item()}
        result["models"].append(row)
        print(row, flush=True)
        del original, encoder, imported
    print(f"wrote {write_result('ssl_fidelity', result)}")


if __name__ == "__main__":
    sys.exit(main())
