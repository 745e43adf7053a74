"""Group metrics (Sec. 5): per-group accuracy, GBA, WGA, worst-class and class-balanced accuracy.

All functions accept numpy arrays or torch tensors of integer predictions/labels/attributes. Groups with no sample in
the evaluated split are NaN in the per-group table and are left out of GBA and WGA ("groups present in the split").
"""

from __future__ import annotations

import numpy as np
import torch

from gerne._arrays import ArrayLike, to_long_tensor


def _check(pred: ArrayLike, y: ArrayLike, a: ArrayLike | None = None) -> tuple[torch.Tensor, ...]:
    p = to_long_tensor(pred, "pred")
    t = to_long_tensor(y, "y", p.device)
    tensors = [p, t] + ([] if a is None else [to_long_tensor(a, "a", p.device)])
    if any(x.shape != p.shape for x in tensors):
        raise ValueError(f"pred, y{', a' if a is not None else ''} must have the same length, got "
                         f"{[tuple(x.shape) for x in tensors]}")
    if p.numel() == 0:
        raise ValueError("cannot compute accuracy of an empty split")
    if any(bool((x < 0).any()) for x in tensors[1:]):
        raise ValueError("labels and attributes must be non-negative integers")
    return tuple(tensors)


def group_accuracy_tensor(pred: torch.Tensor, y: torch.Tensor, a: torch.Tensor, num_classes: int,
                          num_attributes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(K×A accuracies with NaN for empty groups, K×A counts), computed on the tensors' device, no host sync."""
    gid = y * num_attributes + a
    size = num_classes * num_attributes
    counts = torch.bincount(gid, minlength=size)
    correct = torch.bincount(gid, weights=(pred == y).to(torch.float64), minlength=size)
    acc = correct / counts.clamp(min=1)
    acc = torch.where(counts > 0, acc, torch.full_like(acc, float("nan")))
    return acc.reshape(num_classes, num_attributes), counts.reshape(num_classes, num_attributes)


def group_accuracies(pred: ArrayLike, y: ArrayLike, a: ArrayLike, num_classes: int | None = None,
                     num_attributes: int | None = None) -> np.ndarray:
    """K×A table of accuracy per group (y, a); NaN where the group has no sample."""
    p, t, g = _check(pred, y, a)
    K = int(t.max()) + 1 if num_classes is None else num_classes
    A = int(g.max()) + 1 if num_attributes is None else num_attributes
    if int(t.max()) >= K or int(g.max()) >= A:
        raise ValueError(f"labels must be < num_classes={K} and attributes < num_attributes={A}")
    return group_accuracy_tensor(p, t, g, K, A)[0].cpu().numpy()


def gba(pred: ArrayLike, y: ArrayLike, a: ArrayLike) -> float:
    """Group-balanced accuracy: mean accuracy over the groups present in the split."""
    return float(np.nanmean(group_accuracies(pred, y, a)))


def wga(pred: ArrayLike, y: ArrayLike, a: ArrayLike) -> float:
    """Worst-group accuracy: minimum accuracy over the groups present in the split."""
    return float(np.nanmin(group_accuracies(pred, y, a)))


def class_accuracies(pred: ArrayLike, y: ArrayLike) -> np.ndarray:
    """Accuracy per class (NaN for classes absent from ``y``)."""
    p, t = _check(pred, y)
    return group_accuracies(p, t, torch.zeros_like(t))[:, 0]


def worst_class_accuracy(pred: ArrayLike, y: ArrayLike) -> float:
    """Minimum per-class accuracy (model selection when attributes are unknown everywhere)."""
    return float(np.nanmin(class_accuracies(pred, y)))


def class_balanced_accuracy(pred: ArrayLike, y: ArrayLike) -> float:
    """CBA = (1/K)·Σ_y P(ŷ = y | y): selection metric of the biased model f̃ (Sec. 4.2)."""
    return float(np.nanmean(class_accuracies(pred, y)))
