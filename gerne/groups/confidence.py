"""``confidence``: pseudo-attributes from a reference model's confidence softmax(f̃(x))_y (Algorithm 2, step 2)."""

from __future__ import annotations

import numpy as np
import torch

from gerne.core.pseudo import pseudo_attributes, pseudo_minority_detail
from gerne.data.contract import Split
from gerne.groups.base import Grouping, check_scores, with_pseudo_attributes


def confidence(train: Split, scores: np.ndarray, t: float) -> Split:
    """Pseudo-attributes from the reference model's scores: the share ``t`` of least confident samples per class."""
    check_scores(scores, train)
    mask = pseudo_minority_detail(scores, train.y.cpu().numpy(), t).mask
    return with_pseudo_attributes(train, pseudo_attributes(mask))


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


GROUPING = Grouping("confidence", confidence, label="pseudo", case="unknown", inputs=("scores",), share="t",
                    text="pseudo-groups from the reference model's confidence (Algorithm 2)")
