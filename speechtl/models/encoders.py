"""Speech encoders satisfying the backbone contract, looked up by name.

All share a convolutional front end that reduces the frame rate (``subsampling``
1, 2 or 4), then a stack of ``blocks``:

* ``conformer``: Conformer blocks (Gulati et al. 2020).
* ``blstm``: bidirectional LSTM layers.
* ``tdnn``: dilated 1-D convolutions (time-delay neural network, Peddinti et al. 2015).
* ``wav2vec2``: the wav2vec 2.0 family (:mod:`speechtl.models.ssl`); it reads waveform frames,
  not filterbanks (:data:`ENCODER_INPUTS`), and has its own convolutional front end.

Each encoder takes its sizes as arguments; a factory registered in
:data:`ENCODERS` builds it from the recipe's ``model`` section, so a new encoder
is one class plus one registered factory.
"""

from __future__ import annotations

import torch
from torch import nn

from speechtl.models.config import ModelConfig
from speechtl.errors import RecipeError
from speechtl.registry import Registry
from speechtl.tensors import length_mask

ENCODERS: Registry = Registry("encoder")
ENCODER_INPUTS: dict[str, str] = {"wav2vec2": "waveform"}  # the features.kind an encoder reads; the rest read fbank


class ConvSubsampling(nn.Module):
    """Strided 1-D convolutions over time: ``(B, T, in_dim) -> (B, T / factor, dim)``.

    Frames past each utterance's length are zeroed between layers, so a padded
    batch gives the same output as each utterance alone.
    """

    def __init__(self, in_dim: int, dim: int, factor: int) -> None:
        super().__init__()
        if factor not in (1, 2, 4):
            raise ValueError(f"subsampling must be 1, 2 or 4, got {factor}")
        self.factor = factor
        self.convs = nn.ModuleList()
        channels = in_dim
        for _ in range({1: 0, 2: 1, 4: 2}[factor]):
            self.convs.append(nn.Conv1d(channels, dim, kernel_size=3, stride=2, padding=1))
            channels = dim
        self.proj = nn.Linear(channels, dim)

    @staticmethod
    def _halve(lengths: torch.Tensor) -> torch.Tensor:
        return (lengths - 1) // 2 + 1

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = x.transpose(1, 2)  # (B, D, T)
        for conv in self.convs:
            x = nn.functional.gelu(conv(x))
            lengths = self._halve(lengths)
            x = x * length_mask(lengths, x.shape[2]).unsqueeze(1)
        return self.proj(x.transpose(1, 2)), lengths


class _FeedForward(nn.Sequential):
    def __init__(self, dim: int, hidden: int, dropout: float) -> None:
        super().__init__(nn.LayerNorm(dim), nn.Linear(dim, hidden), nn.SiLU(), nn.Dropout(dropout),
                         nn.Linear(hidden, dim), nn.Dropout(dropout))


class ConformerBlock(nn.Module):
    """Conformer block (Gulati et al. 2020): half FFN, self-attention, convolution, half FFN.

    Unlike torchaudio's ``ConformerLayer``, padded frames are zeroed before the
    depthwise convolution and LayerNorm replaces BatchNorm there, so a padded
    batch gives the same output as each utterance alone.
    """

    def __init__(self, dim: int, ff_dim: int, heads: int, kernel_size: int, dropout: float) -> None:
        super().__init__()
        self.ff1 = _FeedForward(dim, ff_dim, dropout)
        self.attn_norm = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.conv_norm = nn.LayerNorm(dim)
        self.pointwise_in = nn.Linear(dim, 2 * dim)
        self.depthwise = nn.Conv1d(dim, dim, kernel_size, padding=kernel_size // 2, groups=dim)
        self.depthwise_norm = nn.LayerNorm(dim)
        self.pointwise_out = nn.Linear(dim, dim)
        self.ff2 = _FeedForward(dim, ff_dim, dropout)
        self.out_norm = nn.LayerNorm(dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """``x``: ``(B, T, D)``; ``valid``: ``(B, T)`` True on real frames."""
        x = x + 0.5 * self.ff1(x)
        y = self.attn_norm(x)
        y, _ = self.attn(y, y, y, key_padding_mask=~valid, need_weights=False)
        x = x + self.dropout(y)
        y = nn.functional.glu(self.pointwise_in(self.conv_norm(x)), dim=-1)
        y = y * valid.unsqueeze(-1)
        y = self.depthwise(y.transpose(1, 2)).transpose(1, 2)
        y = self.pointwise_out(nn.functional.silu(self.depthwise_norm(y)))
        x = x + self.dropout(y)
        x = x + 0.5 * self.ff2(x)
        return self.out_norm(x)


class ConformerEncoder(nn.Module):
    """Conv front end + Conformer blocks: ``(B, T, in_dim) -> (B, T / subsampling, dim)``."""

    def __init__(self, in_dim: int, dim: int, layers: int, heads: int, ff_dim: int, kernel_size: int,
                 subsampling: int, dropout: float) -> None:
        super().__init__()
        self.frontend = ConvSubsampling(in_dim, dim, subsampling)
        self.blocks = nn.ModuleList(ConformerBlock(dim, ff_dim, heads, kernel_size, dropout) for _ in range(layers))
        self.out_dim = dim
        self.subsampling = subsampling

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x, lengths = self.frontend(x, lengths)
        valid = length_mask(lengths, x.shape[1])
        for block in self.blocks:
            x = block(x, valid)
        return x * valid.unsqueeze(-1), lengths


def reverse_valid(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence within its length, leaving the padding in place.

    ``(B, T, D)``; applying it twice gives back ``x``.
    """
    t = torch.arange(x.shape[1], device=x.device)[None, :]
    idx = torch.where(length_mask(lengths, x.shape[1]), lengths[:, None] - 1 - t, t)
    return x.gather(1, idx.unsqueeze(-1).expand_as(x))


class BiLSTMLayer(nn.Module):
    """A bidirectional LSTM layer without packed sequences.

    PyTorch's packed LSTM is 3-8x slower on CPU when lengths vary (measured on
    2 cores). Padding at the end never reaches the valid frames of a forward
    LSTM, so the backward direction runs forward over each utterance reversed
    within its length.
    """

    def __init__(self, in_dim: int, hidden: int) -> None:
        super().__init__()
        self.fwd = nn.LSTM(in_dim, hidden, batch_first=True)
        self.bwd = nn.LSTM(in_dim, hidden, batch_first=True)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        forward, _ = self.fwd(x)
        backward, _ = self.bwd(reverse_valid(x, lengths))
        return torch.cat([forward, reverse_valid(backward, lengths)], dim=-1)


class BLSTMEncoder(nn.Module):
    """Conv front end + bidirectional LSTM layers (``dim`` = both directions together)."""

    def __init__(self, in_dim: int, dim: int, layers: int, subsampling: int, dropout: float) -> None:
        super().__init__()
        self.frontend = ConvSubsampling(in_dim, dim, subsampling)
        self.blocks = nn.ModuleList(BiLSTMLayer(dim, dim // 2) for _ in range(layers))
        self.dropout = nn.Dropout(dropout)
        self.out_dim = dim // 2 * 2
        self.subsampling = subsampling

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x, lengths = self.frontend(x, lengths)
        mask = length_mask(lengths, x.shape[1]).unsqueeze(-1)
        for block in self.blocks:
            x = self.dropout(block(x, lengths))
        return x * mask, lengths


class TDNNBlock(nn.Module):
    def __init__(self, dim: int, kernel_size: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.conv = nn.Conv1d(dim, dim, kernel_size, dilation=dilation, padding=dilation * (kernel_size - 1) // 2)
        self.norm = nn.LayerNorm(dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x.transpose(1, 2)).transpose(1, 2)
        return x + self.dropout(torch.relu(self.norm(y)))


class TDNNEncoder(nn.Module):
    """Conv front end + residual dilated convolutions (dilation 1, 2, 3, 1, 2, 3...)."""

    def __init__(self, in_dim: int, dim: int, layers: int, kernel_size: int, subsampling: int,
                 dropout: float) -> None:
        super().__init__()
        self.frontend = ConvSubsampling(in_dim, dim, subsampling)
        self.blocks = nn.ModuleList(TDNNBlock(dim, kernel_size, 1 + i % 3, dropout) for i in range(layers))
        self.out_dim = dim
        self.subsampling = subsampling

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x, lengths = self.frontend(x, lengths)
        mask = length_mask(lengths, x.shape[1]).unsqueeze(-1)
        for block in self.blocks:
            x = block(x * mask)
        return x * mask, lengths


@ENCODERS.register("conformer")
def conformer(in_dim: int, cfg: ModelConfig) -> ConformerEncoder:
    if cfg.dim % cfg.heads:
        raise RecipeError(f"model.dim: {cfg.dim} is not a multiple of model.heads ({cfg.heads}); attention "
                          "splits the width evenly between heads")
    return ConformerEncoder(in_dim, cfg.dim, cfg.layers, cfg.heads, cfg.ff_dim, cfg.kernel_size, cfg.subsampling,
                            cfg.dropout)


@ENCODERS.register("blstm")
def blstm(in_dim: int, cfg: ModelConfig) -> BLSTMEncoder:
    return BLSTMEncoder(in_dim, cfg.dim, cfg.layers, cfg.subsampling, cfg.dropout)


@ENCODERS.register("tdnn")
def tdnn(in_dim: int, cfg: ModelConfig) -> TDNNEncoder:
    # kernel_size is the conformer's depthwise width (15); a TDNN layer looks 3 frames wide
    return TDNNEncoder(in_dim, cfg.dim, cfg.layers, 3 if cfg.kernel_size > 5 else cfg.kernel_size, cfg.subsampling,
                       cfg.dropout)


@ENCODERS.register("wav2vec2")
def wav2vec2(in_dim: int, cfg: ModelConfig) -> nn.Module:
    from speechtl.models.ssl import build_wav2vec2

    return build_wav2vec2(in_dim, cfg)


def build_encoder(in_dim: int, cfg: ModelConfig) -> nn.Module:
    """The encoder named by ``cfg.encoder``, taking ``in_dim`` features per frame."""
    return ENCODERS.get(cfg.encoder)(in_dim, cfg)
