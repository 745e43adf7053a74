"""``pseudo``: precomputed pseudo-attributes ã ∈ {0, 1} (0 = pseudo-minority), one per training sample."""

from __future__ import annotations

import numpy as np

from gerne.data.contract import Split
from gerne.groups.base import Grouping, with_pseudo_attributes


def pseudo(train: Split, attributes: np.ndarray) -> Split:
    """Precomputed pseudo-attributes ã (0 = pseudo-minority, 1 = the rest), one per training sample."""
    return with_pseudo_attributes(train, attributes)


GROUPING = Grouping("pseudo", pseudo, label="pseudo", text="precomputed pseudo-groups", case="pseudo",
                    inputs=("attributes",))
