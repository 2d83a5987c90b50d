"""int8 dynamic quantisation of a trained model for CPU inference.

Every ``nn.Linear`` (the transformer's attention and feed-forward layers, the heads) gets int8
weights and activations quantised on the fly (``torch.ao.quantization.quantize_dynamic``);
convolutions (a TDNN, wav2vec 2.0's feature extractor) stay float32. The model is smaller and
its linear layers faster on a CPU; ``benchmarks/int8_per_cost.py`` measures what it costs in
phoneme error rate.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from speechtl.errors import SpeechtlError


def quantize_int8(model: nn.Module, device: str = "cpu") -> nn.Module:
    """An int8 copy of ``model`` (in eval mode) whose ``nn.Linear`` layers are dynamically quantised.

    Args:
        model: a float32 model on the CPU; left unchanged (the copy is made by torch).
        device: where the copy will run; torch's dynamic int8 kernels are CPU-only (``cpu``).

    Raises:
        SpeechtlError: ``device`` is not the CPU.
    """
    if str(device) != "cpu":
        raise SpeechtlError(f"int8 dynamic quantisation runs on the CPU only, not on device {str(device)[:40]!r}")
    with warnings.catch_warnings():  # torch's notice that quantised tensors will move to torchao: not the user's to act on
        warnings.filterwarnings("ignore", message=".*quantized tensor creation functions.*deprecated")
        # quantize_dynamic works on a copy (inplace=False): the float32 model stays usable
        return torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8).eval()
