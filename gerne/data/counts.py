"""Shared bookkeeping of prepared datasets: locating raw files, checking group counts, the streamed writer.

A prepared dataset is finished when its ``counts.json`` exists; :func:`write_checked` removes stale outputs first,
checks the group counts against the expected ones, streams the array to a temporary name and writes
``counts.json`` last, so a failed or mismatching preparation never leaves a finished-looking directory.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.format import open_memmap

from gerne.data.contract import ARRAY_NAMES, METADATA_COLUMNS, SPLITS, contract_problems, split_counts, summarise
from gerne.errors import DataError
from gerne.io import atomic_path, write_json

log = logging.getLogger(__name__)

Counts = Mapping[str, Mapping[str, int]]  # {split: {"y,a": n}}, the format of counts.json's "splits"
REDOWNLOAD = "delete the raw directory and download (and extract) the release again"


@dataclass(frozen=True)
class Prepared:
    """What a preparation produced: the realised group counts per split and how fast the rows were written."""

    out_dir: Path
    counts: dict[str, dict[str, int]]
    rows: int
    seconds: float

    @property
    def per_second(self) -> float:
        """Rows (images or comments) written per second."""
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


def read_csv_columns(path: str | os.PathLike[str], columns: Iterable[str], fix: str) -> pd.DataFrame:
    """Read a CSV that must hold ``columns``; unreadable or incomplete → DataError ending with ``fix``."""
    columns = list(columns)
    try:
        raw = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"cannot read {path} ({exc}); {fix}") from exc
    missing = [c for c in columns if c not in raw.columns]
    if missing:
        raise DataError(f"{path} lacks columns {missing} (needs {columns}, found {list(raw.columns)}); {fix}")
    return raw


def locate(raw_dir: str | os.PathLike[str], candidates: Iterable[str], what: str) -> Path:
    """The first existing path among ``raw_dir/candidate``; a DataError naming all of them otherwise."""
    tried = [Path(raw_dir) / name for name in candidates]
    for path in tried:
        if path.exists():
            return path
    raise DataError(f"{what} not found; looked for {', '.join(map(str, tried))}. Download and extract the release "
                    f"into {raw_dir} first (or point raw_dir at the directory that holds it)")


def check_counts(actual: Counts, expected: Counts, dataset: str) -> None:
    """Raise a DataError listing every (split, y, a) cell whose count differs from ``expected``.

    Cells absent on one side count as 0. ``expected`` may also be a whole counts.json (with a ``splits`` key).
    """
    expected = expected.get("splits", expected)  # type: ignore[assignment]
    diffs = []
    for split in sorted(set(actual) | set(expected), key=lambda s: (*SPLITS, s).index(s)):
        found, want = actual.get(split, {}), expected.get(split, {})
        for cell in sorted(set(found) | set(want)):
            n_found, n_want = int(found.get(cell, 0)), int(want.get(cell, 0))
            if n_found != n_want:
                diffs.append(f"{split} (y,a)=({cell}): expected {n_want}, found {n_found}")
    if diffs:
        raise DataError(
            f"{dataset}: {len(diffs)} group count(s) differ from the expected ones:\n  " + "\n  ".join(diffs)
            + f"\nThe raw files are a wrong, partial or modified release: {REDOWNLOAD}. For your own data, pass "
            "expected_counts ({split: {'y,a': n}}) that state its counts."
        )


def validate_table(table: pd.DataFrame, num_classes: int, num_attributes: int, source: str) -> None:
    """Check a contract table: columns, ids 0..N-1 in row order, integer labels, :func:`contract_problems`."""
    missing = [c for c in METADATA_COLUMNS if c not in table.columns]
    if missing:
        raise DataError(f"{source} lacks columns {missing}; the contract needs {list(METADATA_COLUMNS)}")
    if len(table) == 0:
        raise DataError(f"{source} has no rows")
    if not np.array_equal(table["id"].to_numpy(), np.arange(len(table))):
        raise DataError(f"{source}: ids must be 0..N-1 in row order")
    for col in ("y", "a"):
        if not pd.api.types.is_integer_dtype(table[col]):
            raise DataError(f"{source}: column {col!r} must hold integers, got {table[col].dtype}")
    problems = contract_problems(table, num_classes, num_attributes)
    if problems:
        raise DataError(f"{source} breaks the dataset contract: {summarise(problems)}. Every split needs samples and "
                        f"every class training samples: {REDOWNLOAD} (for your own data, fix its table)")


def write_checked(
    out_dir: str | os.PathLike[str],
    table: pd.DataFrame,
    *,
    array_name: str,
    row_shape: tuple[int, ...],
    dtype: Any,
    fill: Callable[[np.ndarray], None],
    num_classes: int,
    num_attributes: int,
    expected: Counts | None,
    dataset: str,
) -> Prepared:
    """Write a prepared dataset: ``fill`` streams every row into an ``N×row_shape`` memmap saved as ``array_name``.

    The counts are checked against ``expected`` (skipped when None) before the costly fill, so a wrong release
    fails in seconds; metadata.csv keeps every column of ``table``; counts.json is written last.
    """
    if array_name not in ARRAY_NAMES:
        raise ValueError(f"array_name must be one of {ARRAY_NAMES}, got {array_name!r}")
    validate_table(table, num_classes, num_attributes, dataset)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("counts.json", "metadata.csv", *ARRAY_NAMES):
        (out / stale).unlink(missing_ok=True)
    counts = split_counts(table, num_classes, num_attributes)
    if expected is not None:
        check_counts(counts, expected, dataset)
    start = time.perf_counter()
    with atomic_path(out / array_name) as tmp:
        array = open_memmap(tmp, mode="w+", dtype=dtype, shape=(len(table), *row_shape))
        fill(array)
        array.flush()
        del array
    seconds = time.perf_counter() - start
    with atomic_path(out / "metadata.csv") as tmp:
        table.to_csv(tmp, index=False)
    write_json(out / "counts.json", {"num_classes": num_classes, "num_attributes": num_attributes, "splits": counts})
    done = Prepared(out, counts, len(table), seconds)
    log.info("%s: wrote %d rows to %s in %.1f s (%.0f rows/s)", dataset, len(table), out, seconds, done.per_second)
    return done
