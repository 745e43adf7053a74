"""Where results lie on disk: the one module that names the files of ``runs/`` (read by the pipeline's stages and
reports, and by the MLflow import). A row's runs are ``<folder>/<row>/seed<n>.json``; a sweep's points
``<sweep>/<point>/seed<n>.json`` beside its choice ``<sweep>/selected.json``; the reference model f̃'s run
``<folder>/biased.json``; Table 3's ``valonly/full/seed<n>.json`` and ``valonly/cv/fold<k>-seed<n>.json``."""

from __future__ import annotations

from pathlib import Path

SUMMARY_GLOB = "seed*.json"  # one run's summary per seed
SELECTED = "selected.json"  # a sweep's candidates, its validation choice and its test-best point
REFERENCE = "biased.json"  # the reference model f̃'s run summary
NOT_SUMMARIES = ("data.json", "grid.json", SELECTED)  # JSON under runs/ that is no run: stamps, grids, choices


def summary(folder: str | Path, seed: int) -> Path:
    """``<folder>/seed<seed>.json``: the summary of one run (of a row, or of a sweep's point)."""
    return Path(folder) / f"seed{seed}.json"


def fold_summary(folder: str | Path, fold: int, seed: int) -> Path:
    """``<folder>/fold<fold>-seed<seed>.json``: one cross-validation fold's run (Table 3)."""
    return Path(folder) / f"fold{fold}-seed{seed}.json"


def summaries(folder: str | Path) -> list[Path]:
    """Every run summary directly in ``folder``, in name order."""
    return sorted(Path(folder).glob(SUMMARY_GLOB))


def selected(sweep: str | Path) -> Path:
    """``<sweep>/selected.json``: the sweep's choice, written once every point has finished."""
    return Path(sweep) / SELECTED
