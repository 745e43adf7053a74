"""Checkpoint selection rules by name (Sec. 5): which evaluation of a run its reported numbers come from.

``last`` is the final evaluation, ``best_val`` the highest validation score (``LoopConfig.select_metric``: val GBA,
val WGA, val worst-class accuracy, …; its model state is kept) and ``oracle`` the highest test score
(``LoopConfig.oracle_metric``), the rule some baselines report and which is labelled as such. Ties keep the earliest
evaluation. Add a rule by one entry in ``RULES``; the loop tracks every rule that has a metric.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gerne.errors import ConfigError


@dataclass(frozen=True)
class Rule:
    """A selection rule: the metric it maximises (None = the last evaluation) and whether its state is kept."""

    metric: Callable[[Any], str | None]  # LoopConfig -> history key
    keep_state: bool


RULES: dict[str, Rule] = {
    "last": Rule(lambda cfg: None, keep_state=True),
    "best_val": Rule(lambda cfg: cfg.select_metric, keep_state=True),
    "oracle": Rule(lambda cfg: cfg.oracle_metric, keep_state=False),
}


def better(value: float, best: float) -> bool:
    """True when ``value`` beats ``best`` (NaN never wins; anything beats a NaN best)."""
    return not math.isnan(value) and (math.isnan(best) or value > best)


def choose(name: str, history: Sequence[dict[str, float]], cfg: Any) -> int | None:
    """The epoch rule ``name`` selects from a run's whole ``history`` (None if its metric was never finite)."""
    if name not in RULES:
        raise ConfigError(f"unknown selection rule '{name}'; available: {sorted(RULES)}")
    key = RULES[name].metric(cfg)
    if key is None:
        return int(history[-1]["epoch"]) if history else None
    best, epoch = math.nan, None
    for row in history:
        if better(row.get(key, math.nan), best):
            best, epoch = row[key], int(row["epoch"])
    return epoch
