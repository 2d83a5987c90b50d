"""Mixed precision: bfloat16 autocast for training and decoding (``train.amp``, ``decode.amp``).

bfloat16 keeps float32's exponent range, so no loss scaling is needed and the weights,
optimizer state and gradients stay float32 (autocast casts per operation; CTC and
log-softmax run in float32 under it). On CUDA this is the fast path for transformer
encoders such as wav2vec 2.0 on Ampere or newer; on CPU the same context works (it
is how the tests exercise it) but is rarely faster.
"""

from __future__ import annotations

import contextlib

import torch

from speechtl.errors import RecipeError


def autocast(device: torch.device | str, enabled: bool) -> contextlib.AbstractContextManager:
    """A bfloat16 autocast context on ``device`` when ``enabled``, else a null context.

    Raises:
        RecipeError: enabled on a CUDA device without bfloat16 support (before Ampere).
    """
    if not enabled:
        return contextlib.nullcontext()
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise RecipeError(f"amp: {torch.cuda.get_device_name(device)} has no bfloat16; set amp: false")
    return torch.autocast(device.type, dtype=torch.bfloat16)
