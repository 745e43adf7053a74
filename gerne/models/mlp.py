"""MLP for C-MNIST (LfF: 2352→100→100→100→10, ReLU; widths configurable).

``input_scale`` multiplies the [0, 1] input: 1 (ours) or 1/255, the inputs LfF's and DFA's ``module/mlp.py`` see
(``ToTensor()`` and a second division by 255 in the forward). With Adam that is a different model, not a
rescaling: the first layer's output then moves 255× more slowly relative to its bias.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn


class MLP(nn.Module):
    """Fully connected classifier; uint8 images are read as pixel/255 · ``input_scale`` and flattened inside."""

    def __init__(self, in_features: int, num_classes: int, hidden: Sequence[int] = (100, 100, 100),
                 input_scale: float = 1.0) -> None:
        super().__init__()
        self.input_scale = float(input_scale)
        widths = [in_features, *hidden]
        layers: list[nn.Module] = []
        for w_in, w_out in pairwise(widths):
            layers += [nn.Linear(w_in, w_out), nn.ReLU(inplace=True)]
        layers.append(nn.Linear(widths[-1], num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        if x.is_floating_point():
            return self.net(x if self.input_scale == 1.0 else x * self.input_scale)
        # uint8 pixels: (x/255·s)·Wᵀ = x·(W·s/255)ᵀ, so scale the small weight matrix instead of every input pixel
        first = self.net[0]
        h = F.linear(x.float(), first.weight * (self.input_scale / 255.0), first.bias)
        return self.net[1:](h)
