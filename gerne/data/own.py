"""Bring your own image dataset: a table ``id, filename, split, y, a`` plus a folder of images → the contract.

``id`` may be any unique key (it is kept as ``source_id``; the contract renumbers rows 0..N-1 in table order);
``filename`` is relative to ``image_root``; ``split`` is train/val/test; ``y`` and ``a`` are integers from 0.
K and A are one more than the largest ``y`` and ``a``; every split needs rows, and every class and every attribute
rows in train (:func:`gerne.data.contract.contract_problems`). Data without a bias attribute leaves out the ``a``
column (``attributes=False``): every sample gets a = 0 (A = 1), so only methods that need no attributes apply.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from gerne.data.contract import SPLITS, contract_problems, summarise
from gerne.data.counts import Counts, Prepared, read_csv_columns
from gerne.data.images import prepare_images
from gerne.errors import DataError

COLUMNS = ("id", "filename", "split", "y", "a")


def read_own_table(meta_csv: str | os.PathLike[str], attributes: bool = True) -> tuple[pd.DataFrame, int, int]:
    """``(table, K, A)`` of a user table, validated; the contract table keeps the user's id as ``source_id``."""
    columns = COLUMNS if attributes else COLUMNS[:-1]
    hint = f"it must be a CSV with columns {list(columns)}" + ("" if attributes else " (attributes: false)")
    raw = read_csv_columns(meta_csv, columns, hint)
    if not attributes:
        if "a" in raw.columns:
            raise DataError(f"{meta_csv} has an attribute column 'a' but the dataset is declared with attributes: "
                            "false; remove the column or declare attributes: true")
        raw["a"] = 0
    if raw.empty:
        raise DataError(f"{meta_csv} has no rows")
    if raw["id"].duplicated().any():
        raise DataError(f"{meta_csv}: ids must be unique, e.g. '{raw.loc[raw['id'].duplicated(), 'id'].iloc[0]}' "
                        "repeats")
    if raw["filename"].isna().any():
        raise DataError(f"{meta_csv}: {int(raw['filename'].isna().sum())} row(s) have no filename")
    bad = sorted(map(str, set(raw["split"]) - set(SPLITS)))
    if bad:
        raise DataError(f"{meta_csv}: unknown split values {bad}; use {list(SPLITS)}")
    for col in ("y", "a"):
        values = pd.to_numeric(raw[col], errors="coerce")
        bad_rows = np.flatnonzero(values.isna() | (values != values.round()) | (values < 0))
        if len(bad_rows):
            raise DataError(f"{meta_csv}: column {col!r} must hold integers >= 0 (class / attribute indices); "
                            f"data row {bad_rows[0] + 1} holds '{raw[col].iloc[bad_rows[0]]}'")
        raw[col] = values.astype(np.int64)
    table = pd.DataFrame({
        "id": np.arange(len(raw), dtype=np.int64),
        "filename": raw["filename"].astype(str),
        "split": raw["split"],
        "y": raw["y"],
        "a": raw["a"],
        "source_id": raw["id"],
    })
    K, A = int(table["y"].max()) + 1, int(table["a"].max()) + 1
    problems = contract_problems(table, K, A, every_attribute=True)
    if problems:
        raise DataError(f"{meta_csv}: {summarise(problems)}. Every split needs rows, and every class and attribute "
                        "training rows (K and A are one more than the largest y and a): add train rows of it, or "
                        "drop its rows and number classes and attributes from 0 without gaps; then prepare again")
    return table, K, A


def prepare_own(
    meta_csv: str | os.PathLike[str],
    image_root: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    transform: str,
    image_size: int,
    expected_counts: Counts | None = None,
    workers: int | None = None,
    attributes: bool = True,
) -> Prepared:
    """Prepare a user image dataset into ``out_dir`` (see the module docstring); counts are checked only when
    ``expected_counts`` ({split: {"y,a": n}}) is given."""
    table, K, A = read_own_table(meta_csv, attributes)
    return prepare_images(table, image_root, out_dir, transform=transform, image_size=image_size, num_classes=K,
                          num_attributes=A, expected_counts=expected_counts, dataset=f"own dataset {meta_csv}",
                          workers=workers)


def prepare(root: str | os.PathLike[str], out_dir: str | os.PathLike[str], *, metadata: str = "metadata.csv",
            transform: str = "resize_crop", image_size: int = 224, expected_counts: Counts | None = None,
            attributes: bool = True, workers: int | None = None) -> Prepared:
    """The registry's ``prepare`` for kind ``own``: ``root/metadata`` names files relative to ``root``."""
    meta = os.path.join(root, metadata)
    if not os.path.isfile(meta):
        raise DataError(f"{meta} is missing: kind own needs the table (id, filename, split, y[, a]) in its root "
                        "folder (params.yaml: datasets.<name>.root / metadata)")
    return prepare_own(meta, root, out_dir, transform, image_size, expected_counts, workers, attributes)
