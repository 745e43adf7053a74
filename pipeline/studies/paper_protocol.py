"""The paper's protocol beside ours: a search's grid point with the best *test* score, rerun with every seed.

The paper states no checkpoint rule for Table 1; its copied baselines come from code that keeps the best test
accuracy seen, and Fig. 3 tunes β "to achieve the best average accuracy on test set". A row with
``test_selection: true`` therefore also trains the grid point that is best on its dataset's oracle metric (at its
oracle checkpoint, search seed) with every other seed, in that point's sweep folder, so the reports can show
test-set selection over every seed. Nothing here chooses what is reported as ours: the headline stays validation
selection. Pure JSON reading (no torch), shared by the sweep stage and the reports.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from gerne import layout


def score(summary: dict[str, Any], rule: str, metric: str) -> float:
    """``metric`` at the checkpoint selection ``rule`` chose in a run summary (−inf when it has none)."""
    chosen = summary.get("selections", {}).get(rule)
    value = chosen["metrics"].get(metric) if chosen else None
    return -math.inf if value is None or math.isnan(value) else float(value)


def best_on_test(sweep_dir: str | Path, trained: list[dict[str, Any]], seed: int, metric: str) -> dict[str, Any]:
    """The ``trained`` grid point (``name``: its folder) whose search-seed run has the best test ``metric`` at
    its oracle checkpoint (ties: the first in search order), with that value."""
    best: dict[str, Any] | None = None
    for entry in trained:
        summary = json.loads(layout.summary(Path(sweep_dir) / entry["name"], seed).read_text())
        value = score(summary, "oracle", metric)
        if best is None or value > best["value"]:
            best = {**entry, "metric": metric, "value": value}
    if best is None:
        raise ValueError(f"{sweep_dir}: no trained grid point to choose from")
    return best


def extra_seeds(point: dict[str, Any], chosen_on_val: str, seeds: list[int], search_seed: int) -> list[int]:
    """The seeds the test-best ``point`` still needs in its sweep folder: every seed but the search seed, none
    when validation chose the same point (the row's own folder holds its seeds)."""
    return [] if point["name"] == chosen_on_val else [s for s in seeds if s != search_seed]


def sweep_runs(configs: int, seeds: int, *, every_seed: bool, test_selection: bool) -> int:
    """Runs a searched row costs at most on one dataset: its ``configs`` grid points at the search seed, the
    winner's other seeds and, with ``test_selection``, the test-best point's other seeds; with ``every_seed``
    (``every_seed_on``) every point with every seed instead, which holds both (the row reuses the winner's)."""
    if every_seed:
        return configs * seeds
    return configs + (seeds - 1) * (2 if test_selection else 1)
