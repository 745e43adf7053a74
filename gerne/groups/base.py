"""What a grouping is: which attributes a method sees in training (Sec. 4.2), declared by the grouping itself.

A grouping maps the training split (true attributes) to the split a method is set up on; evaluation always uses the
true attributes. Each module of ``gerne.groups`` declares one :class:`Grouping`; the harness reads every property it
needs from the declaration (which inputs to load, which config option sets the pseudo-minority share, how tables
name it) instead of comparing names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from gerne.data.contract import Split
from gerne.errors import DataError


@dataclass(frozen=True)
class Grouping:
    """One grouping. ``apply(train, **inputs) -> Split`` takes exactly the keyword ``inputs`` named here (``scores``:
    the reference model's confidence softmax(f̃(x))_y per training sample; ``attributes``: precomputed ã), plus
    ``share`` when it is set: the name of the config option holding the pseudo-minority share (Algorithm 2's t)."""

    name: str
    apply: Callable[..., Split]
    label: str  # the attributes column of a results table
    text: str  # what the method sees, in a sentence of a report
    case: str  # a search's grid-point folder prefix and the kind its selection records
    true_attributes: bool = False  # it reads the true training attributes (a dataset without them cannot serve it)
    inputs: tuple[str, ...] = ()
    share: str | None = None

    @property
    def scored(self) -> bool:
        """Derived from the reference model's scores (the pipeline's scores stage provides them)."""
        return "scores" in self.inputs

    @property
    def pseudo(self) -> bool:
        """Its groups are pseudo-groups (Eq. 9's bounds then hold on the pseudo-group shares)."""
        return not self.true_attributes and bool(self.inputs)


def with_pseudo_attributes(train: Split, attributes: np.ndarray) -> Split:
    """``train`` with pseudo-attributes ã ∈ {0, 1} (0 = pseudo-minority), one per training sample."""
    if len(attributes) != len(train):
        raise DataError(f"{len(attributes)} pseudo-attributes for {len(train)} training samples; derive them again "
                        "from the current reference model")
    return train.with_attributes(torch.from_numpy(np.asarray(attributes)), 2)


def check_scores(scores: np.ndarray, train: Split) -> None:
    """DataError unless the reference model's ``scores`` hold one value per training sample."""
    if len(scores) != len(train):
        raise DataError(f"the reference model's scores hold {len(scores)} samples, the training split {len(train)}; "
                        "score the training split again")
