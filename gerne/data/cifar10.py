"""CIFAR-10's python release: the archive as a verified source, and its pickled batches read safely.

``cifar-10-python.tar.gz`` unpacks to ``cifar-10-batches-py/`` with ``data_batch_1..5`` (training, 10,000 images
each), ``test_batch`` and ``batches.meta``. Each batch is a pickled dict whose ``b"data"`` is a uint8 array
``N×3072`` (the red, green and blue 32×32 planes of each image) and ``b"labels"`` a list of class indices. The
batches are unpickled by an allow-list unpickler (plain containers and NumPy arrays only), so a tampered file is
refused instead of run.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from gerne.data.download import md5_of
from gerne.data.sources import Source
from gerne.errors import DataError

ARCHIVE = Source(
    "cifar-10-python.tar.gz", urls=("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",),
    md5="c58f30108f718f92721af3b95e74349a", extract=True,
)
FOLDER = "cifar-10-batches-py"
BATCHES: dict[str, str] = {  # file -> MD5 of the canonical release
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
}
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
SIDE = 32
_FIX = "delete the raw directory and fetch CIFAR-10 again (`dvc repro fetch@<dataset>`)"
_ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
            ("numpy._core.multiarray", "scalar"),
            ("_codecs", "encode")}  # how Python 3 writes bytes at protocol 2 (copies re-pickled since the release)


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def batch_dir(raw_dir: str | os.PathLike[str]) -> Path:
    """The folder holding the batch files: ``raw_dir`` itself or the first ``cifar-10-batches-py`` below it."""
    raw = Path(raw_dir)
    if (raw / "test_batch").is_file():
        return raw
    found = sorted(p for p in raw.rglob(FOLDER) if p.is_dir())
    if not found:
        raise DataError(f"no {FOLDER}/ folder under {raw}; {_FIX}, or put {ARCHIVE.name} (or its extracted "
                        "folder) into the dataset's mirror directory")
    return found[0]


def verify_batches(raw_dir: str | os.PathLike[str], md5s: dict[str, str] | None = None) -> dict[str, str]:
    """Check every batch file's MD5 (``md5s``: :data:`BATCHES`, the canonical ones, by default); returns
    ``{file: "md5:<hex>"}``."""
    folder = batch_dir(raw_dir)
    out = {}
    for name, expected in (BATCHES if md5s is None else md5s).items():
        path = folder / name
        if not path.is_file():
            raise DataError(f"{path} is missing; {_FIX}")
        actual = md5_of(path)
        if actual != expected:
            raise DataError(f"{path} has MD5 {actual}, not the release's {expected}; {_FIX}")
        out[name] = f"md5:{actual}"
    return out


def read_batch(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """One batch file as (images uint8 N×32×32×3, labels int64 N); a malformed file is a DataError."""
    try:
        with open(path, "rb") as fh:
            entry = _SafeUnpickler(fh, encoding="bytes").load()
        data, labels = np.asarray(entry[b"data"]), np.asarray(entry[b"labels"], dtype=np.int64)
    except (OSError, EOFError, pickle.UnpicklingError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DataError(f"{path} is not a CIFAR-10 batch ({type(exc).__name__}: {exc}); {_FIX}") from exc
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * SIDE * SIDE or len(labels) != len(data):
        raise DataError(f"{path}: data must be uint8 N×3072 with N labels, got {data.dtype} {data.shape} and "
                        f"{len(labels)} labels; {_FIX}")
    if len(labels) and (labels.min() < 0 or labels.max() >= len(CLASSES)):
        raise DataError(f"{path}: labels outside 0..9; {_FIX}")
    return data.reshape(-1, 3, SIDE, SIDE).transpose(0, 2, 3, 1).copy(), labels


def load_cifar10(raw_dir: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train images, train labels, test images, test labels) from the batches under ``raw_dir``."""
    folder = batch_dir(raw_dir)
    for name in BATCHES:
        if not (folder / name).is_file():
            raise DataError(f"{folder / name} is missing; {_FIX}")
    parts = [read_batch(folder / name) for name in TRAIN_BATCHES]
    test_x, test_y = read_batch(folder / "test_batch")
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), test_x, test_y
