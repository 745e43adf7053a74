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

BLOCK_BYTES = 8 << 20  # float input rows converted at once when a CPU scores a split (well inside a server's L3)
MIN_BLOCK_ROWS = 64  # BLAS takes other kernels for a product of a few rows (here below 12), with other last bits


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
        weight = first.weight * (self.input_scale / 255.0)
        rows = max(MIN_BLOCK_ROWS, BLOCK_BYTES // (4 * x.shape[1]))
        if torch.is_grad_enabled() or x.device.type != "cpu" or x.shape[0] <= rows:
            return self.net[1:](F.linear(x.float(), weight, first.bias))
        # inference on a CPU: convert and multiply a cache-sized block of rows at a time (an 8192-row evaluation chunk
        # of C-MNIST is 77 MB as floats: written out whole, then read back by the product, it took twice as long).
        # Blocks of equal size, each at least MIN_BLOCK_ROWS / 2 rows: a row's output then keeps its bits (tested)
        blocks = x.tensor_split(-(-x.shape[0] // rows))
        return self.net[1:](torch.cat([F.linear(part.float(), weight, first.bias) for part in blocks]))
