"""Export an acoustic model to ONNX or TorchScript for inference without speechtl.

The exported graph maps filterbank features to per-language phoneme
log-probabilities::

    inputs:  feats (batch, frames, num_mel_bins) float32, lengths (batch,) int64
    outputs: log_probs_<lang> (batch, frames', |inventory|) for each exported language,
             out_lengths (batch,) int64

with dynamic batch and time axes. Features are what :func:`speechtl.data.features.fbank`
computes (Kaldi fbank, ``num_mel_bins`` from the recipe); normalisation is
inside the graph, except per-speaker CMVN (``features.cmvn: speaker``, in the
``speechtl.features`` metadata): its inputs are filterbanks already normalised by their
speaker's (or the recording's own) mean and deviation. The ONNX file carries the inventories (token lists, blank
first) and the feature settings as metadata (``speechtl.inventories``,
``speechtl.features``, ``speechtl.languages``), so a decoder needs nothing else.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch
from torch import nn

from speechtl.config import to_dict
from speechtl.errors import LanguageError, SpeechtlError
from speechtl.models.acoustic import AcousticModel

FORMATS = ("onnx", "torchscript")


class _TraceableSelfAttention(nn.Module):
    """``nn.MultiheadAttention`` self-attention (batch first) in ops the ONNX tracer keeps shape-generic.

    The module's own code unpacks ``query.shape`` into Python integers, which
    tracing freezes to the example's length. Same weights, same result (eval mode).
    """

    def __init__(self, mha: nn.MultiheadAttention) -> None:
        super().__init__()
        self.mha = mha

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                key_padding_mask: torch.Tensor | None = None, need_weights: bool = False) -> tuple:
        m = self.mha
        qkv = nn.functional.linear(query, m.in_proj_weight, m.in_proj_bias)  # (B, T, 3D)
        qkv = qkv.unflatten(-1, (3, m.num_heads, m.head_dim)).permute(2, 0, 3, 1, 4)  # (3, B, H, T, Dh)
        mask = None if key_padding_mask is None else ~key_padding_mask[:, None, None, :]
        out = nn.functional.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=mask)
        return m.out_proj(out.transpose(1, 2).flatten(2)), None


def traceable(model: AcousticModel) -> AcousticModel:
    """A copy of ``model`` whose self-attention layers trace for any input length."""
    import copy

    model = copy.deepcopy(model).eval()
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, nn.MultiheadAttention):
                if not child.batch_first or not child._qkv_same_embed_dim:
                    raise NotImplementedError(f"{name}.{child_name}: only batch-first self-attention exports")
                setattr(module, child_name, _TraceableSelfAttention(child))
    return model


class LogProbModel(nn.Module):
    """Inference wrapper: features in, one log-probability tensor per language out.

    Args:
        model: a trained acoustic model (put in eval mode: no SpecAugment, no dropout).
        languages: heads to export, in output order.
    """

    def __init__(self, model: AcousticModel, languages: list[str]) -> None:
        super().__init__()
        self.model = model.eval()
        self.languages = list(languages)

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``(batch, frames, mels)``, ``(batch,)`` -> ``(log_probs per language..., out_lengths)``."""
        hidden, out_lengths = self.model(feats, lengths)
        return (*(self.model.log_probs(hidden, lang) for lang in self.languages), out_lengths)


def _languages(model: AcousticModel, languages: list[str] | None) -> list[str]:
    if not languages:
        return list(model.languages)
    for lang in languages:
        model.heads.head(lang)  # raises LanguageError naming the heads it has
    if len(set(languages)) != len(languages):
        raise LanguageError(f"a language is listed twice: {', '.join(languages)}")
    return list(languages)


def metadata(model: AcousticModel, languages: list[str]) -> dict[str, str]:
    """String key/values describing the exported graph (stored in the ONNX file)."""
    return {
        "speechtl.languages": json.dumps(languages),
        "speechtl.inventories": json.dumps({lang: model.inventories[lang].tokens for lang in languages},
                                           ensure_ascii=False),
        "speechtl.features": json.dumps(to_dict(model.features)),
        "speechtl.outputs": json.dumps([f"log_probs_{lang}" for lang in languages] + ["out_lengths"]),
    }


def _example(model: AcousticModel) -> tuple[torch.Tensor, torch.Tensor]:
    # two utterances of different lengths, so no size is baked in as a constant
    dim = model.features.dim  # mel bins, or samples per frame (waveform encoders)
    return torch.randn(2, 120, dim), torch.tensor([120, 77])


def export_model(model: AcousticModel, output: str | Path, fmt: str = "onnx",
                 languages: list[str] | None = None, opset: int = 17) -> Path:
    """Write ``model`` as an ONNX or TorchScript file.

    Args:
        model: the acoustic model (any encoder).
        output: file to write.
        fmt: ``"onnx"`` or ``"torchscript"``.
        languages: heads to export (default: all of them).
        opset: ONNX opset version.

    Returns:
        The path written.

    Raises:
        LanguageError: a language the model has no head for.
        SpeechtlError: ONNX export without the ``onnx`` package (``pip install 'speechtl[export]'``).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")
    languages = _languages(model, languages)
    wrapper = LogProbModel(traceable(model).cpu(), languages)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    example = _example(model)
    outputs = [f"log_probs_{lang}" for lang in languages] + ["out_lengths"]
    if fmt == "torchscript":
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # TorchScript is deprecated; ONNX is the main format
            warnings.simplefilter("ignore", torch.jit.TracerWarning)  # shape checks; the tests compare outputs
            traced = torch.jit.trace(wrapper, example, check_trace=False)
            torch.jit.save(traced, str(output),
                           _extra_files={k: v.encode() for k, v in metadata(model, languages).items()})
        return output
    try:
        import onnx
    except ImportError:
        raise SpeechtlError("ONNX export needs the onnx package: pip install 'speechtl[export]'") from None
    axes = {"feats": {0: "batch", 1: "frames"}, "lengths": {0: "batch"}, "out_lengths": {0: "batch"}}
    axes.update({name: {0: "batch", 1: "out_frames"} for name in outputs[:-1]})
    with torch.no_grad(), warnings.catch_warnings():
        # the LSTM warning concerns initial states given as inputs; ours start at zero for any batch
        warnings.filterwarnings("ignore", message=".*variable length with LSTM.*")
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # shape checks; the tests compare outputs
        # the TorchScript-based exporter: dynamo export would need onnxscript, and took
        # minutes on the BLSTM then produced a graph onnxruntime rejects (torch 2.14)
        torch.onnx.export(wrapper, example, str(output), input_names=["feats", "lengths"],
                          output_names=outputs, dynamic_axes=axes, opset_version=opset, dynamo=False)
    proto = onnx.load(str(output))
    for key, value in metadata(model, languages).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    tmp = output.with_name(output.name + ".tmp")
    onnx.save(proto, str(tmp))
    tmp.replace(output)
    return output
