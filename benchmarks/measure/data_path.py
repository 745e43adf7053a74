"""Data path of image datasets, before and after preparation (issue 5): images/s per training batch.

Before: what a per-sample loader does every epoch — open the JPEG, decode, resize/crop (``gerne.data.images``).
After: what our training step does — gather a batch of rows of the prepared uint8 array (memory-mapped
``images.npy`` read into a tensor once) with :func:`gerne.methods.gerne.gather`. Both at the real output size (224 px).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from gerne.data.images import load_image
from gerne.methods.gerne import gather

PHOTO_SIZE = (500, 375)  # a typical Waterbirds photo (w, h)


def _photo(path: Path, rng: np.random.Generator) -> None:
    """A JPEG with photo-like statistics: smooth structure plus sensor noise (not a flat colour)."""
    w, h = PHOTO_SIZE
    coarse = rng.integers(0, 256, (h // 25 + 1, w // 25 + 1, 3)).astype(np.uint8)
    smooth = np.asarray(Image.fromarray(coarse).resize((w, h), Image.BILINEAR), dtype=np.int16)
    noisy = (smooth + rng.integers(-12, 13, smooth.shape)).clip(0, 255).astype(np.uint8)
    Image.fromarray(noisy).save(path, quality=90)


def data_path(n_images: int = 128, batch: int = 64, size: int = 224, seed: int = 0) -> dict[str, Any]:
    """Images/s of decoding JPEGs per batch (before) and of gathering from the prepared array (after)."""
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as tmp:
        paths = [Path(tmp) / f"{i:04d}.jpg" for i in range(n_images)]
        for p in paths:
            _photo(p, rng)
        start = time.perf_counter()
        decoded = np.stack([load_image(p, "resize_crop", size) for p in paths])
        before = n_images / (time.perf_counter() - start)
        np.save(Path(tmp) / "images.npy", decoded)
        mapped = np.load(Path(tmp) / "images.npy", mmap_mode="r")
        images = torch.from_numpy(mapped[np.arange(n_images)])  # read into memory once, as load_tensor_dataset does
    labels = torch.zeros(n_images, dtype=torch.int64)
    reps = 50
    idx = [torch.from_numpy(rng.integers(0, n_images, batch)) for _ in range(reps)]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one core, like the decoding above
    try:
        gather(images, labels, idx[0])
        start = time.perf_counter()
        for i in idx:
            gather(images, labels, i)
        after = reps * batch / (time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)
    return {"jpeg_decode_images_per_s": before, "prepared_gather_images_per_s": after, "speedup": after / before,
            "image_size": size, "photo_size": list(PHOTO_SIZE), "n_images": n_images, "batch": batch,
            "prepared_mb_per_image": decoded[0].nbytes / 1e6}


def to_markdown(r: dict[str, Any], machine: str) -> str:
    """The before/after table."""
    w, h = r["photo_size"]
    return "\n".join([
        "# Data path of image datasets — before and after preparation", "",
        f"Measured by `python -m benchmarks.data_path` (DVC stage `benchmark_data`) on: {machine}.",
        f"{r['n_images']} photo-like {w}×{h} JPEGs; output {r['image_size']}×{r['image_size']} RGB (Waterbirds' "
        "Resize 256 → CenterCrop 224).", "",
        "| path | images/s |", "|---|---|",
        f"| before: open + decode + resize/crop each image (a per-sample loader, every epoch, one core) | "
        f"{r['jpeg_decode_images_per_s']:,.0f} |",
        f"| after: gather a batch of {r['batch']} rows from the prepared uint8 array (our training step, one core) | "
        f"{r['prepared_gather_images_per_s']:,.0f} |",
        f"| speed-up | {r['speedup']:,.0f}× |", "",
        f"The prepared array costs {r['prepared_mb_per_image']:.3f} MB per image (Waterbirds 11,788 images: "
        f"{11788 * r['prepared_mb_per_image'] / 1e3:.1f} GB; CelebA 202,599: "
        f"{202599 * r['prepared_mb_per_image'] / 1e3:.1f} GB, memory-mapped).", ""])
