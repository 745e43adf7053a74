"""Finished sweeps read back for the reports: every trained point's validation and test scores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gerne import layout


def search_seed(sweep_dir: str | Path, selected: dict[str, Any]) -> int:
    """The seed a finished sweep trained its points with (``selected``: its ``selected.json``)."""
    seed = selected.get("seed")
    if seed is None:  # selections written before they recorded their seed have it in grid.json
        seed = json.loads((Path(sweep_dir) / "grid.json").read_text())["seed"]
    return int(seed)


def candidate_scores(sweep_dir: str | Path) -> list[dict[str, Any]]:
    """Each trained point of a finished sweep (its ``selected.json`` exists): point, name, val GBA (the selector),
    test GBA at that same checkpoint (evidence only, never used to choose) and whether it was selected."""
    sweep_dir = Path(sweep_dir)
    selected = json.loads(layout.selected(sweep_dir).read_text())
    seed = search_seed(sweep_dir, selected)
    rows = []
    for c in selected["candidates"]:
        summary = json.loads(layout.summary(sweep_dir / c["name"], seed).read_text())
        rows.append({"point": c["point"], "name": c["name"], "val_gba": c["value"],
                     "test_gba": summary["selections"]["best_val"]["metrics"]["test_gba"],
                     "selected": c["name"] == selected["best"]["name"]})
    return rows
