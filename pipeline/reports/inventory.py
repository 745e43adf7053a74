"""REPRODUCTION.md's "Runs counted": what the committed run summaries are (rows, sweep points, their other seeds,
reference models) in the terms of `gerne validate`'s planned count, and the training time they record."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from gerne import layout
from pipeline.reports.sweeps import search_seed
from pipeline.studies.paper_protocol import sweep_runs


def finished_sweeps(sweeps: list[tuple[float, Path]]) -> list[tuple[float, dict[str, Any], Path]]:
    """(ratio, selection, folder) of every sweep that has finished (its selected.json exists), in order."""
    return [(r, json.loads(layout.selected(d).read_text()), d) for r, d in sweeps if layout.selected(d).is_file()]


def _summaries(*roots: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """(path, summary) of every run summary under ``roots``: the JSON files that record training time."""
    for path in sorted(p for root in roots for p in root.rglob("*.json")):
        summary = json.loads(path.read_text())
        if "seconds_per_epoch" in summary and "epochs_run" in summary:
            yield path, summary


def compute_spent(*roots: Path) -> tuple[int, float]:
    """(run summaries, training hours) over every run summary under ``roots`` (evaluation and start-up excluded)."""
    n, seconds = 0, 0.0
    for _path, summary in _summaries(*roots):
        n += 1
        seconds += float(summary["seconds_per_epoch"]) * int(summary["epochs_run"])
    return n, seconds / 3600.0


def run_inventory(roots: list[Path], sweeps: list[tuple[float, Path]], runs: dict[float, Path],
                  table_rows: Collection[str], seeds: int, every: Collection[Path] = (),
                  tested: Collection[Path] = ()) -> dict[str, Any]:
    """What the run summaries under ``roots`` are, in the terms of `gerne validate`'s planned count: summaries of
    Table 1 rows without a search (``table``), of rows of other studies (``other``, with their names in
    ``other_rows``), of the searched rows (``searched``: Table 1's ``sweeps`` and any other search found under
    ``roots``, e.g. an attribution study's), sweep points at their search seed (``points``), the
    test-best points' other seeds (``test_seeds``; sweeps in ``tested`` have ``test_selection``), every point's
    other seeds (``every_seeds``; sweeps in ``every`` have ``every_seed_on``) and reference models (``reference``:
    a summary not named seed<n>.json); from the finished sweeps their grids' sizes (``configs``), the points skipped
    outside Eq. 9 with all their seeds (``skipped``), the most those sweeps may train (``sweep_runs``, as
    `gerne validate` counts them) and the searched rows' summaries that restate a sweep point (``restated``)."""
    known = {d for _, d in sweeps}  # + the searches of other studies' rows in these folders (their own ratio's)
    sweeps = [*sweeps, *sorted((float(d.parent.name[1:]), d) for root in roots for d in
                               (f.parent for f in root.rglob(layout.SELECTED)) if d not in known)]
    finished = finished_sweeps(sweeps)
    seed_of = {d: search_seed(d, s) for _, s, d in finished}
    searched = {d.name for _, d in sweeps}
    counts: Counter[str] = Counter()
    other_rows: set[str] = set()
    for path, _summary in _summaries(*roots):
        sweep = next((d for _, d in sweeps if path.is_relative_to(d)), None)
        if sweep is not None or "sweeps" in path.parts:
            kind = "points"
            if sweep in seed_of and path.name != layout.summary(sweep, seed_of[sweep]).name:
                kind = "every_seeds" if sweep in every else "test_seeds"
        elif not path.stem.startswith("seed"):
            kind = "reference"
        elif path.parent.name in searched:
            kind = "searched"
        elif path.parent.name in table_rows:
            kind = "table"
        else:
            kind = "other"
            other_rows.add(path.parent.name)
        counts[kind] += 1
    configs = {d: len(s["candidates"]) + len(s["skipped"]) for _, s, d in finished}
    return {**{k: counts[k] for k in ("table", "other", "searched", "points", "test_seeds", "every_seeds",
                                      "reference")},
            "other_rows": sorted(other_rows), "searched_rows": sorted(searched), "seeds": seeds,
            "configs": sum(configs.values()),
            "skipped": sum(len(s["skipped"]) * (seeds if d in every else 1) for _, s, d in finished),
            "tested": sum(d in tested and d not in every for _, _, d in finished),
            "every": sum(d in every for _, _, d in finished),
            "sweep_runs": sum(sweep_runs(n, seeds, every_seed=d in every, test_selection=d in tested)
                              for d, n in configs.items()),
            "restated": sum((d / s["best"]["name"] / row_file.name).is_file()
                            for r, s, d in finished if r in runs
                            for row_file in layout.summaries(runs[r] / d.name))}


def _names(rows: list[str]) -> str:
    return ", ".join(f"`{r}`" for r in rows)


def inventory_rows(inv: dict[str, Any], roots: list[Path]) -> list[str]:
    """REPRODUCTION.md's "Runs counted": the summaries by kind beside the terms of `gerne validate`'s sum."""
    total = sum(inv[k] for k in ("table", "other", "searched", "points", "test_seeds", "every_seeds", "reference"))
    planned = inv["table"] + inv["other"] + inv["sweep_runs"]
    unneeded = inv["tested"] * (inv["seeds"] - 1) - inv["test_seeds"]
    return [
        f"The summary's {total} run summaries are the files under {', '.join(f'`{r}`' for r in roots)} that record "
        "training time. `gerne validate` counts, over every dataset `params.yaml` declares, rows × seeds "
        "+ the searches' grid points + the winners' other seeds + the test-best points' other seeds "
        "(`test_selection`) + every point's other seeds (`every_seed_on`) (\"runs at most\"), and lists the "
        f"reference models apart; over the datasets of these folders that sum is {planned}. How the two counts "
        "meet:", "",
        "| run summaries | here | in `gerne validate`'s sum |", "|---|---|---|",
        f"| Table 1 rows without a search × ratios × seeds | {inv['table']} | rows × seeds |",
        f"| rows of other studies ({_names(inv['other_rows'])}) × seeds | {inv['other']} | rows × seeds |",
        f"| searched rows ({_names(inv['searched_rows'])}) × ratios × seeds | {inv['searched']} | "
        f"{inv['searched'] - inv['restated']} as the winners' other seeds; the other {inv['restated']} restate their "
        "sweep's selected point (the same run, counted again here) |",
        f"| sweep points at the search seed | {inv['points']} | {inv['configs']} grid points; those outside Eq. 9 "
        "are skipped |",
        f"| the test-best point's other seeds (`test_selection`) | {inv['test_seeds']} | {inv['seeds'] - 1} per "
        f"sweep with `test_selection`: {inv['tested'] * (inv['seeds'] - 1)} at most; {unneeded} not needed where "
        "validation chose the same point (the row's own folder holds its seeds) |",
        f"| every point's other seeds (`every_seed_on`) | {inv['every_seeds']} | every grid point × "
        f"{inv['seeds'] - 1} in the {inv['every']} sweep(s) with `every_seed_on` (the winner's among them, which "
        "its row then reuses) |",
        f"| reference models (f̃, `biased.json`) | {inv['reference']} | listed apart (\"reference model(s)\") |",
        f"| **total** | **{total}** | {planned} at most − {inv['skipped']} skipped (with their seeds) − {unneeded} not "
        f"needed + {inv['restated']} restated + {inv['reference']} reference models = "
        f"{planned - inv['skipped'] - unneeded + inv['restated'] + inv['reference']} |",
    ]
