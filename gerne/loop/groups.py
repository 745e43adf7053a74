"""Groups for your own loop: pseudo-attributes from your biased model's confidences when the bias attribute is
unknown (Sec. 4.2, Algorithm 2), and Eq. 9's β bounds for any labels and attributes."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from torch import nn

from gerne._arrays import ArrayLike, to_numpy
from gerne.core.pseudo import pseudo_attributes, pseudo_minority
from gerne.core.shares import beta_bounds, group_shares
from gerne.errors import DataError


def true_class_confidence(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """softmax(logits)_y: the probability a model gives each sample's own class."""
    return torch.softmax(logits.float(), dim=1).gather(1, targets.long()[:, None])[:, 0]


@torch.no_grad()
def confidences(model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
                device: torch.device | str | None = None) -> torch.Tensor:
    """True-class confidence of every sample of ``batches`` ((inputs, labels) pairs, e.g. a ``DataLoader`` without
    shuffling: the result follows its order), in eval mode, on the CPU."""
    was_training = model.training
    model.eval()
    try:
        out = [true_class_confidence(model(x.to(device) if device else x), y.to(device) if device else y).cpu()
               for x, y, *_ in batches]
    finally:
        model.train(was_training)
    return torch.cat(out)


def pseudo_groups(confidence: ArrayLike, labels: ArrayLike, t: float) -> np.ndarray | torch.Tensor:
    """Pseudo-attributes (Sec. 4.2): per class the ⌊t·|X_y|⌋ samples the biased model is least sure of form the
    pseudo-minority (0), the rest the pseudo-majority (1); ``t`` ∈ (0, 1) is that share. A torch input gives a
    tensor on its device."""
    mask = pseudo_minority(confidence, labels, t)
    groups = pseudo_attributes(mask)
    return torch.from_numpy(groups).to(confidence.device) if isinstance(confidence, torch.Tensor) else groups


def eq9_bounds(labels: ArrayLike, attributes: ArrayLike, c: float) -> tuple[float, float]:
    """(β_min, β_max) of Eq. 9 on a training set's (pseudo-)groups: the β that keep p_ext (Eq. 8) a distribution."""
    y, a = to_numpy(labels, "labels", np.int64), to_numpy(attributes, "attributes", np.int64)
    if y.shape != a.shape or y.ndim != 1 or y.size == 0:
        raise DataError(f"labels and attributes must be 1-D, non-empty and of one length, got {y.shape} and {a.shape}")
    if y.min() < 0 or a.min() < 0:
        raise DataError("labels and attributes are integers from 0")
    num_attributes = int(a.max()) + 1
    counts = np.bincount(y * num_attributes + a, minlength=(int(y.max()) + 1) * num_attributes)
    counts = counts.reshape(-1, num_attributes)
    return beta_bounds(group_shares(counts), c)
