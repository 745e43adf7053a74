"""Where results lie on disk: the one module that names the project's paths (read by the plan, the pipeline's
stages and reports, and by the MLflow import).

Per dataset, under its folder (its ``dir``, default its name): the raw release ``data/raw/<base>``, the prepared data
``data/<folder>`` with its counts ``data/<folder>/counts.json``, the reference model ``models/<folder>/biased.pt``, its
scores ``models/<folder>/pseudo.npz`` and their quality ``models/<folder>/pseudo.json``, a row's runs
``runs/<folder>/<row>/seed<n>.json`` and a search's ``runs/sweeps/<folder>/<row>``. Each root is one DVC stage's
output: ``data`` (stage ``data``), ``models`` and ``runs`` (stage ``train``). In those: a sweep's points
``<sweep>/<point>/seed<n>.json`` beside its choice ``<sweep>/selected.json``; the reference model f̃'s run
``<folder>/biased.json``; Table 3's ``valonly/full/seed<n>.json`` and ``valonly/cv/fold<k>-seed<n>.json``. The
reports: every study's table ``reports/tables/<study>.{md,csv}``, Table 1's files (:data:`TABLE1`) and the figures
``reports/figures/fig<n>_<dataset>.png``."""

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


def raw_dir(base: str) -> str:
    """``data/raw/<base>``: a release as fetched (a variant reads its base's)."""
    return f"data/raw/{base}"


def data_dir(folder: str) -> str:
    """``data/<folder>``: a prepared dataset (the dataset contract)."""
    return f"data/{folder}"


def counts_file(folder: str) -> str:
    """``data/<folder>/counts.json``: the prepared splits' group counts."""
    return f"data/{folder}/counts.json"


def checkpoint(folder: str) -> str:
    """``models/<folder>/biased.pt``: the reference model f̃."""
    return f"models/{folder}/biased.pt"


def scores_file(folder: str) -> str:
    """``models/<folder>/pseudo.npz``: f̃'s scores and the pseudo-attributes per t."""
    return f"models/{folder}/pseudo.npz"


def quality_file(folder: str | Path, models: str | Path = "models") -> Path:
    """``<models>/<folder>/pseudo.json``: the pseudo-attributes' precision and recall per t."""
    return Path(models) / folder / "pseudo.json"


def runs_dir(folder: str, runs: str | Path = "runs") -> Path:
    """``<runs>/<folder>``: every row's runs of a dataset (and its reference model's)."""
    return Path(runs) / folder


def sweeps_dir(folder: str, runs: str | Path = "runs") -> Path:
    """``<runs>/sweeps/<folder>``: every search of a dataset."""
    return Path(runs) / "sweeps" / folder


def row_dir(folder: str, row: str, runs: str | Path = "runs") -> Path:
    """``<runs>/<folder>/<row>``: a row's run summaries, one per seed."""
    return runs_dir(folder, runs) / row


def reference_summary(folder: str, runs: str | Path = "runs") -> Path:
    """``<runs>/<folder>/biased.json``: the reference model's run summary."""
    return runs_dir(folder, runs) / REFERENCE


def sweep_dir(folder: str, row: str, runs: str | Path = "runs") -> Path:
    """``<runs>/sweeps/<folder>/<row>``: a row's search, one folder per point."""
    return sweeps_dir(folder, runs) / row


TABLES = "reports/tables"  # every study's table (the report stage's output folder)
FIGURES = "reports/figures"  # the paper's figures (the figures stage's output folder)
TABLE1 = {"runs_table": "metrics/cmnist_runs.csv", "out": f"{TABLES}/table1_cmnist", "full": f"{TABLES}/table1",
          "headline": "metrics/headline.json", "reproduction": "reports/REPRODUCTION.md",
          "baselines": "reports/baselines.md"}  # the study reported as Table 1: its files (out, full: no suffix)


def study_table(study: str, suffix: str) -> str:
    """``reports/tables/<study>.<suffix>``: a study's table (``md`` or ``csv``)."""
    return f"{TABLES}/{study}.{suffix}"


def figure(number: int, dataset: str) -> str:
    """``reports/figures/fig<number>_<dataset>.png``: Fig. 2 or 3 of the paper, drawn on ``dataset``."""
    return f"{FIGURES}/fig{number}_{dataset}.png"
