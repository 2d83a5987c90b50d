"""Gradient reversal (Ganin & Lempitsky 2015, "Unsupervised Domain Adaptation by Backpropagation").

The identity on the way forward; on the way back the gradient is multiplied by
``-lambda``, so whatever sits before the layer learns to *increase* the loss of
whatever sits after it (the domain classifier in DANN).
"""

from __future__ import annotations

import torch
from torch import nn


class _GradientReversal(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, lambd: float) -> torch.Tensor:
        ctx.lambd = lambd
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad * -ctx.lambd, None


def grad_reverse(x: torch.Tensor, lambd: float = 1.0) -> torch.Tensor:
    """Identity forward; the backward pass multiplies the gradient by ``-lambd``.

    Args:
        x: any tensor, e.g. features ``(batch, dim)`` or ``(batch, time, dim)``.
        lambd: reversal strength (0 blocks the gradient, 1 reverses it fully).
    """
    return _GradientReversal.apply(x, float(lambd))


class GradientReversal(nn.Module):
    """Module form of :func:`grad_reverse`; set :attr:`lambd` to follow a schedule."""

    def __init__(self, lambd: float = 1.0) -> None:
        super().__init__()
        self.lambd = float(lambd)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return grad_reverse(x, self.lambd)

    def extra_repr(self) -> str:
        return f"lambd={self.lambd}"
