"""DFA's released folder trees (Lee et al., Learning Debiased Representation via Disentangled Feature Augmentation):
``<pct>/align/<class>/``, ``<pct>/conflict/<class>/``, a validation folder and ``test/``, every image named
``<id>_<label>_<bias>.<ext>``. Shared by the bFFHQ kind and C-CIFAR-10's alternative source.

Labels come from the file names; a file under ``align/`` must have label = bias and one under ``conflict/``
label ≠ bias, so a folder tree with another coding is refused rather than read with the wrong groups.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from gerne.errors import DataError

SUFFIXES = {".png", ".jpg", ".jpeg"}
Part = tuple[str, str, str]  # (part name: align, conflict, valid or test; contract split; folder under the root)


def parts_of(pct: str, valid: str) -> list[Part]:
    """The four parts of a release whose training folders sit under ``pct`` and validation folder at ``valid``."""
    return [("align", "train", f"{pct}/align"), ("conflict", "train", f"{pct}/conflict"), ("valid", "val", valid),
            ("test", "test", "test")]


def release_dir(raw_dir: str | os.PathLike[str], name: str, marker: str, fix: str) -> Path:
    """``raw_dir`` itself when it holds ``marker`` (a sub-folder), else the first ``name`` folder below it that does."""
    raw = Path(raw_dir)
    if (raw / marker).is_dir():
        return raw
    for candidate in sorted(raw.rglob(name)):
        if (candidate / marker).is_dir():
            return candidate
    raise DataError(f"no {name}/ release folder holding {marker}/ under {raw}; {fix}")


def labels(path: Path, num_labels: int, fix: str) -> tuple[int, int]:
    """(label, bias) from ``<id>_<label>_<bias>.<ext>``, both in 0..num_labels-1."""
    parts = path.stem.split("_")
    try:
        y, a = int(parts[-2]), int(parts[-1])
    except (IndexError, ValueError):
        raise DataError(f"{path}: file names must read <id>_<label>_<bias>.<ext>; {fix}") from None
    if not (0 <= y < num_labels and 0 <= a < num_labels):
        raise DataError(f"{path}: label and bias must lie in 0..{num_labels - 1}, found {y} and {a}; {fix}")
    return y, a


def read_release(root: Path, parts: Sequence[Part], num_labels: int, fix: str) -> pd.DataFrame:
    """The contract table (``id, filename, split, y, a`` and ``part``) of the images under ``root``."""
    records = []
    for part, split, folder in parts:
        files = sorted(p for p in (root / folder).rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
        if not files:
            raise DataError(f"{root / folder} holds no images; {fix}")
        for path in files:
            y, a = labels(path, num_labels, fix)
            if (part == "align" and y != a) or (part == "conflict" and y == a):
                raise DataError(f"{path}: a file in {part}/ with label {y} and bias {a}; {fix}")
            records.append({"filename": path.relative_to(root).as_posix(), "split": split, "y": y, "a": a,
                            "part": part})
    table = pd.DataFrame(records)
    table.insert(0, "id", np.arange(len(table), dtype=np.int64))
    return table
