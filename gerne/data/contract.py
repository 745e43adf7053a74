"""The on-disk dataset contract shared by all benchmarks.

A prepared dataset is a directory with
  * ``metadata.csv`` — one row per sample: ``id, split, y, a`` (``split`` in train/val/test; integer labels),
  * ``images.npy``   — uint8 array ``N×H×W×C`` whose row ``i`` is the sample with ``id == i``
    (image datasets; those prepared from image files keep a ``filename`` column), or, for text datasets,
    ``tokens.npy`` — int32 token ids ``N×L`` (exactly one of the two exists),
  * ``counts.json``  — realised group counts per split, written by :func:`write_tensor_dataset`.
Group bookkeeping (counts, shares) lives here so that every method sees the same ``(x, y, a)`` interface.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from gerne.errors import DataError, PreparedDataError
from gerne.io import atomic_path, write_json

SPLITS = ("train", "val", "test")
METADATA_COLUMNS = ("id", "split", "y", "a")
ARRAY_NAMES = ("images.npy", "tokens.npy")


@dataclass(frozen=True)
class Split:
    """One split held as tensors: ``x`` uint8 images (N×H×W×C) or int32 token ids (N×L), ``y`` labels,
    ``a`` attributes (int64)."""

    x: torch.Tensor
    y: torch.Tensor
    a: torch.Tensor
    num_classes: int
    num_attributes: int

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def to(self, device: torch.device | str) -> Split:
        """Copy the split to ``device`` (data stays there for the whole run; pinned host memory for a GPU)."""
        cuda = torch.device(device).type == "cuda"
        x = self.x.pin_memory() if cuda and not self.x.is_cuda else self.x
        return Split(x.to(device, non_blocking=cuda), self.y.to(device), self.a.to(device), self.num_classes,
                     self.num_attributes)

    def with_attributes(self, a: torch.Tensor, num_attributes: int) -> Split:
        """Same samples with other (e.g. pseudo) attributes."""
        return Split(self.x, self.y, a.to(self.y.device, torch.int64), self.num_classes, num_attributes)


def group_counts(y: np.ndarray, a: np.ndarray, num_classes: int, num_attributes: int) -> np.ndarray:
    """K×A matrix of sample counts per group (y, a)."""
    y = np.asarray(y, dtype=np.int64)
    a = np.asarray(a, dtype=np.int64)
    flat = np.bincount(y * num_attributes + a, minlength=num_classes * num_attributes)
    return flat.reshape(num_classes, num_attributes)


def counts_to_dict(counts: np.ndarray) -> dict[str, int]:
    """``{"y,a": n}`` for every group (JSON-friendly)."""
    return {f"{y},{a}": int(n) for (y, a), n in np.ndenumerate(counts)}


def split_counts(metadata: pd.DataFrame, num_classes: int, num_attributes: int) -> dict[str, dict[str, int]]:
    """``{split: {"y,a": n}}`` of a metadata table (the ``splits`` entry of counts.json)."""
    return {
        split: counts_to_dict(group_counts(part["y"], part["a"], num_classes, num_attributes))
        for split, part in metadata.groupby("split", sort=False)
    }


def write_tensor_dataset(
    out_dir: str | Path, images: np.ndarray, metadata: pd.DataFrame, num_classes: int, num_attributes: int
) -> dict[str, dict[str, int]]:
    """Write ``images.npy``, ``metadata.csv`` and ``counts.json``; return the counts per split."""
    out = Path(out_dir)
    missing = [c for c in METADATA_COLUMNS if c not in metadata.columns]
    if missing:
        raise DataError(f"metadata is missing columns {missing}; the contract needs {list(METADATA_COLUMNS)}")
    if images.dtype != np.uint8 or images.ndim != 4 or len(images) != len(metadata):
        raise DataError(f"images must be uint8 N×H×W×C matching {len(metadata)} metadata rows, got "
                        f"{images.dtype} {images.shape}")
    if not np.array_equal(metadata["id"].to_numpy(), np.arange(len(metadata))):
        raise DataError("metadata ids must be 0..N-1 in row order (row i of images.npy is id i)")
    problems = contract_problems(metadata, num_classes, num_attributes)
    if problems:
        raise DataError(f"refusing to write {out}: the data break the dataset contract ({summarise(problems)}); "
                        "every split needs samples and every class training samples: fix the options that built it")
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "images.npy") as tmp, open(tmp, "wb") as fh:
        np.save(fh, images)
    with atomic_path(out / "metadata.csv") as tmp:
        metadata.loc[:, list(METADATA_COLUMNS)].to_csv(tmp, index=False)
    counts = split_counts(metadata, num_classes, num_attributes)
    write_json(out / "counts.json", {"num_classes": num_classes, "num_attributes": num_attributes, "splits": counts})
    return counts


def contract_problems(meta: pd.DataFrame, num_classes: int, num_attributes: int,
                      every_attribute: bool = False) -> list[str]:
    """How a contract table (columns ``split``, ``y``, ``a``) breaks the contract, ``[]`` when it does not.

    Every split of :data:`SPLITS` holds rows (and no other split name appears); ``y`` and ``a`` are integers in
    [0, K) and [0, A); every class occurs in the train split (a class never trained on cannot be learned, and Eq. 2's
    group shares need each class). With ``every_attribute`` every attribute 0..A-1 occurs in train too, so val and
    test use no attribute that train lacks (data whose A is inferred from its largest ``a``, as kind ``own``).
    """
    problems: list[str] = []
    sizes = meta["split"].value_counts(dropna=False)
    unknown = sorted(map(str, set(sizes.index) - set(SPLITS)))
    if unknown:
        problems.append(f"unknown split names {unknown} (use {list(SPLITS)})")
    empty = [s for s in SPLITS if sizes.get(s, 0) == 0]
    if empty:
        problems.append(f"split(s) {empty} hold no rows (every split needs samples)")
    columns: dict[str, np.ndarray] = {}
    for col, n, what in (("y", num_classes, "class"), ("a", num_attributes, "attribute")):
        numbers = pd.to_numeric(meta[col], errors="coerce")
        bad = np.flatnonzero((numbers.isna() | (numbers != numbers.round())).to_numpy())
        if len(bad):
            problems.append(f"column {col!r} must hold integer {what} indices, row {bad[0]} (split "
                            f"{meta['split'].iloc[bad[0]]!r}) holds {meta[col].iloc[bad[0]]!r}")
            continue
        values = numbers.to_numpy().astype(np.int64)
        out = np.flatnonzero((values < 0) | (values >= n))
        if len(out):
            problems.append(f"{what} {col} = {values[out[0]]} (split {meta['split'].iloc[out[0]]!r}, {len(out)} "
                            f"row(s) out of range) lies outside [0, {n})")
            continue
        columns[col] = values
    split = meta["split"].to_numpy()
    for col, n, what in (("y", num_classes, "class"), ("a", num_attributes, "attribute")):
        if col not in columns or (col == "a" and not every_attribute):
            continue
        seen = np.bincount(columns[col][split == "train"], minlength=n) > 0
        for value in np.flatnonzero(~seen):
            rows = split[columns[col] == value]
            where = ", ".join(f"{s}: {int((rows == s).sum())} row(s)" for s in SPLITS if (rows == s).any())
            problems.append(f"{what} {col} = {value} never occurs in the train split"
                            + (f" (only in {where})" if where else
                               f" (nor in any split: number the {what}es 0..{n - 1} without gaps)"))
    return problems


def summarise(problems: list[str], limit: int = 5) -> str:
    """The first ``limit`` problems joined with ``; `` (and how many more there are)."""
    more = f"; and {len(problems) - limit} more" if len(problems) > limit else ""
    return "; ".join(problems[:limit]) + more


def _require(root: Path, names: tuple[str, ...]) -> list[Path]:
    paths = [root / name for name in names]
    for path in paths:
        if not path.is_file():
            raise DataError(f"{path} is missing: prepare the dataset first (e.g. `dvc repro` its build stage)")
    return paths


def _counts_problem(recorded: object, meta: pd.DataFrame, num_classes: int, num_attributes: int) -> str | None:
    """How counts.json's ``splits`` (``recorded``) disagrees with the counts of metadata.csv, or None."""
    actual = split_counts(meta.assign(y=meta["y"].astype(np.int64), a=meta["a"].astype(np.int64)), num_classes,
                          num_attributes)
    if not isinstance(recorded, dict):
        return "counts.json records no group counts per split"
    for split in sorted(set(actual) | set(recorded)):
        want = recorded.get(split) if isinstance(recorded.get(split), dict) else {}
        found = actual.get(split, {})
        for cell in sorted(set(found) | set(want)):
            if int(found.get(cell, 0)) != want.get(cell, 0):
                return (f"counts.json records {want.get(cell, 0)} rows of split {split!r} group (y,a)=({cell}) but "
                        f"metadata.csv holds {int(found.get(cell, 0))}")
    return None


def load_metadata(data_dir: str | Path) -> tuple[pd.DataFrame, int, int]:
    """``(metadata, num_classes, num_attributes)`` of a prepared dataset, checked against the contract
    (:func:`contract_problems`, counts.json against metadata.csv); a folder that breaks it raises
    :class:`~gerne.errors.PreparedDataError`, whose fix is to prepare it again."""
    root = Path(data_dir)
    meta_path, info_path = _require(root, ("metadata.csv", "counts.json"))
    try:
        meta = pd.read_csv(meta_path)
        info = json.loads(info_path.read_text())
        K, A = int(info["num_classes"]), int(info["num_attributes"])
    except (ValueError, OSError, KeyError, TypeError, pd.errors.ParserError) as exc:
        raise PreparedDataError(root, f"unreadable metadata.csv or counts.json: {exc}") from exc
    missing = [c for c in METADATA_COLUMNS if c not in meta.columns]
    if missing:
        raise PreparedDataError(root, f"metadata.csv lacks columns {missing}; the contract needs "
                                      f"{list(METADATA_COLUMNS)}")
    problems = contract_problems(meta, K, A)
    if not problems and (mismatch := _counts_problem(info.get("splits"), meta, K, A)):
        problems = [mismatch]
    if problems:
        raise PreparedDataError(root, summarise(problems))
    return meta, K, A


def load_tensor_dataset(data_dir: str | Path) -> dict[str, Split]:
    """Load every split of a prepared tensor dataset (``images.npy`` or ``tokens.npy``) as CPU tensors."""
    root = Path(data_dir)
    meta, K, A = load_metadata(root)
    present = [name for name in ARRAY_NAMES if (root / name).is_file()]
    if len(present) != 1:
        if not present:
            raise DataError(f"{root} holds neither {' nor '.join(ARRAY_NAMES)}: prepare the dataset first "
                            "(e.g. `dvc repro` its build stage)")
        raise DataError(f"{root} holds both {' and '.join(present)}; a prepared dataset has exactly one: rebuild it")
    images_path = root / present[0]
    try:
        images = np.load(images_path, mmap_mode="r")
    except (ValueError, OSError) as exc:
        raise DataError(f"{images_path} is corrupt ({exc}); delete it and rebuild the dataset") from exc
    if len(images) != len(meta):
        raise DataError(f"{root}: {images_path.name} has {len(images)} rows but metadata.csv {len(meta)}; rebuild it")
    out: dict[str, Split] = {}
    for split in SPLITS:
        rows = meta.index[meta["split"] == split].to_numpy()
        if len(rows) == 0:
            continue
        out[split] = Split(
            x=torch.from_numpy(np.ascontiguousarray(images[rows])),
            y=torch.from_numpy(meta["y"].to_numpy()[rows].astype(np.int64)),
            a=torch.from_numpy(meta["a"].to_numpy()[rows].astype(np.int64)),
            num_classes=K,
            num_attributes=A,
        )
    return out
