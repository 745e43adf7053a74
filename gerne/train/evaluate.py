"""Batched, on-device evaluation of a split: accuracy, GBA, WGA, worst-class, CBA, aligned/conflicting accuracy."""

from __future__ import annotations

import torch

from gerne.data.contract import Split
from gerne.metrics import group_accuracy_tensor

SCALARS = ("acc", "gba", "wga", "cba", "worst_class", "aligned_acc", "conflicting_acc")


def split_scores(pred: torch.Tensor, split: Split, aligned: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(vector of :data:`SCALARS`, K×A group accuracies), both on the device; one host sync happens later.

    ``aligned[y]`` is the majority attribute of class y in the training data (for C-MNIST the colour y), so the
    aligned/conflicting accuracies are over samples with ``a == aligned[y]`` and the rest.
    """
    K, A = split.num_classes, split.num_attributes
    group_acc, _ = group_accuracy_tensor(pred, split.y, split.a, K, A)
    class_acc, _ = group_accuracy_tensor(pred, split.y, torch.zeros_like(split.y), K, 1)
    correct = (pred == split.y).double()
    is_aligned = split.a == aligned[split.y]
    nan = torch.tensor(float("nan"), dtype=torch.float64, device=pred.device)

    def masked_mean(mask: torch.Tensor) -> torch.Tensor:
        n = mask.sum()
        return torch.where(n > 0, (correct * mask).sum() / n.clamp(min=1), nan)

    scalars = torch.stack([
        correct.mean(),
        group_acc.nanmean(),
        _nanmin(group_acc),
        class_acc.nanmean(),
        _nanmin(class_acc),
        masked_mean(is_aligned),
        masked_mean(~is_aligned),
    ])
    return scalars, group_acc


def _nanmin(t: torch.Tensor) -> torch.Tensor:
    return torch.where(torch.isnan(t), torch.full_like(t, float("inf")), t).min()
