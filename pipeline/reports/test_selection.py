"""Test-set selection (``test``): the paper's protocol as a selection rule of its own in the run table.

For a row with one config it is the ``oracle`` checkpoint (best test metric) of each seed. For a row that searches,
the config is chosen on the test metric too: the grid point whose search-seed run has the best test metric at its
oracle checkpoint (:func:`pipeline.studies.paper_protocol.best_on_test`), each seed of that point at its oracle
checkpoint. Its other seeds come from the point's sweep folder (``test_selection: true`` trains them) or, when
validation chose the same point, from the row's own folder; a seed found in neither is left out (the report shows
the seed count). It is labelled test-set selection everywhere: the headline stays validation selection.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gerne import layout
from pipeline.reports.sweeps import search_seed
from pipeline.studies.paper_protocol import best_on_test

SELECTION = "test"
RULE = "config and epoch with the best test GBA: the paper's protocol (test-set selection, an upper bound)"


def test_selected(runs_dir: str | Path, sweeps_dir: str | Path, folder: str, setting: str, seeds: list[int],
                  metric: str) -> dict[int, tuple[dict[str, Any], str]]:
    """Seed → (summary, grid point or "" for a row without a search) of the runs test-set selection reports."""
    own = Path(runs_dir) / folder / setting
    sweep = Path(sweeps_dir) / folder / setting
    if not layout.selected(sweep).is_file():
        return {s: (json.loads(p.read_text()), "") for s in seeds if (p := layout.summary(own, s)).is_file()}
    selected = json.loads(layout.selected(sweep).read_text())
    point = best_on_test(sweep, selected["candidates"], search_seed(sweep, selected), metric)["name"]
    out = {}
    for s in seeds:
        path = layout.summary(sweep / point, s)
        if not path.is_file() and point == selected["best"]["name"]:
            path = layout.summary(own, s)
        if path.is_file():
            out[s] = (json.loads(path.read_text()), point)
    return out
