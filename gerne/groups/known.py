"""``known``: the true attributes (Table 1's "known" rows)."""

from __future__ import annotations

from gerne.data.contract import Split
from gerne.groups.base import Grouping


def known(train: Split) -> Split:
    """The true attributes."""
    return train


GROUPING = Grouping("known", known, label="known", text="the true groups", case="known", true_attributes=True)
