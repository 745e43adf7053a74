"""Corrupted CIFAR-10 (LfF protocol): corruption = attribute, class c aligned with corruption c of the list.

From CIFAR-10 train (50,000): a seeded validation split of ``val_size`` images; in train and validation a share
``r`` of each class is bias-conflicting, spread evenly over the other nine corruptions. Test (CIFAR-10 test,
1,000 per class) is spread evenly over all ten: exactly 100 images per (class, corruption) cell. The random steps
draw from children of ``SeedSequence(seed)`` and each image's corruption from ``default_rng([seed, id])``
(:mod:`gerne.data.corruptions`), so the arrays are byte-identical for a seed whatever the number of workers, and
the test set does not depend on the ratio.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from gerne.data import cifar10
from gerne.data.cmnist import assign_attributes, uniform_attributes
from gerne.data.corruptions.frost import WHEEL, load_textures  # light: the corruptions load in prepare()
from gerne.data.counts import Counts, Prepared, write_checked
from gerne.errors import ConfigError

NAME = "ccifar10"
SOURCES = (cifar10.ARCHIVE, WHEEL)
PUBLISHED_COUNTS = None
NUM_CLASSES = NUM_ATTRIBUTES = 10
FETCH_HINT = (" To fix: give this machine access to www.cs.toronto.edu and files.pythonhosted.org, or name a "
              "mirror directory for the dataset (the pipeline: `mirrors:` in local.yaml) holding "
              f"{cifar10.ARCHIVE.name} (or its extracted folder cifar-10-python/) and {WHEEL.name} (the frost "
              "textures).")


def minority_percent(*, ratio: float, **_: object) -> float:
    """The bias-conflicting share per class, in percent: the unit of a pseudo-minority threshold t here."""
    return ratio


def fetch(raw_dir: str | os.PathLike[str], mirror: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """The CIFAR-10 archive (extracted) and the frost wheel into ``raw_dir``, verified, batch files included."""
    from gerne.data.fetch import fetch_sources

    digests = fetch_sources(list(SOURCES), raw_dir, mirror or None, FETCH_HINT)
    return {**digests, **cifar10.verify_batches(raw_dir)}


def split_attributes(train_y: np.ndarray, test_y: np.ndarray, ratio: float, val_size: int,
                     seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(validation indices into train, training indices, train+val attributes in that order, test attributes)."""
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)]
    perm = rngs[0].permutation(len(train_y))
    val_idx, train_idx = np.sort(perm[:val_size]), np.sort(perm[val_size:])
    a_train = assign_attributes(train_y[train_idx], ratio / 100.0, rngs[1], NUM_ATTRIBUTES)
    a_val = assign_attributes(train_y[val_idx], ratio / 100.0, rngs[2], NUM_ATTRIBUTES)
    return val_idx, train_idx, np.concatenate([a_train, a_val]), uniform_attributes(test_y, rngs[3], NUM_ATTRIBUTES)


def prepare(raw_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str], *, ratio: float,
            corruptions: str | Sequence[str] = "type0", val_size: int = 5000, seed: int = 0,
            workers: int | None = None, expected_counts: Counts | None = None) -> Prepared:
    """Build C-CIFAR-10 at ``ratio`` % into ``out_dir`` (dataset contract) from the files :func:`fetch` placed in
    ``raw_dir``; ``corruptions`` is ``type0`` (default), ``type1`` or ten names; ``workers`` processes corrupt
    the images (default: every core)."""
    from gerne.data.corruptions.registry import NEEDS_TEXTURES, corrupt, corruption_list  # the image libraries

    ratio = float(ratio)
    if not 0.0 < ratio < 100.0:
        raise ConfigError(f"C-CIFAR-10 ratio must lie strictly between 0 and 100 (e.g. 0.5 for 0.5 %), got {ratio}")
    names = corruption_list(corruptions)
    if len(names) != NUM_CLASSES:
        raise ConfigError(f"C-CIFAR-10 needs one corruption per class (10), got {len(names)}: {list(names)}")
    train_x, train_y, test_x, test_y = cifar10.load_cifar10(raw_dir)
    if not 0 < val_size < len(train_y):
        raise ConfigError(f"C-CIFAR-10 val_size must lie in (0, {len(train_y)}), got {val_size}")
    val_idx, train_idx, a_fit, a_test = split_attributes(train_y, test_y, ratio, val_size, seed)
    order = np.concatenate([train_idx, val_idx])
    images = np.concatenate([train_x[order], test_x])
    table = pd.DataFrame({
        "id": np.arange(len(images), dtype=np.int64),
        "split": ["train"] * len(train_idx) + ["val"] * len(val_idx) + ["test"] * len(test_y),
        "y": np.concatenate([train_y[order], test_y]),
        "a": np.concatenate([a_fit, a_test]),
        "source_index": np.concatenate([order, np.arange(len(test_y))]),  # row in CIFAR-10 train / test
    })
    textures = load_textures(Path(raw_dir) / WHEEL.name) if NEEDS_TEXTURES.keys() & set(names) else None
    procs = workers or os.cpu_count() or 1
    start = time.perf_counter()

    def fill(out: np.ndarray) -> None:
        with tqdm(total=len(images), desc=f"C-CIFAR-10 {ratio:g}%", unit="img", leave=False, disable=None) as bar:
            out[:] = corrupt(images, table["a"].to_numpy(), names, seed, table["id"].to_numpy(), textures, procs, bar)

    done = write_checked(out_dir, table, array_name="images.npy", row_shape=images.shape[1:], dtype=np.uint8,
                         fill=fill, num_classes=NUM_CLASSES, num_attributes=NUM_ATTRIBUTES,
                         expected=expected_counts, dataset=NAME)
    return Prepared(done.out_dir, done.counts, done.rows, time.perf_counter() - start)
