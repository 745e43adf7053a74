"""Generic preparation of an image dataset from files: decode, deterministic transform, stream into images.npy.

Transforms (bilinear, as torchvision's ``Resize`` on PIL images; crops centred as torchvision's ``CenterCrop``):
  * ``resize_crop`` — Resize to (r, r) with r = round(s·256/224), then CenterCrop s (Waterbirds; s=224: 256 → 224);
  * ``crop_resize`` — CenterCrop 178, then Resize to (s, s) (CelebA's 178×218 faces).
Normalisation (ImageNet mean/std) happens at training time; ``images.npy`` keeps uint8 RGB.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from gerne.data.counts import REDOWNLOAD, Counts, Prepared, write_checked
from gerne.errors import ConfigError, DataError

log = logging.getLogger(__name__)

CELEBA_CROP = 178
WINDOW = 512  # images decoded per block handed to the thread pool (bounds memory; keeps row order)
LOG_EVERY = 20000


def center_crop(img: Image.Image, size: int) -> Image.Image:
    """Central ``size×size`` box (torchvision's rounding); the image must be at least that large."""
    w, h = img.size
    if w < size or h < size:
        raise ValueError(f"image of {w}×{h} is smaller than the {size}×{size} crop")
    left, top = round((w - size) / 2.0), round((h - size) / 2.0)
    return img.crop((left, top, left + size, top + size))


def resize_crop(img: Image.Image, size: int) -> Image.Image:
    """Resize to (size·256/224)² then centre-crop ``size`` (Waterbirds)."""
    r = round(size * 256 / 224)
    return center_crop(img.resize((r, r), Image.Resampling.BILINEAR), size)


def crop_resize(img: Image.Image, size: int) -> Image.Image:
    """Centre-crop 178 then resize to ``size``² (CelebA)."""
    return center_crop(img, CELEBA_CROP).resize((size, size), Image.Resampling.BILINEAR)


def resize(img: Image.Image, size: int) -> Image.Image:
    """Resize to ``size``² (bFFHQ, as DFA does)."""
    return img.resize((size, size), Image.Resampling.BILINEAR)


TRANSFORMS: dict[str, Callable[[Image.Image, int], Image.Image]] = {
    "resize": resize,
    "resize_crop": resize_crop,
    "crop_resize": crop_resize,
}


def load_image(path: str | os.PathLike[str], transform: str, size: int) -> np.ndarray:
    """Decode one JPEG/PNG as RGB, apply ``TRANSFORMS[transform]``; uint8 ``size×size×3``."""
    fix = (f"the image set is incomplete or corrupt: {REDOWNLOAD} (for your own data, replace the file or drop "
           "its row from the table)")
    if not os.path.isfile(path):
        raise DataError(f"image {path} is missing; {fix}")
    try:
        with Image.open(path) as img:
            rgb = img.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as exc:  # UnidentifiedImageError is an OSError
        raise DataError(f"image {path} cannot be decoded ({exc}); {fix}") from exc
    try:
        return np.asarray(TRANSFORMS[transform](rgb, size), dtype=np.uint8)
    except ValueError as exc:
        raise DataError(f"image {path} does not fit transform {transform!r}: {exc}; choose another transform "
                        f"(one of {sorted(TRANSFORMS)}) or larger images") from exc


def _decode_into(out: np.ndarray, paths: Sequence[str], transform: str, size: int, workers: int) -> None:
    """Fill ``out[i]`` with image ``paths[i]``, ``WINDOW`` at a time through ``workers`` threads.

    Pillow releases the GIL while decoding and resampling, so threads scale without pickling images.
    """
    load = partial(load_image, transform=transform, size=size)
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for lo in range(0, len(paths), WINDOW):
            mapped = pool.map(load, paths[lo : lo + WINDOW]) if workers > 1 else map(load, paths[lo : lo + WINDOW])
            for i, image in enumerate(mapped, start=lo):
                out[i] = image
            done = min(lo + WINDOW, len(paths))
            if done // LOG_EVERY != lo // LOG_EVERY:
                log.info("decoded %d/%d images (%.0f images/s)", done, len(paths),
                         done / (time.perf_counter() - start))


def default_workers() -> int:
    """Decoding threads: one per available core."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def prepare_images(
    table: pd.DataFrame,
    image_root: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    transform: str,
    image_size: int,
    num_classes: int,
    num_attributes: int,
    expected_counts: Counts | None,
    dataset: str,
    workers: int | None = None,
) -> Prepared:
    """Prepare a contract table (``id, filename, split, y, a``; ids 0..N-1 in row order) of image files under
    ``image_root`` into ``out_dir``: ``images.npy`` (uint8 N×s×s×3), ``metadata.csv`` (with ``filename``),
    ``counts.json``. Counts are checked against ``expected_counts`` unless it is None; the result's
    ``per_second`` is the decoding throughput in images/s (also logged).
    """
    if transform not in TRANSFORMS:
        raise ConfigError(f"unknown image transform {transform!r}; choose one of {sorted(TRANSFORMS)}")
    if not isinstance(image_size, int) or image_size < 1:
        raise ConfigError(f"image_size must be a positive integer (224 for the benchmarks), got {image_size!r}")
    if "filename" not in table.columns:
        raise DataError(f"{dataset}: the table needs a 'filename' column (image path relative to {image_root})")
    root = Path(image_root)
    if not root.is_dir():
        raise DataError(f"{dataset}: image directory {root} does not exist; {REDOWNLOAD}")
    paths = [str(root / name) for name in table["filename"]]
    threads = workers or default_workers()
    prepared = write_checked(
        out_dir, table, array_name="images.npy", row_shape=(image_size, image_size, 3), dtype=np.uint8,
        fill=lambda out: _decode_into(out, paths, transform, image_size, threads),
        num_classes=num_classes, num_attributes=num_attributes, expected=expected_counts, dataset=dataset,
    )
    log.info("%s: %d images at %d px, %s, %d thread(s): %.0f images/s", dataset, prepared.rows, image_size,
             transform, threads, prepared.per_second)
    return prepared
