"""The baseline the benchmark compares against: GERNE written the way most research code is.

A per-sample ``Dataset`` (one ``__getitem__`` per image), two ``DataLoader`` objects with weighted samplers for
the biased and the less-biased batch, ``torch.optim.SGD`` and a ``loss.item()`` per step for logging.
Same model, same batch sizes and the same loss (Eq. 5).
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, WeightedRandomSampler

from gerne.core.objective import extrapolated_loss
from gerne.core.shares import group_shares, p_lb
from gerne.data.contract import Split, group_counts
from gerne.models import build_model


class PerSampleDataset(Dataset):
    """Returns one (float image, label) pair per call."""

    def __init__(self, split: Split) -> None:
        self.x, self.y = split.x, split.y

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[i].float() / 255.0, self.y[i]


def _sampler(split: Split, p: np.ndarray, n: int, seed: int) -> WeightedRandomSampler:
    """Per-sample weights giving class-balanced batches with group distribution ``p`` (K×A) inside classes."""
    y, a = split.y.numpy(), split.a.numpy()
    counts = group_counts(y, a, split.num_classes, split.num_attributes)
    w = p[y, a] / counts[y, a] / split.num_classes
    return WeightedRandomSampler(torch.as_tensor(w), n, replacement=True,
                                 generator=torch.Generator().manual_seed(seed))


def naive_epoch_seconds(split: Split, c: float, beta: float, steps: int, batch_size: int = 100) -> float:
    """Wall time of ``steps`` naive GERNE steps (two DataLoader batches of K·B each, per-step ``.item()``)."""
    K, A = split.num_classes, split.num_attributes
    alpha = group_shares(group_counts(split.y.numpy(), split.a.numpy(), K, A))
    n = K * batch_size
    loaders = [DataLoader(PerSampleDataset(split), batch_size=n, sampler=_sampler(split, p, n * steps, seed))
               for p, seed in ((alpha, 0), (p_lb(alpha, c), 1))]
    torch.manual_seed(0)
    model = build_model("mlp", tuple(split.x.shape[1:]), K)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1.0e-2)
    start = time.perf_counter()
    losses = []
    for (xb, yb), (xlb, ylb) in zip(*loaders, strict=True):
        loss = extrapolated_loss(F.cross_entropy(model(xlb), ylb), F.cross_entropy(model(xb), yb), beta)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return time.perf_counter() - start
