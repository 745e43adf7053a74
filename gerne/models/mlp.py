"""MLP for C-MNIST (LfF: 2352→100→100→100→10, ReLU; widths configurable)."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn


class MLP(nn.Module):
    """Fully connected classifier; uint8 images are read as pixel/255 and flattened inside."""

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
        if x.is_floating_point():
            return self.net(x)
        # uint8 pixels: (x/255)·Wᵀ = x·(W/255)ᵀ, so scale the small weight matrix instead of every input pixel
        first = self.net[0]
        h = F.linear(x.float(), first.weight * (1.0 / 255.0), first.bias)
        return self.net[1:](h)
