"""Groupings by name: which attributes a method sees in training (Sec. 4.2).

``known`` keeps the true attributes, ``none`` hides them (one group per class), ``pseudo`` takes precomputed
pseudo-attributes ã ∈ {0, 1}, ``confidence`` derives them from a reference model's confidence at pseudo-minority
share ``t`` (Algorithm 2, step 2) and ``errors`` marks that model's error set (JTT). Add one with a module that
declares its :class:`~gerne.groups.base.Grouping` and one entry here.
"""

from __future__ import annotations

from typing import Any

from gerne.data.contract import Split
from gerne.errors import unknown_name
from gerne.groups import confidence, errors, known, none, pseudo
from gerne.groups.base import Grouping
from gerne.groups.confidence import reference_confidence

GROUPINGS: dict[str, Grouping] = {m.GROUPING.name: m.GROUPING for m in (known, none, pseudo, confidence, errors)}

__all__ = ["GROUPINGS", "Grouping", "apply_grouping", "grouping", "list_groupings", "reference_confidence"]


def list_groupings(inputs: tuple[str, ...] | None = None) -> list[str]:
    """The registered groupings' names, sorted; with ``inputs``, those needing nothing else (e.g. ``("scores",)``:
    what a harness that provides the reference model's scores can serve)."""
    return sorted(n for n, g in GROUPINGS.items() if inputs is None or set(g.inputs) <= set(inputs))


def grouping(name: str) -> Grouping:
    """The declaration of grouping ``name`` (ConfigError with a did-you-mean hint and the known names)."""
    if name not in GROUPINGS:
        raise unknown_name("grouping", name, GROUPINGS)
    return GROUPINGS[name]


def apply_grouping(name: str, train: Split, **inputs: Any) -> Split:
    """The training split as grouping ``name`` presents it to a method."""
    return grouping(name).apply(train, **inputs)
