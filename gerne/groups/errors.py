"""``errors``: JTT's error set of the reference model (Liu et al., 2021), as two pseudo-groups."""

from __future__ import annotations

import numpy as np

from gerne.data.contract import Split
from gerne.groups.base import Grouping, check_scores, with_pseudo_attributes


def errors(train: Split, scores: np.ndarray) -> Split:
    """JTT's error set from the reference model's confidence p_y = softmax(f̃(x))_y: ã = 0 where p_y < 1/2, which
    holds every misclassified sample (another class outscores y) and the few correct ones without a majority."""
    check_scores(scores, train)
    return with_pseudo_attributes(train, (np.asarray(scores) >= 0.5).astype(np.int64))


GROUPING = Grouping("errors", errors, label="f̃ errors", text="the reference model's error set", case="errors",
                    inputs=("scores",))
