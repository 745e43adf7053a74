"""Colored MNIST (LfF protocol): colour = attribute, aligned colour of digit d is palette colour d.

Train/val (55,000/5,000 from MNIST train) carry a seeded share ``r`` of bias-conflicting samples per class,
spread evenly over the 9 other colours; test (MNIST test) is coloured uniformly (~100 per digit×colour cell).
Every random step draws from its own child of ``SeedSequence(seed)``, so outputs are bit-identical for a seed
and the split and test set do not depend on the ratio.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from tqdm import tqdm

from gerne.data.contract import write_tensor_dataset
from gerne.data.mnist import load_mnist
from gerne.errors import ConfigError, DataError

if TYPE_CHECKING:
    from gerne.data.counts import Prepared

LFF_PALETTE = np.array(
    [
        [0.983682, 0.312519, 0.168575],
        [0.990530, 0.915605, 0.351512],
        [0.672964, 0.461070, 0.579808],
        [0.783252, 0.831556, 0.601329],
        [0.088016, 0.777963, 0.981808],
        [0.321393, 0.961055, 0.446450],
        [0.024616, 0.235650, 0.758666],
        [0.555247, 0.101580, 0.761763],
        [0.207723, 0.392949, 0.018702],
        [0.833658, 0.202409, 0.266943],
    ],
    dtype=np.float64,
)
PALETTE = LFF_PALETTE  # the default: LfF's ``colors.th``
# DFA's README figure shows a 10-step hue wheel instead (read from the figure, not from DFA's files): far less
# overlapping in RGB than LfF's palette, so the colour shortcut is easier to learn.
HUE_PALETTE = np.array(
    [[255, 0, 0], [255, 128, 0], [255, 255, 0], [128, 255, 0], [0, 255, 0],
     [0, 255, 255], [0, 0, 255], [128, 0, 255], [255, 0, 128], [255, 0, 255]],
    dtype=np.float64,
) / 255.0
PALETTES = {"lff": LFF_PALETTE, "hue": HUE_PALETTE}  # prepare option `palette`
SEVERITY_STD = {1: 0.05, 2: 0.02, 3: 0.01, 4: 0.005}
NUM_CLASSES = NUM_COLOURS = 10
_CHUNK = 8192  # images coloured per vectorised block (bounds the float32 temporaries to ~80 MB)


def colorize(gray: np.ndarray, color_idx: np.ndarray, std: float, rng: np.random.Generator,
             progress: tqdm | None = None, palette: np.ndarray = LFF_PALETTE) -> np.ndarray:
    """Colour grey digits: ``round(255 · clip(palette[a] + N(0, std²), 0, 1) · gray/255)``, uint8 N×28×28×3.

    One colour jitter per image and channel; the background stays black. ``progress`` (a tqdm bar) is advanced by
    the images coloured.
    """
    gray = np.asarray(gray)
    color_idx = np.asarray(color_idx, dtype=np.int64)
    if gray.ndim != 3 or len(gray) != len(color_idx):
        raise ValueError(f"gray must be N×H×W matching {len(color_idx)} colour indices, got {gray.shape}")
    colours = np.clip(palette[color_idx] + rng.normal(0.0, std, size=(len(color_idx), 3)), 0.0, 1.0)
    colours = colours.astype(np.float32)
    out = np.empty((*gray.shape, 3), dtype=np.uint8)
    for start in range(0, len(gray), _CHUNK):
        block = slice(start, start + _CHUNK)
        value = gray[block, :, :, None].astype(np.float32) * colours[block, None, None, :]  # = 255·(g/255)·c
        np.rint(value, out=value)
        out[block] = value.astype(np.uint8)
        if progress is not None:
            progress.update(len(value))
    return out


def n_conflicting(n: int, ratio: float) -> int:
    """Number of bias-conflicting samples in a class of ``n``: ``round(ratio · n)``, halves rounded up."""
    return math.floor(ratio * n + 0.5)


def _spread(n: int, colours: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``n`` colours, as even as possible over ``colours`` (random which get one extra), in random order."""
    counts = np.full(len(colours), n // len(colours), dtype=np.int64)
    counts[rng.choice(len(colours), n % len(colours), replace=False)] += 1
    values = np.repeat(colours, counts)
    rng.shuffle(values)
    return values


def split_total(total: int, sizes: np.ndarray) -> np.ndarray:
    """``total`` spread over classes of ``sizes`` in proportion to their size (largest remainders, ties to the
    lower class), so the counts sum to exactly ``total``."""
    sizes = np.asarray(sizes, dtype=np.int64)
    if not 0 <= total <= int(sizes.sum()):
        raise ConfigError(f"cannot draw {total} bias-conflicting samples from {int(sizes.sum())}")
    share = total * sizes / sizes.sum()
    counts = np.floor(share).astype(np.int64)
    order = np.argsort(-(share - counts), kind="stable")
    counts[order[: total - int(counts.sum())]] += 1
    return counts


def assign_attributes(
    y: np.ndarray, ratio: float, rng: np.random.Generator, num_attributes: int = NUM_COLOURS,
    total: int | None = None,
) -> np.ndarray:
    """Colour index per sample: ``round(ratio·n_y)`` random samples per class (or ``total`` over all classes, spread
    by class size: :func:`split_total`) get a conflicting colour, spread evenly over the other colours; the rest
    get ``a = y``."""
    y = np.asarray(y, dtype=np.int64)
    a = y.copy()
    sizes = np.bincount(y, minlength=num_attributes)
    per_class = None if total is None else split_total(total, sizes)
    for cls in range(num_attributes):
        idx = np.flatnonzero(y == cls)
        k = n_conflicting(len(idx), ratio) if per_class is None else int(per_class[cls])
        if k == 0:
            continue
        chosen = np.sort(rng.choice(idx, k, replace=False))
        others = np.array([c for c in range(num_attributes) if c != cls], dtype=np.int64)
        a[chosen] = _spread(k, others, rng)
    return a


def uniform_attributes(
    y: np.ndarray, rng: np.random.Generator, num_attributes: int = NUM_COLOURS
) -> np.ndarray:
    """Unbiased colours: within each class the samples are spread evenly over all colours."""
    y = np.asarray(y, dtype=np.int64)
    a = np.empty_like(y)
    for cls in np.unique(y):
        idx = np.flatnonzero(y == cls)
        a[idx] = _spread(len(idx), np.arange(num_attributes, dtype=np.int64), rng)
    return a


def _checked_options(ratio_percent: float, std: float, palette: str, train_conflicting: int | None) -> float:
    """``ratio_percent`` as a float, after ConfigError for any option outside its range (the data not yet read)."""
    ratio_percent = float(ratio_percent)
    if not 0.0 < ratio_percent < 100.0:  # also rejects NaN
        raise ConfigError(f"C-MNIST ratio_percent must lie strictly between 0 and 100 (e.g. 0.5 for 0.5%), "
                          f"got {ratio_percent}")
    if not (math.isfinite(std) and std >= 0.0):
        raise ConfigError(f"C-MNIST colour std must be a finite number >= 0 (severity 4: 0.005), got {std}")
    if palette not in PALETTES:
        raise ConfigError(f"C-MNIST palette '{palette}' is not one of {sorted(PALETTES)} (lff: LfF's colors.th, "
                          "hue: DFA's 10-step hue wheel)")
    if train_conflicting is not None and (isinstance(train_conflicting, bool) or not isinstance(train_conflicting, int)
                                          or train_conflicting < 0):
        raise ConfigError(f"C-MNIST train_conflicting must be a whole number >= 0 (DFA's 0.5 %: 249) or null, got "
                          f"{train_conflicting!r}")
    return ratio_percent


def build_cmnist(
    raw_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    ratio_percent: float,
    std: float = 0.005,
    val_size: int = 5000,
    seed: int = 0,
    palette: str = "lff",
    train_conflicting: int | None = None,
) -> dict[str, dict[str, int]]:
    """Build C-MNIST from the MNIST files in ``raw_dir`` into ``out_dir`` (dataset contract); return the
    realised group counts per split (``{"train": {"y,a": n}, "val": ..., "test": ...}``).

    ``ratio_percent`` is the bias-conflicting share in percent (0.5 for 0.5%), strictly between 0 and 100;
    ``palette`` one of :data:`PALETTES`; ``train_conflicting`` an exact number of conflicting training images
    (DFA's release: 249 at 0.5 %) in place of the ratio's per-class count (val keeps the ratio).
    """
    ratio_percent = _checked_options(ratio_percent, std, palette, train_conflicting)
    train_x, train_y, test_x, test_y = load_mnist(raw_dir)
    if not 0 < val_size < len(train_y):
        raise ConfigError(f"C-MNIST val_size must lie in (0, {len(train_y)}), got {val_size}")
    if train_conflicting is not None and train_conflicting > len(train_y) - val_size:
        raise ConfigError(f"C-MNIST train_conflicting ({train_conflicting}) exceeds the {len(train_y) - val_size} "
                          "training images")
    if int(train_y.max()) >= NUM_CLASSES or int(test_y.max()) >= NUM_CLASSES:
        raise DataError(f"{raw_dir}: labels outside 0..9; these are not the MNIST files")
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(7)]
    perm = rngs[0].permutation(len(train_y))
    val_idx, train_idx = np.sort(perm[:val_size]), np.sort(perm[val_size:])
    ratio = ratio_percent / 100.0

    parts = []  # (split, gray, y, a, colour rng)
    for split, idx, a_rng, c_rng in (("train", train_idx, rngs[1], rngs[4]),
                                     ("val", val_idx, rngs[2], rngs[5])):
        y = train_y[idx]
        total = train_conflicting if split == "train" else None
        parts.append((split, train_x[idx], y, assign_attributes(y, ratio, a_rng, total=total), c_rng))
    parts.append(("test", test_x, test_y, uniform_attributes(test_y, rngs[3]), rngs[6]))

    # Colouring is the slow part (seconds): a progress bar on terminals only (disable=None: silent otherwise).
    with tqdm(total=sum(len(y) for _, _, y, _, _ in parts), desc=f"C-MNIST {ratio_percent:g}%", unit="img",
              unit_scale=True, leave=False, disable=None) as bar:
        images = np.concatenate([colorize(gray, a, std, c_rng, bar, PALETTES[palette])
                                 for _, gray, _, a, c_rng in parts])
    metadata = pd.DataFrame(
        {
            "id": np.arange(len(images), dtype=np.int64),
            "split": np.concatenate([np.full(len(y), split) for split, _, y, _, _ in parts]),
            "y": np.concatenate([y for _, _, y, _, _ in parts]),
            "a": np.concatenate([a for _, _, _, a, _ in parts]),
        }
    )
    return write_tensor_dataset(out_dir, images, metadata, NUM_CLASSES, NUM_COLOURS)


# As a dataset kind (gerne.data.registry): C-MNIST at one ratio, declared under `datasets` with kind: cmnist and
# prepare: {ratio: 0.5}; the MNIST files' MD5s are of the decompressed bytes, so the kind brings its own fetch.
NAME = "cmnist"
SOURCES: tuple = ()
PUBLISHED_COUNTS = None


def minority_percent(*, ratio: float, **_: object) -> float:
    """The bias-conflicting share per class, in percent, of C-MNIST built with these prepare options: the unit of
    a pseudo-minority threshold t on this dataset (t = 1 means a pseudo-minority as large as the true one)."""
    return ratio


def fetch(raw_dir: str | os.PathLike[str], mirror: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """The four MNIST files into ``raw_dir`` (from ``mirror``, ``$GERNE_MNIST_MIRROR`` or the canonical URLs),
    verified; returns each file's checksum as recorded (MD5 of the decompressed bytes)."""
    from gerne.data.mnist import MNIST_FILES, fetch_mnist

    return {name: f"md5-decompressed:{MNIST_FILES[name]}" for name in fetch_mnist(raw_dir, mirror)}


def prepare(raw_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str], *, ratio: float,
            color_std: float = 0.005, val_size: int = 5000, seed: int = 0, palette: str = "lff",
            train_conflicting: int | None = None,
            expected_counts: dict[str, dict[str, int]] | None = None) -> Prepared:
    """The registry's ``prepare``: :func:`build_cmnist` at ``ratio`` % (its counts checked when expected ones are
    given); ``palette`` and ``train_conflicting`` reproduce DFA's release (hue wheel, 249 conflicting at 0.5 %)."""
    import time

    from gerne.data.counts import Prepared

    start = time.perf_counter()
    counts = build_cmnist(raw_dir, out_dir, ratio, std=color_std, val_size=val_size, seed=seed, palette=palette,
                          train_conflicting=train_conflicting)
    if expected_counts is not None and counts != expected_counts:
        raise DataError(f"C-MNIST at {ratio} % has group counts {counts}, expected {expected_counts}")
    return Prepared(Path(out_dir), counts, sum(sum(s.values()) for s in counts.values()), time.perf_counter() - start)
