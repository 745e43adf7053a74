"""MLP for C-MNIST (LfF: 2352→100→100→100→10, ReLU; widths configurable)."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import torch
from torch import nn


class MLP(nn.Module):
    """Fully connected classifier on uint8 images; scaling to [0, 1] and flattening happen inside."""

    def __init__(self, in_features: int, num_classes: int, hidden: Sequence[int] = (100, 100, 100)) -> None:
        super().__init__()
        widths = [in_features, *hidden]
        layers: list[nn.Module] = []
        for w_in, w_out in pairwise(widths):
            layers += [nn.Linear(w_in, w_out), nn.ReLU(inplace=True)]
        layers.append(nn.Linear(widths[-1], num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        if not x.is_floating_point():
            x = x.float().mul_(1.0 / 255.0)
        return self.net(x)
