"""The ``model`` section of a speech recipe: the shared encoder's shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from speechtl.config import ranged
from speechtl.errors import RecipeError

# wav2vec 2.0's convolutional feature extractor: (channels, kernel, stride) per layer, 20 ms hop at 16 kHz
WAV2VEC2_CONV = [(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512, 2, 2)] * 2


@dataclass
class SSLConfig:
    """A wav2vec 2.0-family encoder (``model.encoder: wav2vec2``), built by torchaudio's builders.

    Its width, depth, heads and feed-forward width are ``model.dim``, ``layers``, ``heads`` and
    ``ff_dim``. With ``model.pretrained`` the architecture is read from the checkpoint and replaces
    these fields (the model file stores it, so a fine-tuned model rebuilds without the checkpoint).
    """

    family: Literal["wav2vec2", "hubert", "wavlm"] = "wav2vec2"  # hubert, XLS-R and MMS share wav2vec2's architecture; wavlm adds gated relative position bias
    preset: str = ""  # a state-dict file's architecture by torchaudio builder name (wav2vec2_base, hubert_large, wavlm_base, wav2vec2_xlsr_300m...); "" = these fields
    extractor_mode: Literal["group_norm", "layer_norm"] = "group_norm"  # base models: group_norm; large, XLS-R, MMS: layer_norm
    conv_layers: list[tuple[int, int, int]] = ranged(default_factory=lambda: list(WAV2VEC2_CONV), interval="[1, inf)")  # feature extractor (channels, kernel, stride) per layer
    conv_bias: bool = False  # the feature extractor's convolutions have biases (large, XLS-R, MMS)
    pos_conv_kernel: int = ranged(128, "[1, inf)")  # convolutional position embedding width (frames)
    pos_conv_groups: int = ranged(16, "[1, inf)")  # its groups
    layer_norm_first: bool = False  # pre-norm transformer layers (large, XLS-R, MMS)
    attention_dropout: float = ranged(0.1, "[0, 1)")
    layer_drop: float = ranged(0.0, "[0, 1)")  # probability of skipping a transformer layer in training (LayerDrop)
    num_buckets: int = ranged(320, "[1, inf)")  # wavlm: relative position buckets
    max_distance: int = ranged(800, "[1, inf)")  # wavlm: largest relative distance told apart
    output_layer: int = ranged(-1, "[-1, inf)")  # the heads read this transformer layer's output (0 = the input to the first layer; -1 = the last)
    weighted_sum: bool = False  # the heads read a learned softmax-weighted sum of all layers' outputs (SUPERB); replaces output_layer
    freeze_feature_extractor: bool = True  # the convolutional feature extractor stays fixed in training
    freeze_layers: int = ranged(0, "[0, inf)")  # also fix the projection, position convolution and first k transformer layers

    def validate(self) -> None:
        if not self.conv_layers:
            raise RecipeError("model.ssl.conv_layers: [] has no layer; expected (channels, kernel, stride) per layer")
        for i, layer in enumerate(self.conv_layers):
            if min(layer) < 1:
                raise RecipeError(f"model.ssl.conv_layers[{i}]: {list(layer)}; expected positive (channels, kernel, "
                                  "stride)")


@dataclass
class ModelConfig:
    """Shared encoder; per-language CTC heads are sized from the inventories."""

    encoder: str = "conformer"  # encoder name (see speechtl.models.encoders): conformer | blstm | tdnn | wav2vec2
    dim: int = ranged(144, "[1, inf)")  # model width
    layers: int = ranged(4, "[1, inf)")  # encoder blocks
    heads: int = ranged(4, "[1, inf)")  # attention heads (conformer, wav2vec2)
    ff_dim: int = ranged(576, "[1, inf)")  # feed-forward width (conformer, wav2vec2)
    kernel_size: int = ranged(15, "[1, inf)")  # depthwise conv kernel (conformer) / tdnn kernel
    subsampling: int = ranged(4, "[1, 4]")  # time reduction of the conv front end: 1, 2 or 4
    dropout: float = ranged(0.1, "[0, 1)")
    attributes: float = ranged(0.0, "[0, inf)")  # weight of the articulatory-attribute CTC term; > 0 adds attribute detectors (zero-shot phonemes)
    pretrained: str = ""  # wav2vec2: a checkpoint on disk the encoder starts from (torchaudio state-dict file or Hugging Face directory); "" = random init
    ssl: SSLConfig = field(default_factory=SSLConfig)  # wav2vec2: architecture, layer choice, what stays fixed

    def validate(self) -> None:
        if self.subsampling not in (1, 2, 4):
            raise RecipeError(f"model.subsampling: {self.subsampling}; expected 1, 2 or 4")
        if self.kernel_size % 2 == 0:
            raise RecipeError(f"model.kernel_size: {self.kernel_size}; expected an odd width (the convolutions "
                              "are centred)")
        if self.pretrained and self.encoder != "wav2vec2":
            raise RecipeError(f"model.pretrained: only model.encoder: wav2vec2 starts from a pretrained checkpoint "
                              f"(the encoder is {self.encoder!r}); speechtl models start from transfer.source")
