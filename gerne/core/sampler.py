"""Class-balanced batches with a chosen within-class group distribution (Sec. 4.1.1, Algorithm 1).

For each class, ``per_class`` independent draws of a group from p(·|y), then a uniform index inside the drawn group
(with replacement). Unbiased in expectation for fractional α_ya·B. Fully vectorised, on the data's device, and its
cost per batch does not depend on the dataset size.
"""

from __future__ import annotations

import numpy as np
import torch

from gerne.core.shares import group_shares


class GroupSampler:
    """Draws index batches for a split whose samples carry labels ``y`` and (pseudo-)attributes ``a``."""

    def __init__(self, y: torch.Tensor, a: torch.Tensor, num_classes: int, num_attributes: int) -> None:
        if y.shape != a.shape or y.ndim != 1:
            raise ValueError(f"y and a must be 1-D of equal length, got {tuple(y.shape)} and {tuple(a.shape)}")
        self.num_classes, self.num_attributes = num_classes, num_attributes
        self.device = y.device
        gid = y * num_attributes + a
        self._order = torch.argsort(gid, stable=True)
        counts = torch.bincount(gid, minlength=num_classes * num_attributes)
        self._counts = counts
        self._offsets = torch.cumsum(counts, 0) - counts
        self._class_base = torch.arange(num_classes, device=self.device)[:, None] * num_attributes  # first gid of y
        self.counts = counts.reshape(num_classes, num_attributes).cpu().numpy()
        self.alpha = group_shares(self.counts)

    def probabilities(self, p: np.ndarray) -> torch.Tensor:
        """Validate a K×A distribution against the group sizes and move it to the device."""
        p = np.asarray(p, dtype=np.float64)
        if p.shape != self.counts.shape:
            raise ValueError(f"p must be {self.counts.shape}, got {p.shape}")
        if ((p > 0) & (self.counts == 0)).any():
            raise ValueError("p gives probability to an empty group; renormalise over non-empty groups first")
        return torch.as_tensor(p, dtype=torch.float32, device=self.device)

    def draw(self, probs: torch.Tensor, per_class: int, generator: torch.Generator) -> torch.Tensor:
        """Return ``K·per_class`` sample indices: ``per_class`` per class, groups drawn from ``probs`` (K×A)."""
        groups = torch.multinomial(probs, per_class, replacement=True, generator=generator)
        gid = groups + self._class_base
        u = torch.rand(gid.shape, generator=generator, device=self.device)
        size = self._counts[gid]
        within = torch.minimum((u * size).long(), size - 1)
        return self._order[self._offsets[gid] + within].reshape(-1)
