"""wav2vec 2.0-family checkpoints the user has on disk: their architecture and weights (``model.pretrained``).

Two layouts, told apart by the path:

* a **Hugging Face directory**: ``config.json`` (``model_type`` wav2vec2, hubert or
  wavlm: wav2vec 2.0, XLS-R, MMS, HuBERT, WavLM) and ``model.safetensors`` (or its
  shards with ``model.safetensors.index.json``); a pickled ``pytorch_model.bin``
  is read only through ``torch.load(weights_only=True)``. The architecture comes
  from ``config.json``; the weight names are mapped to torchaudio's as torchaudio's
  own Hugging Face importer maps them (without needing ``transformers``).
* a **torchaudio state-dict file** (``.pt``/``.pth``/``.bin`` through
  ``torch.load(weights_only=True)``, or ``.safetensors``), as saved from torchaudio's
  ``Wav2Vec2Model``: ``model.state_dict()``. A state dict holds no architecture: it is
  ``model.ssl.preset`` (a torchaudio builder name such as ``wav2vec2_base``) or the
  recipe's ``model`` fields, checked against every weight's shape.

Nothing is downloaded and nothing but tensors is unpickled.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import pickle
from pathlib import Path

import torch
from torch import nn

from speechtl.errors import CheckpointError, shorten
from speechtl.models.config import ModelConfig, SSLConfig
from speechtl.models.ssl import torchaudio_to_encoder_names

log = logging.getLogger(__name__)

HF_FAMILIES = {"wav2vec2": "wav2vec2", "hubert": "hubert", "wavlm": "wavlm"}  # config.json model_type -> family
HF_PREFIXES = ("wav2vec2.", "hubert.", "wavlm.")  # the backbone inside *ForCTC / *ForPreTraining checkpoints
PRESETS = ("wav2vec2_base", "wav2vec2_large", "wav2vec2_large_lv60k", "wav2vec2_xlsr_300m", "wav2vec2_xlsr_1b",
           "wav2vec2_xlsr_2b", "hubert_base", "hubert_large", "hubert_xlarge", "wavlm_base", "wavlm_large")
EXPECTED = ("a torchaudio state-dict file (.pt, .pth, .bin or .safetensors) or a Hugging Face checkpoint directory "
            "(config.json with model.safetensors or pytorch_model.bin)")


def read_pretrained(path: str | Path, model: ModelConfig) -> tuple[ModelConfig, dict[str, torch.Tensor]]:
    """The checkpoint's architecture (``model`` with it filled in) and its weights in torchaudio's names.

    Raises:
        CheckpointError: a missing path, an unreadable or pickled file, a checkpoint of another
            architecture; each message names the path and what was expected.
    """
    path = Path(path)
    if path.is_dir():
        return _read_huggingface(path, model)
    if not path.is_file():
        raise CheckpointError(f"model.pretrained: {path}: no such file or directory; expected {EXPECTED}")
    state = _read_tensors(path)
    if model.ssl.preset:
        model = architecture_of_preset(model.ssl.preset, model)
    return model, _check_torchaudio_names(state, path)


def _read_tensors(path: Path) -> dict[str, torch.Tensor]:
    """A flat ``{name: tensor}`` from a safetensors file, or a torch file through ``weights_only``."""
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except (SafetensorError, OSError) as err:
            raise CheckpointError(f"model.pretrained: {path}: not a readable safetensors file ({shorten(err, 200)})") \
                from None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"model.pretrained: {path}: torch.load(weights_only=True) refused it: it pickles objects other than "
            f"tensors ({shorten(err, 160)}). speechtl never unpickles those; save the weights alone "
            "(torch.save(model.state_dict(), path)) or as safetensors") from None
    except (RuntimeError, OSError, EOFError, ValueError) as err:
        raise CheckpointError(f"model.pretrained: {path}: not a readable torch checkpoint ({shorten(err, 200)}); "
                              f"expected {EXPECTED}") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        kind = type(state).__name__ if not isinstance(state, dict) else \
            "a dict holding " + ", ".join(sorted({type(v).__name__ for v in state.values()}))[:80]
        raise CheckpointError(f"model.pretrained: {path}: holds {kind}; expected a flat state dict "
                              "{name: tensor} of torchaudio's Wav2Vec2Model")
    return state


def _check_torchaudio_names(state: dict[str, torch.Tensor], path: Path) -> dict[str, torch.Tensor]:
    if not any(k.startswith("feature_extractor.") for k in state) or \
            not any(k.startswith("encoder.transformer.") for k in state):
        names = ", ".join(list(state)[:3]) or "none"
        raise CheckpointError(f"model.pretrained: {path}: not a wav2vec 2.0-family checkpoint: expected torchaudio "
                              f"Wav2Vec2Model weights (feature_extractor.*, encoder.transformer.*), found {shorten(names, 160)}")
    return state


def _read_huggingface(folder: Path, model: ModelConfig) -> tuple[ModelConfig, dict[str, torch.Tensor]]:
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise CheckpointError(f"model.pretrained: {folder}: a directory without config.json; expected {EXPECTED}")
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"model.pretrained: {config_file}: not JSON ({shorten(err, 120)})") from None
    model = architecture_of_huggingface(config, model, str(config_file))
    state = huggingface_weights(folder)
    return model, huggingface_to_torchaudio(state, model.layers, model.ssl.family == "wavlm", folder)


def huggingface_weights(folder: Path) -> dict[str, torch.Tensor]:
    """Every tensor of a Hugging Face directory (safetensors, its shards, or ``pytorch_model.bin`` via weights_only)."""
    if (folder / "model.safetensors").is_file():
        return _read_tensors(folder / "model.safetensors")
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        shards = sorted(set(json.loads(index.read_text(encoding="utf-8")).get("weight_map", {}).values()))
        state: dict[str, torch.Tensor] = {}
        for shard in shards:
            if Path(shard).name != shard:
                raise CheckpointError(f"model.pretrained: {index}: shard {shorten(shard, 60)!r} is not a file name")
            state.update(_read_tensors(folder / shard))
        return state
    if (folder / "pytorch_model.bin").is_file():
        return _read_tensors(folder / "pytorch_model.bin")
    raise CheckpointError(f"model.pretrained: {folder}: config.json but no weights; expected model.safetensors "
                          "(or model.safetensors.index.json and its shards, or pytorch_model.bin)")


def architecture_of_huggingface(config: dict, model: ModelConfig, source: str) -> ModelConfig:
    """``model`` with the architecture a Hugging Face ``config.json`` describes (the recipe's dropouts kept)."""
    family = HF_FAMILIES.get(str(config.get("model_type")))
    if family is None:
        raise CheckpointError(f"model.pretrained: {source}: model_type {shorten(repr(config.get('model_type')), 40)}; "
                              f"expected one of {', '.join(HF_FAMILIES)} (the wav2vec 2.0 family: wav2vec 2.0, "
                              "XLS-R, MMS, HuBERT, WavLM)")
    if config.get("hidden_act", "gelu") != "gelu" or config.get("feat_extract_activation", "gelu") != "gelu":
        raise CheckpointError(f"model.pretrained: {source}: activation {config.get('hidden_act')!r}; torchaudio's "
                              "wav2vec 2.0 uses gelu")
    try:
        conv = [(int(c), int(k), int(s)) for c, k, s in
                zip(config["conv_dim"], config["conv_kernel"], config["conv_stride"], strict=True)]
        ssl = dataclasses.replace(
            model.ssl, family=family, extractor_mode=f"{config['feat_extract_norm']}_norm", conv_layers=conv,
            conv_bias=bool(config["conv_bias"]), pos_conv_kernel=int(config["num_conv_pos_embeddings"]),
            pos_conv_groups=int(config["num_conv_pos_embedding_groups"]),
            layer_norm_first=bool(config["do_stable_layer_norm"]),
            num_buckets=int(config.get("num_buckets", model.ssl.num_buckets)),
            max_distance=int(config.get("max_bucket_distance", model.ssl.max_distance)))
        out = dataclasses.replace(model, dim=int(config["hidden_size"]), layers=int(config["num_hidden_layers"]),
                                  heads=int(config["num_attention_heads"]), ff_dim=int(config["intermediate_size"]),
                                  ssl=ssl)
    except KeyError as err:
        raise CheckpointError(f"model.pretrained: {source}: the field {err} is missing") from None
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"model.pretrained: {source}: malformed architecture ({shorten(err, 160)})") from None
    if ssl.extractor_mode not in ("group_norm", "layer_norm"):
        raise CheckpointError(f"model.pretrained: {source}: feat_extract_norm {config['feat_extract_norm']!r}; "
                              "expected group or layer")
    return out


def huggingface_to_torchaudio(state: dict[str, torch.Tensor], layers: int, wavlm: bool,
                              source: Path | str) -> dict[str, torch.Tensor]:
    """Hugging Face weight names to torchaudio's ``Wav2Vec2Model`` names (as torchaudio's importer maps them).

    The backbone of a ``*ForCTC`` or ``*ForPreTraining`` checkpoint is taken; its heads
    (``lm_head``, ``quantizer``, ``project_*``, ``masked_spec_embed``) are left out.
    """
    from torchaudio.models.wav2vec2.utils.import_huggingface import transform_wavlm_encoder_state

    backbone: dict[str, torch.Tensor] = {}
    for name, value in state.items():
        for prefix in HF_PREFIXES:
            if name.startswith(prefix):
                name = name[len(prefix):]
                break
        if name.startswith(("feature_extractor.", "feature_projection.", "encoder.")):
            backbone[name] = value
    if not any(k.startswith("feature_extractor.") for k in backbone):
        names = ", ".join(list(state)[:3]) or "none"
        raise CheckpointError(f"model.pretrained: {source}: no wav2vec 2.0-family weights (feature_extractor.*, "
                              f"encoder.*, optionally under wav2vec2./hubert./wavlm.); found {shorten(names, 160)}")
    encoder = {k[len("encoder."):]: v for k, v in backbone.items() if k.startswith("encoder.")}
    for old, new in (("pos_conv_embed.conv.weight_g", "pos_conv_embed.conv.parametrizations.weight.original0"),
                     ("pos_conv_embed.conv.weight_v", "pos_conv_embed.conv.parametrizations.weight.original1")):
        if old in encoder:  # checkpoints saved before torch's weight-norm parametrization
            encoder[new] = encoder.pop(old)
    if wavlm:
        try:
            transform_wavlm_encoder_state(encoder, layers)
        except KeyError as err:
            raise CheckpointError(f"model.pretrained: {source}: WavLM attention weight {err} is missing") from None
    out = {k: v for k, v in backbone.items() if k.startswith("feature_extractor.")}
    out.update({"encoder." + k: v for k, v in backbone.items() if k.startswith("feature_projection.")})
    out.update({"encoder.transformer." + k: v for k, v in encoder.items()})
    return out


def architecture_of_preset(name: str, model: ModelConfig) -> ModelConfig:
    """``model`` with the architecture of torchaudio's builder ``name`` (built on the meta device: no memory)."""
    import torchaudio.models

    if name not in PRESETS:
        raise CheckpointError(f"model.ssl.preset: {shorten(repr(name), 40)}; expected one of {', '.join(PRESETS)}")
    with torch.device("meta"):
        built = getattr(torchaudio.models, name)()
    return architecture_of(built, model, "wavlm" if name.startswith("wavlm") else
                           "hubert" if name.startswith("hubert") else "wav2vec2")


def architecture_of(built: nn.Module, model: ModelConfig, family: str) -> ModelConfig:
    """``model`` with the architecture of torchaudio's ``Wav2Vec2Model`` ``built``."""
    convs = built.feature_extractor.conv_layers
    transformer = built.encoder.transformer
    first = transformer.layers[0]
    attention = first.attention
    ssl: SSLConfig = dataclasses.replace(
        model.ssl, family=family,
        extractor_mode="layer_norm" if len(convs) > 1 and convs[1].layer_norm is not None else "group_norm",
        conv_layers=[(c.conv.out_channels, c.conv.kernel_size[0], c.conv.stride[0]) for c in convs],
        conv_bias=convs[0].conv.bias is not None, pos_conv_kernel=transformer.pos_conv_embed.kernel_size,
        pos_conv_groups=transformer.pos_conv_embed.conv.groups, layer_norm_first=first.layer_norm_first,
        num_buckets=getattr(attention, "num_buckets", model.ssl.num_buckets),
        max_distance=getattr(attention, "max_distance", model.ssl.max_distance))
    return dataclasses.replace(model, dim=built.encoder.feature_projection.projection.out_features,
                               layers=len(transformer.layers), heads=attention.num_heads,
                               ff_dim=first.feed_forward.intermediate_dense.out_features, ssl=ssl)


def load_pretrained(encoder: nn.Module, state: dict[str, torch.Tensor], norm_first: bool, source: str,
                    what: str = "the recipe's model section") -> None:
    """Copy a torchaudio-named state dict into a :class:`~speechtl.models.ssl.Wav2Vec2Encoder`, all or nothing.

    Args:
        norm_first: torchaudio's ``Transformer.layer_norm_first`` of the architecture.
        what: where the architecture came from, for the messages.

    Raises:
        CheckpointError: missing, unexpected or differently shaped weights, named with both shapes.
    """
    renamed = torchaudio_to_encoder_names(state, norm_first)
    own = {k: v for k, v in encoder.state_dict().items() if k != "layer_weights"}
    blocks_own = len({k.split(".")[1] for k in own if k.startswith("blocks.")})
    blocks_ckpt = len({k.split(".")[1] for k in renamed if k.startswith("blocks.")})
    if blocks_own != blocks_ckpt:
        raise CheckpointError(f"model.pretrained: {source} has {blocks_ckpt} transformer layers, {what} "
                              f"describes {blocks_own} (model.layers)")
    for name, value in renamed.items():
        if name in own and tuple(own[name].shape) != tuple(value.shape):
            raise CheckpointError(f"model.pretrained: {source}: {name} has shape {tuple(value.shape)} in the "
                                  f"checkpoint; {what} makes it {tuple(own[name].shape)}")
    missing = sorted(set(own) - set(renamed))
    unexpected = sorted(set(renamed) - set(own))
    if missing or unexpected:
        parts = ([f"missing {shorten(', '.join(missing), 160)}"] if missing else []) + \
                ([f"not in the architecture {shorten(', '.join(unexpected), 160)}"] if unexpected else [])
        raise CheckpointError(f"model.pretrained: {source}: the weights do not fit {what}: {'; '.join(parts)}")
    with torch.no_grad():
        for name, value in renamed.items():
            own[name].copy_(value.to(own[name].dtype))
    log.info("model.pretrained: %d weights (%.2fM parameters) from %s", len(renamed),
             sum(math.prod(v.shape) for v in renamed.values()) / 1e6, source)
