"""The run table: one collector reads every run summary of the datasets in use into one long table, a row per run
and selection rule, in the summaries' own vocabulary (``dataset``, ``setting`` = the study's row, ``seed``,
``selection``). Every report is a view of it: Table 1's per-run table (:func:`table1_runs`), Table 2, Table 3, the
attribution studies and yours (:mod:`pipeline.studies.report`).

Beside the selected metrics each row carries the run's health: ``diverged`` as the loop recorded it, and
``collapsed`` / ``collapsed_epoch`` derived here from the run's history (:mod:`gerne.health`: the run ended at chance,
from that epoch on), so committed summaries are judged without being rewritten."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from gerne import layout
from gerne.errors import DataError
from gerne.health import collapse_epoch

if TYPE_CHECKING:
    from pipeline.config import Params
    from pipeline.reports.study import Column

log = logging.getLogger(__name__)
METRICS = ("test_gba", "test_wga", "test_acc", "test_aligned_acc", "test_conflicting_acc", "val_gba", "val_wga",
           "val_cba", "val_worst_class", "train_aligned_acc", "train_conflicting_acc")
HEALTH = ["epochs_run", "diverged", "collapsed", "collapsed_epoch", "seconds_per_epoch", "mlflow_run_id"]
COLUMNS = ["table", "dataset", "benchmark", "ratio", "setting", "fold", "seed", "selection", "epoch", "step",
           *METRICS, *HEALTH]
# Table 1's per-run file (metrics/cmnist_runs.csv): its columns, its datasets' keys and the metrics it keeps
TABLE1_COLUMNS = ["benchmark", "ratio", "setting", "seed", "selection", "epoch",
                  *(m for m in METRICS if m != "val_worst_class"), *HEALTH]
VALONLY = "valonly"  # Table 3's runs: <folder>/valonly/{full,cv}/{seed<n>,fold<k>-seed<n>}.json
STEM = re.compile(r"(?:fold(?P<fold>\d+)-)?seed(?P<seed>\d+)")


@dataclass(frozen=True)
class Source:
    """Where a declared dataset's runs lie (its folder under runs/) and what judges them: its benchmark, its
    bias-conflicting share (None where its kind defines none) and its number of classes (None: unknown)."""

    folder: str
    benchmark: str
    ratio: float | None
    classes: int | None


def sources(p: Params) -> dict[str, Source]:
    """Every declared dataset's :class:`Source`."""
    from gerne.data.registry import KINDS, benchmark_classes

    out = {}
    for name, d in p.datasets.items():
        kind = KINDS[d.kind]
        out[name] = Source(d.dir or name, kind.benchmark, d.minority_percent(),
                           kind.num_classes or benchmark_classes(kind.benchmark))
    return out


def _summaries(folder: Path) -> Iterable[tuple[str, str, Path]]:
    """(table, setting, path) of every run summary of one dataset's folder, rows and Table 3's runs, in name order."""
    for row in sorted(p for p in folder.glob("*") if p.is_dir()):
        if row.name != VALONLY:
            yield from (("rows", row.name, path) for path in layout.summaries(row))
            continue
        for experiment in ("full", "cv"):
            yield from (("table3", experiment, path) for path in sorted((row / experiment).glob("*.json")))


def read(path: Path) -> dict[str, Any]:
    """One run summary; a DataError names an unreadable file and the fix."""
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is not valid JSON ({exc}); delete it and rerun its stage") from exc


def record(key: Mapping[str, object], summary: dict, selection: str, classes: int | None,
           rule: str | None = None) -> dict[str, object]:
    """One row of the run table: ``key`` (table, dataset, benchmark, ratio, setting, fold, seed), the metrics of
    ``summary`` at the checkpoint its selection ``rule`` chose (default: ``selection``), recorded as ``selection``,
    and its health (``collapsed`` needs the number of ``classes``: False where unknown)."""
    chosen = summary["selections"][rule or selection]
    metrics = chosen["metrics"]
    since = collapse_epoch(summary.get("history") or [], classes) if classes else None
    return {**key, "selection": selection, "epoch": chosen.get("epoch"), "step": metrics.get("step"),
            **{m: metrics.get(m) for m in METRICS},
            "epochs_run": summary.get("epochs_run"), "diverged": summary.get("diverged"),
            "collapsed": since is not None, "collapsed_epoch": since,
            "seconds_per_epoch": summary.get("seconds_per_epoch"), "mlflow_run_id": summary.get("mlflow_run_id")}


def frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    """The run table of ``rows`` (:data:`COLUMNS`): an epoch, a fold or a collapse epoch is an integer or empty,
    never "3.0"."""
    table = pd.DataFrame(rows, columns=COLUMNS)
    return table.astype({"collapsed": bool, "collapsed_epoch": "Int64", "epoch": "Int64", "fold": "Int64"})


def collect(runs_dir: str | Path, datasets: Mapping[str, Source]) -> pd.DataFrame:
    """Every run summary of ``datasets`` under ``runs_dir`` (rows ``<folder>/<row>/seed<n>.json``, Table 3's
    ``<folder>/valonly/...``), one row per run and selection rule, datasets in name order. Summaries of rows the
    design no longer lists are read too: each report keeps the rows it shows."""
    rows, root = [], Path(runs_dir)
    for name, source in sorted(datasets.items()):
        for table, setting, path in _summaries(root / source.folder):
            stem = STEM.fullmatch(path.stem)
            if stem is None:
                continue  # not a run's summary (a stamp, a grid)
            summary = read(path)
            key = {"table": table, "dataset": name, "benchmark": source.benchmark, "ratio": source.ratio,
                   "setting": setting, "fold": None if stem["fold"] is None else int(stem["fold"]),
                   "seed": int(stem["seed"])}
            rows += [record(key, summary, s, source.classes) for s in summary["selections"]]
    return frame(rows)


def table1_runs(table: pd.DataFrame, columns: Iterable[Column], settings: Iterable[str],
                seeds: Iterable[int]) -> pd.DataFrame:
    """Table 1's per-run table: the runs of ``columns`` × ``settings`` × ``seeds`` in that order
    (:data:`TABLE1_COLUMNS`, as in ``metrics/cmnist_runs.csv``). Only the runs of the current design are kept,
    so summaries left from older params never leak in; a missing run is logged and left out (the report marks
    its cell)."""
    groups = {key: part for key, part in table[table["table"] == "rows"].groupby(["dataset", "setting", "seed"],
                                                                                    sort=False)}
    parts, settings, seeds = [], list(settings), list(seeds)
    for column in columns:
        for setting in settings:
            for seed in seeds:
                part = groups.get((column.dataset, setting, seed))
                if part is None:
                    log.warning("no summary %s yet; its cell is reported as not run",
                                layout.summary(Path("runs") / column.folder / setting, seed))
                else:
                    parts.append(part)
    kept = pd.concat(parts, ignore_index=True) if parts else frame([])
    return kept[TABLE1_COLUMNS]


def with_test_selection(table: pd.DataFrame, runs_dir: str | Path, sweeps_dir: str | Path,
                        columns: Iterable[Column], settings: Iterable[str], seeds: Iterable[int],
                        sources_: Mapping[str, Source], metrics: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Table 1's per-run ``table`` with the paper's protocol added as selection ``test``
    (:mod:`pipeline.reports.test_selection`): config and checkpoint chosen on the test metric of each column
    (``metrics``: dataset → its oracle metric; default test GBA), every seed found."""
    from pipeline.reports.test_selection import SELECTION, test_selected

    rows = []
    for column in columns:
        source = sources_[column.dataset]
        for setting in settings:
            metric = (metrics or {}).get(column.dataset, "test_gba")
            chosen = test_selected(runs_dir, sweeps_dir, column.folder, setting, list(seeds), metric)
            for seed, (summary, _point) in chosen.items():
                key = {"table": "rows", "dataset": column.dataset, "benchmark": column.benchmark,
                       "ratio": column.ratio, "setting": setting, "fold": None, "seed": seed}
                rows.append(record(key, summary, SELECTION, source.classes, rule="oracle"))
    if not rows:
        return table
    added = frame(rows)[TABLE1_COLUMNS]
    return pd.concat([table, added], ignore_index=True) if len(table) else added


def select(runs: pd.DataFrame, table: str = "rows", **where: object) -> pd.DataFrame:
    """The rows of the run table ``runs`` of ``table`` (rows, table3) whose columns equal every value of ``where``
    (e.g. ``dataset=…, setting=…, selection=…``): one report cell's runs."""
    mask = runs["table"] == table
    for column, value in where.items():
        mask &= runs[column] == value
    return runs[mask]
