"""Pseudo-attributes for the unknown-attribute case (Sec. 4.2, Appendix D = Algorithm 2)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from gerne._arrays import ArrayLike, to_numpy

PSEUDO_MINORITY, PSEUDO_MAJORITY = 0, 1  # ã = 1 ("hard") and ã = 2 of the paper, zero-based


@dataclass(frozen=True)
class PseudoSplit:
    """A pseudo-minority mask with the number of classes whose size had to be clamped."""

    mask: np.ndarray
    clamped_classes: list[int]


def _validate(confidence: ArrayLike, y: ArrayLike, t: float) -> tuple[np.ndarray, np.ndarray]:
    conf = to_numpy(confidence, "confidence", dtype=np.float64)
    labels = to_numpy(y, "y")
    if conf.ndim != 1 or labels.ndim != 1 or conf.shape != labels.shape:
        raise ValueError(f"confidence and y must be 1-D of equal length, got {conf.shape} and {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"y must hold integer class labels, got dtype {labels.dtype}")
    if not np.isfinite(conf).all():
        raise ValueError("confidence must be finite (softmax probabilities of the true class)")
    if not (0.0 < float(t) < 1.0):
        raise ValueError(f"t = {t} is outside (0, 1); t is the pseudo-minority share per class (Sec. 4.2)")
    return conf, labels


def pseudo_minority_detail(confidence: ArrayLike, y: ArrayLike, t: float) -> PseudoSplit:
    """Per class, the ⌊t·|X_y|⌋ lowest-confidence samples, clamped to [1, |X_y| − 1]; ties broken by index."""
    conf, labels = _validate(confidence, y, t)
    mask = np.zeros(conf.shape, dtype=bool)
    clamped: list[int] = []
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        if idx.size < 2:
            raise ValueError(f"class {cls} has {idx.size} sample(s); both pseudo-groups must be non-empty")
        k = math.floor(float(t) * idx.size)
        k_used = min(max(k, 1), idx.size - 1)
        if k_used != k:
            clamped.append(int(cls))
        lowest = idx[np.argsort(conf[idx], kind="stable")[:k_used]]
        mask[lowest] = True
    return PseudoSplit(mask, clamped)


def pseudo_minority(confidence: ArrayLike, y: ArrayLike, t: float) -> np.ndarray | torch.Tensor:
    """Boolean pseudo-minority mask (Sec. 4.2); a torch input gives a torch mask on the same device."""
    mask = pseudo_minority_detail(confidence, y, t).mask
    if isinstance(confidence, torch.Tensor):
        return torch.from_numpy(mask).to(confidence.device)
    return mask


def pseudo_attributes(mask: ArrayLike) -> np.ndarray:
    """Pseudo-attribute ã per sample: 0 for the pseudo-minority ("hard") group, 1 for the rest."""
    m = to_numpy(mask, "mask", dtype=bool)
    return np.where(m, PSEUDO_MINORITY, PSEUDO_MAJORITY).astype(np.int64)


def pseudo_quality(mask: ArrayLike, y: ArrayLike, minority: ArrayLike) -> dict[str, object]:
    """Fig. 3 / Eq. 14: per-class precision and recall of the pseudo-minority against the true minority.

    precision_y = |pseudo ∩ true minority| / |pseudo| and recall_y = |pseudo ∩ true minority| / |true minority|
    within class y; classes without true minority samples get recall NaN and are left out of the average.
    """
    m = to_numpy(mask, "mask", dtype=bool)
    labels = to_numpy(y, "y")
    true_min = to_numpy(minority, "minority", dtype=bool)
    precision, recall = {}, {}
    for cls in np.unique(labels):
        in_cls = labels == cls
        hit = int((m & true_min & in_cls).sum())
        n_pseudo, n_true = int((m & in_cls).sum()), int((true_min & in_cls).sum())
        precision[int(cls)] = hit / n_pseudo if n_pseudo else float("nan")
        recall[int(cls)] = hit / n_true if n_true else float("nan")
    return {
        "precision": precision,
        "recall": recall,
        "avg_precision": float(np.nanmean(list(precision.values()))),
        "avg_recall": float(np.nanmean(list(recall.values()))),
    }
