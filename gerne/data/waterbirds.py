"""Waterbirds (group-DRO release, SubpopBench protocol): y = waterbird, a = water background.

The archive unpacks to ``waterbird_complete95_forest2water2/`` holding ``metadata.csv``
(``img_id, img_filename, y, split, place[, place_filename]``; split 0/1/2 = train/val/test) and class folders of
JPEGs. Images are resized to 256² and centre-cropped to 224 (``resize_crop``).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from gerne.data.counts import REDOWNLOAD, Counts, Prepared, locate, read_csv_columns
from gerne.data.images import prepare_images
from gerne.data.sources import Source
from gerne.errors import DataError

NAME = "waterbirds"
FOLDER = "waterbird_complete95_forest2water2"
SOURCES = [
    Source(f"{FOLDER}.tar.gz", urls=(f"https://downloads.cs.stanford.edu/nlp/data/dro/{FOLDER}.tar.gz",), extract=True)
]
NUM_CLASSES = NUM_ATTRIBUTES = 2
TRANSFORM = "resize_crop"
SPLIT_CODES = {0: "train", 1: "val", 2: "test"}
COLUMNS = ("img_id", "img_filename", "y", "split", "place")
PUBLISHED_COUNTS: dict[str, dict[str, int]] = {
    "train": {"0,0": 3498, "0,1": 184, "1,0": 56, "1,1": 1057},
    "val": {"0,0": 467, "0,1": 466, "1,0": 133, "1,1": 133},
    "test": {"0,0": 2255, "0,1": 2255, "1,0": 642, "1,1": 642},
}


def read_metadata(path: str | os.PathLike[str]) -> pd.DataFrame:
    """The release's ``metadata.csv`` as a contract table ``id, filename, split, y, a`` (plus ``img_id``)."""
    raw = read_csv_columns(path, COLUMNS, f"is this the group-DRO Waterbirds release? {REDOWNLOAD}")
    bad = sorted(set(raw["split"]) - set(SPLIT_CODES))
    for col, allowed in (("y", {0, 1}), ("place", {0, 1})):
        if not set(raw[col]) <= allowed:
            bad.append(f"{col} values {sorted(set(raw[col]) - allowed)}")
    if bad:
        raise DataError(f"{path}: unexpected values {bad} (split must be 0/1/2, y and place 0/1); {REDOWNLOAD}")
    return pd.DataFrame({
        "id": np.arange(len(raw), dtype=np.int64),
        "filename": raw["img_filename"].astype(str),
        "split": raw["split"].map(SPLIT_CODES),
        "y": raw["y"].astype(np.int64),
        "a": raw["place"].astype(np.int64),
        "img_id": raw["img_id"],
    })


def prepare(
    raw_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    image_size: int = 224,
    expected_counts: Counts | None = None,
    workers: int | None = None,
) -> Prepared:
    """Prepare the extracted release in ``raw_dir`` (which holds ``waterbird_complete95_forest2water2/``, or is
    that folder) into ``out_dir``; the group counts must equal ``expected_counts`` (default: the published ones).
    """
    meta_path = locate(raw_dir, [f"{FOLDER}/metadata.csv", "metadata.csv"], "Waterbirds metadata.csv")
    return prepare_images(
        read_metadata(meta_path), meta_path.parent, out_dir, transform=TRANSFORM, image_size=image_size,
        num_classes=NUM_CLASSES, num_attributes=NUM_ATTRIBUTES, dataset=NAME, workers=workers,
        expected_counts=PUBLISHED_COUNTS if expected_counts is None else expected_counts,
    )
