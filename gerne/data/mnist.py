"""MNIST raw files: fetch (offline mirror directory or canonical URLs), verify, parse gzipped IDX files."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from gerne.data.download import GZIP_ERRORS, fetch_verified, gzip_problem
from gerne.errors import DataError

# MD5 of the *decompressed* bytes of the canonical files (the .gz wrappers differ between mirrors).
MNIST_FILES: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte.gz": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte.gz": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte.gz": "27ae3e4e09519cfbb04c329615203637",
}
MNIST_MIRRORS: list[str] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
]
MIRROR_ENV = "GERNE_MNIST_MIRROR"
IDX_MAGIC = {2051: 3, 2049: 1}  # images (N, rows, cols) / labels (N,), unsigned bytes

_FIX = (
    f" To fix: set the environment variable {MIRROR_ENV} (or name the dataset's mirror in local.yaml: `mirrors:`) "
    f"to a directory holding the four MNIST .gz files ({', '.join(MNIST_FILES)}), or give this machine internet "
    f"access to the canonical mirrors ({', '.join(MNIST_MIRRORS)})."
)
_REFETCH = (
    "delete it and fetch MNIST again (`dvc repro data`); if the files come from a mirror directory "
    f"({MIRROR_ENV} or `mirrors:` in local.yaml), check that the copy there is intact"
)


def resolve_mirror(mirror: str | os.PathLike[str] | None = None) -> Path | None:
    """Mirror directory: ``mirror`` if given, else ``$GERNE_MNIST_MIRROR`` if set and non-empty, else None."""
    if mirror is not None and str(mirror) != "":
        return Path(mirror).expanduser()
    env = os.environ.get(MIRROR_ENV, "").strip()
    return Path(env).expanduser() if env else None


def fetch_mnist(
    dest_dir: str | os.PathLike[str], mirror: str | os.PathLike[str] | None = None
) -> dict[str, Path]:
    """Place the four verified MNIST files in ``dest_dir``; return ``{file name: path}``.

    Source: the mirror directory (argument, else ``$GERNE_MNIST_MIRROR``) when set, else the canonical URLs.
    Raises :class:`DataError` (with both fixes in the message) when a file cannot be obtained or is corrupt.
    """
    mirror_dir = resolve_mirror(mirror)
    return {
        name: fetch_verified(name, dest_dir, MNIST_MIRRORS, mirror_dir, md5, True, hint=_FIX)
        for name, md5 in MNIST_FILES.items()
    }


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Parse a (gzipped, if the name ends in ``.gz``) IDX file of unsigned bytes: images N×R×C or labels N."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except GZIP_ERRORS as exc:
        if isinstance(exc, OSError) and exc.errno is not None:  # permissions, a directory, ...: not corruption
            raise DataError(f"cannot read {path}: {exc.strerror}") from exc
        why = gzip_problem(exc, path) if opener is gzip.open else str(exc)
        raise DataError(f"cannot read {path}: {why}. The file is corrupt: {_REFETCH}") from exc
    if not raw:
        raise DataError(f"{path} is empty (truncated to nothing): {_REFETCH}")
    magic = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else None
    if magic not in IDX_MAGIC:
        raise DataError(f"{path} is not an MNIST IDX file (magic {magic}, expected 2051 for images or 2049 "
                        "for labels); delete it and fetch MNIST again")
    ndim = IDX_MAGIC[magic]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path} is truncated (header incomplete); delete it and fetch MNIST again")
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    size = int(np.prod(dims))
    if len(raw) != header + size:
        raise DataError(f"{path} holds {len(raw) - header} data bytes but its header {dims} announces "
                        f"{size}: the file is truncated or corrupt; delete it and fetch MNIST again")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims).copy()


def load_mnist(raw_dir: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(train_x, train_y, test_x, test_y)``: uint8 N×28×28 images and int64 labels from ``raw_dir``."""
    root = Path(raw_dir)
    missing = [name for name in MNIST_FILES if not (root / name).is_file()]
    if missing:
        raise DataError(f"{root} lacks {missing}: run fetch_mnist first.{_FIX}")
    out = []
    for prefix in ("train", "t10k"):
        x = read_idx(root / f"{prefix}-images-idx3-ubyte.gz")
        y = read_idx(root / f"{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise DataError(f"{root}: {prefix} images {x.shape} and labels {y.shape} do not match; "
                            "fetch MNIST again")
        out += [x, y]
    return out[0], out[1], out[2], out[3]
