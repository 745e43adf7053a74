"""Groupings: which attributes a method sees in training (Sec. 4.2), by name.

Each grouping maps the training split (true attributes) to the split the method is set up on; evaluation always uses
the true attributes. ``known`` keeps them, ``none`` hides them (one group per class), ``pseudo`` takes precomputed
pseudo-attributes ã ∈ {0, 1}, ``confidence`` derives them from a reference model's confidence softmax(f̃(x))_y at
pseudo-minority share ``t`` (Algorithm 2, step 2) and ``errors`` marks that model's error set (JTT). Add one by
writing a function ``(train, **inputs) -> Split`` and its entry in ``GROUPINGS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from gerne.core.pseudo import pseudo_attributes, pseudo_minority_detail
from gerne.data.contract import Split
from gerne.errors import ConfigError, DataError


def known(train: Split) -> Split:
    """The true attributes."""
    return train


def none(train: Split) -> Split:
    """No attributes: a single group per class (the method can only balance classes)."""
    return train.with_attributes(torch.zeros_like(train.y), 1)


def pseudo(train: Split, attributes: np.ndarray) -> Split:
    """Precomputed pseudo-attributes ã (0 = pseudo-minority, 1 = the rest), one per training sample."""
    if len(attributes) != len(train):
        raise DataError(f"{len(attributes)} pseudo-attributes for {len(train)} training samples; derive them again "
                        "from the current reference model")
    return train.with_attributes(torch.from_numpy(np.asarray(attributes)), 2)


def confidence(train: Split, scores: np.ndarray, t: float) -> Split:
    """Pseudo-attributes from the reference model's scores: the share ``t`` of least confident samples per class."""
    if len(scores) != len(train):
        raise DataError(f"the reference model's scores hold {len(scores)} samples, the training split {len(train)}; "
                        "score the training split again")
    mask = pseudo_minority_detail(scores, train.y.cpu().numpy(), t).mask
    return pseudo(train, pseudo_attributes(mask))


def reference_confidence(model: torch.nn.Module, train: Split, batch_size: int = 8192) -> np.ndarray:
    """softmax(f̃(x))_y of every training sample under the reference model, in eval mode, ``batch_size`` at a time
    (the input of ``confidence``; Algorithm 2, step 2)."""
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(train), batch_size):
            probs = torch.softmax(model(train.x[i : i + batch_size]).float(), 1)
            out.append(probs.gather(1, train.y[i : i + batch_size, None])[:, 0])
    return torch.cat(out).cpu().numpy()


def errors(train: Split, scores: np.ndarray) -> Split:
    """JTT's error set from the reference model's confidence p_y = softmax(f̃(x))_y: ã = 0 where p_y < 1/2, which
    holds every misclassified sample (another class outscores y) and the few correct ones without a majority."""
    if len(scores) != len(train):
        raise DataError(f"the reference model's scores hold {len(scores)} samples, the training split {len(train)}; "
                        "score the training split again")
    return pseudo(train, (np.asarray(scores) >= 0.5).astype(np.int64))


GROUPINGS: dict[str, Callable[..., Split]] = {"known": known, "none": none, "pseudo": pseudo,
                                              "confidence": confidence, "errors": errors}


def apply_grouping(name: str, train: Split, **inputs: Any) -> Split:
    """The training split as grouping ``name`` presents it to a method (ConfigError naming the known ones)."""
    if name not in GROUPINGS:
        raise ConfigError(f"unknown grouping '{name}'; available: {sorted(GROUPINGS)}")
    return GROUPINGS[name](train, **inputs)
