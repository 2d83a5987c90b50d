"""Image backbones satisfying the contract: ``backbone(x, None) -> ((batch, out_dim), None)``.

* ``cnn``: a small CNN for 16x16 digits: a convolutional stem (``frontend``)
  and ``blocks`` (two conv blocks and a fully connected block), so layer
  transfer can copy "the first k blocks" exactly as for the speech encoders.
* ``torchvision``: any torchvision classification model (``resnet18``...) with
  its classifier removed, when torchvision is installed. speechtl does not
  depend on torchvision; the import happens only when a recipe names it.
"""

from __future__ import annotations

import torch
from torch import nn

from speechtl.errors import RecipeError
from speechtl.registry import Registry

IMAGE_BACKBONES: Registry = Registry("image backbone")


class ConvBlock(nn.Sequential):
    """conv 3x3 - ReLU - conv 3x3 - ReLU - 2x2 max-pool (halves the image side)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(), nn.Conv2d(cout, cout, 3, padding=1),
                         nn.ReLU(), nn.MaxPool2d(2))


class SmallCNN(nn.Module):
    """Stem conv, two conv blocks, one fully connected block: ``(B, 3, S, S) -> (B, dim)``.

    Args:
        channels: input channels (3: grey digits are replicated).
        width: stem / first block channels (the second block doubles them).
        dim: feature width (``out_dim``).
        size: image side (a multiple of 4).
        dropout: before the fully connected block.
    """

    def __init__(self, channels: int = 3, width: int = 32, dim: int = 128, size: int = 16,
                 dropout: float = 0.1) -> None:
        super().__init__()
        if size % 4:
            raise RecipeError(f"model: the cnn backbone needs an image side divisible by 4, got {size}")
        self.frontend = nn.Sequential(nn.Conv2d(channels, width, 3, padding=1), nn.ReLU())
        self.blocks = nn.ModuleList([
            ConvBlock(width, width),
            ConvBlock(width, 2 * width),
            nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(2 * width * (size // 4) ** 2, dim),
                          nn.ReLU()),
        ])
        self.out_dim = dim

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, None]:
        x = self.frontend(x)
        for block in self.blocks:
            x = block(x)
        return x, None


class TorchvisionBackbone(nn.Module):
    """A torchvision classification model as a backbone (its classifier replaced by the identity).

    ResNets expose ``frontend`` (conv1, bn1, relu, maxpool) and ``blocks``
    (layer1..layer4) for layer transfer; other models expose their whole
    ``features`` as the front end and no blocks.

    Args:
        name: a torchvision model name, e.g. ``resnet18``.
    """

    def __init__(self, name: str) -> None:
        super().__init__()
        try:
            import torchvision
        except ImportError:
            raise RecipeError(f"model.backbone: torchvision ({name}) is not installed; "
                              "install torchvision, or use the built-in 'cnn' backbone") from None
        try:
            net = torchvision.models.get_model(name, weights=None)  # weights are never downloaded
        except ValueError as err:
            raise RecipeError(f"model.torchvision_name: {err}") from None
        if hasattr(net, "fc"):  # ResNet family
            self.out_dim = net.fc.in_features
            self.frontend = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
            self.blocks = nn.ModuleList([net.layer1, net.layer2, net.layer3, net.layer4])
            self.head = nn.Sequential(net.avgpool, nn.Flatten())
        elif hasattr(net, "features") and hasattr(net, "classifier"):
            self.frontend = net.features
            self.blocks = nn.ModuleList()
            self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
            with torch.no_grad():
                self.out_dim = int(net.features(torch.zeros(1, 3, 64, 64)).shape[1])
        else:
            raise RecipeError(f"model.torchvision_name: {name} is neither a ResNet nor a features/classifier model")

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, None]:
        x = self.frontend(x)
        for block in self.blocks:
            x = block(x)
        return self.head(x), None


@IMAGE_BACKBONES.register("cnn")
def build_cnn(cfg, size: int) -> nn.Module:
    return SmallCNN(3, cfg.width, cfg.dim, size, cfg.dropout)


@IMAGE_BACKBONES.register("torchvision")
def build_torchvision(cfg, size: int) -> nn.Module:
    return TorchvisionBackbone(cfg.torchvision_name)
