"""CelebA (Blond_Hair vs Male, SubpopBench protocol): y = Blond_Hair, a = Male.

Accepts the original release (``list_attr_celeba.txt``: a count line, a line of the 40 attribute names, then
``filename v1 .. v40`` separated by runs of spaces, values −1/1; ``list_eval_partition.txt``: ``filename partition``)
and the Kaggle mirror (``list_attr_celeba.csv`` with header ``image_id,5_o_Clock_Shadow,...``;
``list_eval_partition.csv`` with ``image_id,partition``; images nested as ``img_align_celeba/img_align_celeba/``).
Attributes are looked up by name. Images (178×218) are centre-cropped to 178 and resized (``crop_resize``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from gerne.data.counts import REDOWNLOAD, Counts, Prepared, locate
from gerne.data.gdrive import CELEBA_MANUAL_HINT as FETCH_HINT  # noqa: F401  (read by the registry)
from gerne.data.images import prepare_images
from gerne.data.sources import Source
from gerne.errors import DataError

NAME = "celeba"
SOURCES = [
    Source("img_align_celeba.zip", gdrive_id="0B7EVK8r0v71pZjFTYXZWM3FlRnM", md5="00d2c5bc6d35e252742224ab0c1e8fcb",
           extract=True),
    Source("list_attr_celeba.txt", gdrive_id="0B7EVK8r0v71pblRyaVFSWGxPY0U", md5="75e246fa4810816ffd6ee81facbd244c"),
    Source("list_eval_partition.txt", gdrive_id="0B7EVK8r0v71pY0NSMzRuSXJEVkk",
           md5="d32c9cbf5e040fd4025c592c306e6668"),
]
TARGET, ATTRIBUTE = "Blond_Hair", "Male"
NUM_CLASSES = NUM_ATTRIBUTES = 2
TRANSFORM = "crop_resize"
SPLIT_CODES = {0: "train", 1: "val", 2: "test"}
IMAGE_DIRS = ("img_align_celeba/img_align_celeba", "img_align_celeba")  # Kaggle nesting first
PUBLISHED_COUNTS: dict[str, dict[str, int]] = {
    "train": {"0,0": 71629, "0,1": 66874, "1,0": 22880, "1,1": 1387},
    "val": {"0,0": 8535, "0,1": 8276, "1,0": 2874, "1,1": 182},
    "test": {"0,0": 9767, "0,1": 7535, "1,0": 2480, "1,1": 180},
}


def _read(path: Path, **kwargs: object) -> pd.DataFrame:
    try:
        return pd.read_csv(path, **kwargs)  # type: ignore[call-overload]
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{path} cannot be parsed ({exc}); {REDOWNLOAD}") from exc


def read_attributes(path: str | os.PathLike[str]) -> pd.DataFrame:
    """``list_attr_celeba.txt`` or ``.csv`` as a frame with ``image_id`` and one column per attribute name."""
    path = Path(path)
    if path.suffix == ".csv":
        frame = _read(path)
    else:
        with open(path, encoding="utf-8") as fh:
            declared, names = fh.readline().strip(), fh.readline().split()
        frame = _read(path, sep=r"\s+", skiprows=2, header=None, names=["image_id", *names])
        if not declared.isdigit() or int(declared) != len(frame):
            raise DataError(f"{path} declares {declared!r} rows but holds {len(frame)}: the file is truncated; "
                            f"{REDOWNLOAD}")
    if "image_id" not in frame.columns:
        raise DataError(f"{path} has no image_id column (header: {list(frame.columns)[:5]}...); {REDOWNLOAD}")
    for name in (TARGET, ATTRIBUTE):
        if name not in frame.columns:
            raise DataError(f"{path} has no {name!r} attribute; this is not CelebA's attribute list. {REDOWNLOAD}")
        if not frame[name].isin([-1, 1]).all():
            raise DataError(f"{path}: attribute {name!r} must hold -1/1 values only; {REDOWNLOAD}")
    return frame


def read_partition(path: str | os.PathLike[str]) -> pd.DataFrame:
    """``list_eval_partition.txt`` or ``.csv`` as ``image_id, partition`` (0/1/2 = train/val/test)."""
    path = Path(path)
    frame = _read(path) if path.suffix == ".csv" else _read(path, sep=r"\s+", header=None,
                                                            names=["image_id", "partition"])
    if list(frame.columns[:2]) != ["image_id", "partition"] or not frame["partition"].isin(list(SPLIT_CODES)).all():
        raise DataError(f"{path} must hold image_id and a partition in 0/1/2; {REDOWNLOAD}")
    return frame


def build_table(attributes: pd.DataFrame, partition: pd.DataFrame) -> pd.DataFrame:
    """Contract table ``id, filename, split, y, a`` sorted by file name (the release order); every image needs
    exactly one entry in each list."""
    try:
        merged = partition.merge(attributes[["image_id", TARGET, ATTRIBUTE]], on="image_id", how="outer",
                                 indicator=True, validate="one_to_one", sort=True)
    except pd.errors.MergeError as exc:
        raise DataError(f"CelebA: an image is listed twice in the attribute or partition list ({exc}); "
                        f"{REDOWNLOAD}") from exc
    unmatched = merged[merged["_merge"] != "both"]
    if len(unmatched):
        raise DataError(f"CelebA: {len(unmatched)} image(s) appear in only one of the attribute and partition lists "
                        f"(e.g. {unmatched['image_id'].iloc[0]}); the files come from different releases. {REDOWNLOAD}")
    return pd.DataFrame({
        "id": np.arange(len(merged), dtype=np.int64),
        "filename": merged["image_id"].astype(str),
        "split": merged["partition"].astype(np.int64).map(SPLIT_CODES),
        "y": (merged[TARGET] == 1).astype(np.int64),
        "a": (merged[ATTRIBUTE] == 1).astype(np.int64),
    })


def prepare(
    raw_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    image_size: int = 224,
    expected_counts: Counts | None = None,
    workers: int | None = None,
) -> Prepared:
    """Prepare CelebA from ``raw_dir`` (original .txt lists or the Kaggle .csv ones, plus ``img_align_celeba/``)
    into ``out_dir``; the group counts must equal ``expected_counts`` (default: the published ones)."""
    attr = locate(raw_dir, ["list_attr_celeba.txt", "list_attr_celeba.csv"], "CelebA attribute list")
    part = locate(raw_dir, ["list_eval_partition.txt", "list_eval_partition.csv"], "CelebA partition list")
    images = locate(raw_dir, IMAGE_DIRS, "CelebA image folder")
    return prepare_images(
        build_table(read_attributes(attr), read_partition(part)), images, out_dir, transform=TRANSFORM,
        image_size=image_size, num_classes=NUM_CLASSES, num_attributes=NUM_ATTRIBUTES, dataset=NAME, workers=workers,
        expected_counts=PUBLISHED_COUNTS if expected_counts is None else expected_counts,
    )
