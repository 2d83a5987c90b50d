"""wav2vec 2.0-family encoders (wav2vec 2.0, XLS-R, MMS, HuBERT, WavLM) behind the backbone contract.

The parts come from torchaudio's builders (``wav2vec2_model``, ``wavlm_model``);
:class:`Wav2Vec2Encoder` arranges them as the other encoders are arranged: a
``frontend`` (convolutional feature extractor, projection, convolutional
position embedding: everything before the first transformer layer) and
``blocks`` (the transformer layers), so layer transfer can name "the first k
blocks". It reads waveform frames ``(B, T, hop)`` (``features.kind: waveform``)
and returns one layer's output or a learned weighted sum of all layers'
(SUPERB, Yang et al. 2021).

As in torchaudio and fairseq, a group-norm feature extractor (the base models)
normalises each channel over the whole padded length, so a padded batch is not
exactly each utterance alone; layer-norm extractors (large, XLS-R, MMS) are.

Baevski et al. 2020 (wav2vec 2.0); Hsu et al. 2021 (HuBERT); Chen et al. 2022
(WavLM); Babu et al. 2021 (XLS-R); Pratap et al. 2023 (MMS).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from speechtl.errors import RecipeError
from speechtl.models.config import ModelConfig, SSLConfig
from speechtl.tensors import length_mask


def torchaudio_arguments(model: ModelConfig) -> dict:
    """Keyword arguments of torchaudio's ``wav2vec2_model`` / ``wavlm_model`` for ``model``'s architecture."""
    ssl = model.ssl
    args = {
        "extractor_mode": ssl.extractor_mode,
        "extractor_conv_layer_config": [tuple(c) for c in ssl.conv_layers],
        "extractor_conv_bias": ssl.conv_bias,
        "encoder_embed_dim": model.dim,
        "encoder_projection_dropout": model.dropout,
        "encoder_pos_conv_kernel": ssl.pos_conv_kernel,
        "encoder_pos_conv_groups": ssl.pos_conv_groups,
        "encoder_num_layers": model.layers,
        "encoder_num_heads": model.heads,
        "encoder_attention_dropout": ssl.attention_dropout,
        "encoder_ff_interm_features": model.ff_dim,
        "encoder_ff_interm_dropout": model.dropout,
        "encoder_dropout": model.dropout,
        "encoder_layer_norm_first": ssl.layer_norm_first,
        "encoder_layer_drop": ssl.layer_drop,
        "aux_num_out": None,
    }
    if ssl.family == "wavlm":
        args["encoder_num_buckets"] = ssl.num_buckets
        args["encoder_max_distance"] = ssl.max_distance
    return args


def build_torchaudio_model(model: ModelConfig) -> nn.Module:
    """torchaudio's ``Wav2Vec2Model`` of ``model``'s architecture (random weights)."""
    from torchaudio.models import wav2vec2_model, wavlm_model

    if model.dim % model.heads:
        raise RecipeError(f"model.dim: {model.dim} is not a multiple of model.heads ({model.heads})")
    if model.dim % model.ssl.pos_conv_groups:
        raise RecipeError(f"model.dim: {model.dim} is not a multiple of model.ssl.pos_conv_groups "
                          f"({model.ssl.pos_conv_groups})")
    build = wavlm_model if model.ssl.family == "wavlm" else wav2vec2_model
    return build(**torchaudio_arguments(model))


class Wav2Vec2Frontend(nn.Module):
    """Everything before the first transformer layer: waveform ``(B, samples)`` to ``(B, frames, dim)``.

    Args:
        feature_extractor: torchaudio's convolutional ``FeatureExtractor``.
        feature_projection: its ``FeatureProjection`` (layer norm, linear, dropout).
        pos_conv_embed: the convolutional position embedding.
        layer_norm: applied after the position embedding (post-norm models), or None.
        dropout: after them.
    """

    def __init__(self, feature_extractor: nn.Module, feature_projection: nn.Module, pos_conv_embed: nn.Module,
                 layer_norm: nn.Module | None, dropout: nn.Module) -> None:
        super().__init__()
        self.feature_extractor = feature_extractor
        self.feature_projection = feature_projection
        self.pos_conv_embed = pos_conv_embed
        self.layer_norm = layer_norm
        self.dropout = dropout

    def forward(self, wave: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feats, lengths = self.feature_extractor(wave, lengths)
        x = self.feature_projection(feats)
        x = x * length_mask(lengths, x.shape[1]).unsqueeze(-1).to(x.dtype)  # torchaudio zeroes the padding
        x = x + self.pos_conv_embed(x)
        if self.layer_norm is not None:
            x = self.layer_norm(x)
        return self.dropout(x), lengths


class Wav2Vec2Encoder(nn.Module):
    """Waveform frames ``(B, T, hop)`` in, ``(B, T', dim)`` transformer features out.

    Equal to torchaudio's ``Wav2Vec2Model`` of the same weights (``forward``'s output
    for the last layer, ``extract_features``' for the others).

    Args:
        frontend: :class:`Wav2Vec2Frontend`.
        blocks: the transformer layers (torchaudio's ``EncoderLayer``).
        final_norm: the layer norm after the last layer (pre-norm models), or None.
        hop: samples per input frame (``features.dim``).
        stride: samples per output frame (the product of the convolutions' strides).
        output_layer: which layer's output to return (0 = the input to the first layer, -1 = the last).
        weighted_sum: return a learned softmax-weighted sum of all ``len(blocks) + 1`` outputs instead.
        layer_drop: probability of skipping a layer in training.
        key_padding: give the layers the padding as a key mask (WavLM's attention) rather than
            as an additive attention mask (wav2vec 2.0's).
    """

    def __init__(self, frontend: Wav2Vec2Frontend, blocks: nn.ModuleList, final_norm: nn.Module | None, hop: int,
                 stride: int, output_layer: int = -1, weighted_sum: bool = False, layer_drop: float = 0.0,
                 key_padding: bool = False) -> None:
        super().__init__()
        if output_layer > len(blocks):
            raise RecipeError(f"model.ssl.output_layer: {output_layer}; the encoder has {len(blocks)} layers")
        if stride % hop:
            raise RecipeError(f"features.frame_shift_ms: a hop of {hop} samples does not divide the encoder's "
                              f"stride of {stride} samples; use a hop that does (10 ms at 16 kHz for a 20 ms stride)")
        self.frontend = frontend
        self.blocks = blocks
        self.final_norm = final_norm
        self.hop = hop
        self.subsampling = stride // hop
        self.output_layer = len(blocks) if output_layer < 0 else output_layer
        self.layer_drop = layer_drop
        self.key_padding = key_padding
        self.layer_weights = nn.Parameter(torch.zeros(len(blocks) + 1)) if weighted_sum else None
        self.out_dim = frontend.feature_projection.projection.out_features

    def hidden_states(self, wave: torch.Tensor, lengths: torch.Tensor, upto: int | None = None
                      ) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Each layer's output: ``[input to layer 1, output of layer 1, ..., output of layer upto]``.

        Args:
            wave: ``(batch, samples)``; ``lengths``: ``(batch,)`` valid samples.
            upto: the last layer to run (None: all). The last layer's output is normalised
                (pre-norm models) only when it is the encoder's last.

        Returns:
            The outputs, each ``(batch, frames, dim)``, and ``(batch,)`` valid frames.
        """
        upto = len(self.blocks) if upto is None else upto
        x, lengths = self.frontend(wave, lengths)
        pad = ~length_mask(lengths, x.shape[1])
        if self.key_padding:
            mask, keys = None, pad
        else:  # torchaudio's additive attention mask over padded keys
            mask = (-10000.0 * pad[:, None, None, :].to(x.dtype)).expand(x.shape[0], 1, x.shape[1], x.shape[1])
            keys = None
        states, position_bias = [x], None
        for block in self.blocks[:upto]:
            if self.training and self.layer_drop > 0 and torch.rand(1).item() <= self.layer_drop:
                states.append(x)
                continue
            x, position_bias = block(x, mask, position_bias=position_bias, key_padding_mask=keys)
            states.append(x)
        if upto == len(self.blocks) and self.final_norm is not None:
            states[-1] = self.final_norm(states[-1])
        return states, lengths

    def forward(self, frames: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``frames``: ``(batch, T, hop)`` samples; ``lengths``: ``(batch,)`` valid frames."""
        wave = frames.reshape(frames.shape[0], -1)
        upto = None if self.layer_weights is not None else self.output_layer
        states, lengths = self.hidden_states(wave, lengths * self.hop, upto)
        if self.layer_weights is not None:
            weights = torch.softmax(self.layer_weights, 0)
            hidden = sum(w * s for w, s in zip(weights, states))
        else:
            hidden = states[-1]
        return hidden * length_mask(lengths, hidden.shape[1]).unsqueeze(-1).to(hidden.dtype), lengths


def from_torchaudio(model: nn.Module, hop: int, ssl: SSLConfig) -> Wav2Vec2Encoder:
    """A :class:`Wav2Vec2Encoder` made of the parts of torchaudio's ``Wav2Vec2Model`` (shared, not copied)."""
    transformer = model.encoder.transformer
    # torchaudio's Transformer.layer_norm_first is True for post-norm layers: the norm comes before them
    norm_first = transformer.layer_norm_first
    frontend = Wav2Vec2Frontend(model.feature_extractor, model.encoder.feature_projection,
                                transformer.pos_conv_embed, transformer.layer_norm if norm_first else None,
                                transformer.dropout)
    stride = math.prod(layer.conv.stride[0] for layer in model.feature_extractor.conv_layers)
    return Wav2Vec2Encoder(frontend, transformer.layers, None if norm_first else transformer.layer_norm, hop, stride,
                           ssl.output_layer, ssl.weighted_sum, ssl.layer_drop, key_padding=ssl.family == "wavlm")


def torchaudio_to_encoder_names(state: dict[str, torch.Tensor], norm_first: bool) -> dict[str, torch.Tensor]:
    """Rename a torchaudio ``Wav2Vec2Model`` state dict to :class:`Wav2Vec2Encoder`'s names.

    ``aux.*`` (a CTC head of a fine-tuned checkpoint) is dropped; other unknown names are kept
    as they are (the loader reports them).

    Args:
        norm_first: torchaudio's ``Transformer.layer_norm_first`` (post-norm models).
    """
    renames = [("feature_extractor.", "frontend.feature_extractor."),
               ("encoder.feature_projection.", "frontend.feature_projection."),
               ("encoder.transformer.pos_conv_embed.", "frontend.pos_conv_embed."),
               ("encoder.transformer.layer_norm.", "frontend.layer_norm." if norm_first else "final_norm."),
               ("encoder.transformer.layers.", "blocks.")]
    out = {}
    for name, value in state.items():
        if name.startswith("aux."):
            continue
        for old, new in renames:
            if name.startswith(old):
                name = new + name[len(old):]
                break
        out[name] = value
    return out


def frozen_parameters(encoder: Wav2Vec2Encoder, ssl: SSLConfig) -> list[str]:
    """Names of the encoder's parameters that ``ssl`` keeps fixed when fine-tuning a pretrained checkpoint.

    ``freeze_feature_extractor``: the convolutional feature extractor. ``freeze_layers = k``:
    also the projection, the position convolution (and the norm before the layers) and the
    first ``k`` transformer layers.
    """
    if ssl.freeze_layers > len(encoder.blocks):
        raise RecipeError(f"model.ssl.freeze_layers: {ssl.freeze_layers}; the encoder has {len(encoder.blocks)} "
                          "layers")
    prefixes = ["frontend.feature_extractor."] if ssl.freeze_feature_extractor or ssl.freeze_layers else []
    if ssl.freeze_layers:
        prefixes += ["frontend."] + [f"blocks.{i}." for i in range(ssl.freeze_layers)]
    return [n for n, _ in encoder.named_parameters() if n.startswith(tuple(prefixes))]


def build_wav2vec2(in_dim: int, cfg: ModelConfig) -> Wav2Vec2Encoder:
    """The encoder of ``cfg``'s architecture, reading frames of ``in_dim`` samples (random weights)."""
    return from_torchaudio(build_torchaudio_model(cfg), in_dim, cfg.ssl)
