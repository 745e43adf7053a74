"""Collect per-run summaries (one JSON per run) into one table: a row per run and selection rule.

Beside the selected metrics each row carries the run's health: ``diverged`` as the loop recorded it, and
``collapsed`` / ``collapsed_epoch`` derived here from the run's history (:mod:`gerne.health`: the run ended at chance,
from that epoch on), so committed summaries are judged without being rewritten."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from gerne import layout
from gerne.errors import DataError
from gerne.health import collapse_epoch

log = logging.getLogger(__name__)
KEPT_METRICS = ("test_gba", "test_wga", "test_acc", "test_aligned_acc", "test_conflicting_acc", "val_gba",
                "val_wga", "val_cba", "train_aligned_acc", "train_conflicting_acc")


COLUMNS = ["benchmark", "ratio", "setting", "seed", "selection", "epoch", *KEPT_METRICS, "epochs_run", "diverged",
           "collapsed", "collapsed_epoch", "seconds_per_epoch", "mlflow_run_id"]


def summary_path(runs_dir: str | Path, folder: str, setting: str, seed: int) -> Path:
    """Where the pipeline writes the summary of run (dataset folder, row, seed)."""
    return layout.summary(Path(runs_dir) / folder / setting, seed)


def _collapse(summary: dict, benchmark: str) -> int | None:
    """The epoch from which the run stayed at chance (None: it did not collapse, or its history or its
    benchmark's number of classes is unknown)."""
    from gerne.data.registry import benchmark_classes

    classes = benchmark_classes(benchmark)
    return collapse_epoch(summary.get("history") or [], classes) if classes else None


def collect(runs_dir: str | Path, columns: Iterable[tuple[str, float, str]], settings: Iterable[str],
            seeds: Iterable[int], allow_missing: bool = False) -> pd.DataFrame:
    """Rows (benchmark, ratio, setting, seed, selection, epoch, metrics…, mlflow_run_id) for every expected run of
    the ``columns`` (benchmark = the dataset's kind, ratio, dataset folder) × ``settings`` × ``seeds``.

    ``collapsed`` / ``collapsed_epoch`` (the same on every selection row of a run) come from the run's history and
    its benchmark's number of classes (:func:`gerne.health.collapse_epoch`; False / empty where either is unknown).
    Only the runs of the current design are read, so summaries left from older params never leak in. A missing
    summary is an error naming the file unless ``allow_missing`` (then it is logged and left out: the report marks
    its cell).
    """
    rows = []
    settings, seeds = list(settings), list(seeds)
    for benchmark, ratio, folder in columns:
        for setting in settings:
            for seed in seeds:
                path = summary_path(runs_dir, folder, setting, seed)
                if not path.is_file():
                    if allow_missing:
                        log.warning("no summary %s yet; its cell is reported as not run", path)
                        continue
                    raise DataError(f"missing run summary {path}; run `dvc repro` to train it")
                try:
                    summary = json.loads(path.read_text())
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path} is not valid JSON ({exc}); delete it and rerun its stage") from exc
                key = {"benchmark": benchmark, "ratio": ratio, "setting": setting, "seed": seed}
                rows += [record(key, summary, selection) for selection in summary["selections"]]
    return frame(rows)


def record(key: dict[str, object], summary: dict, selection: str, rule: str | None = None) -> dict[str, object]:
    """One row of the run table: ``key`` (benchmark, ratio, setting, seed), the metrics of ``summary`` at the
    checkpoint its selection ``rule`` chose (default: ``selection``), recorded as ``selection``, and its health."""
    chosen = summary["selections"][rule or selection]
    since = _collapse(summary, str(key["benchmark"]))
    return {**key, "selection": selection, "epoch": chosen["epoch"],
            **{m: chosen["metrics"].get(m) for m in KEPT_METRICS},
            "epochs_run": summary["epochs_run"], "diverged": summary["diverged"],
            "collapsed": since is not None, "collapsed_epoch": since,
            "seconds_per_epoch": summary["seconds_per_epoch"], "mlflow_run_id": summary["mlflow_run_id"]}


def frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    """The run table of ``rows`` (:data:`COLUMNS`)."""
    table = pd.DataFrame(rows, columns=COLUMNS)
    return table.astype({"collapsed": bool, "collapsed_epoch": "Int64"})  # an epoch, or empty: never "3.0"


def with_test_selection(table: pd.DataFrame, runs_dir: str | Path, sweeps_dir: str | Path,
                        columns: Iterable[tuple[str, float, str]], settings: Iterable[str], seeds: Iterable[int],
                        metrics: dict[str, str] | None = None) -> pd.DataFrame:
    """``table`` with the paper's protocol added as selection ``test`` (:mod:`pipeline.reports.test_selection`):
    config and checkpoint chosen on the test metric of each folder (``metrics``: folder → its dataset's
    oracle metric; default test GBA), every seed found."""
    from pipeline.reports.test_selection import SELECTION, test_selected

    rows = []
    for benchmark, ratio, folder in columns:
        for setting in settings:
            metric = (metrics or {}).get(folder, "test_gba")
            chosen = test_selected(runs_dir, sweeps_dir, folder, setting, list(seeds), metric)
            for seed, (summary, _point) in chosen.items():
                key = {"benchmark": benchmark, "ratio": ratio, "setting": setting, "seed": seed}
                rows.append(record(key, summary, SELECTION, rule="oracle"))
    return frame([*table.to_dict("records"), *rows]) if rows else table
