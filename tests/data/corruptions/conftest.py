"""Synthetic test images for the corruption tests: smooth random colour fields, like downsized photographs."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage


def smooth_images(n: int, seed: int = 0, side: int = 32) -> np.ndarray:
    """``n`` uint8 images: Gaussian-blurred noise per channel plus a random gradient, spread over 20–235."""
    rng = np.random.default_rng(seed)
    field = ndimage.gaussian_filter(rng.normal(size=(n, side, side, 3)), sigma=(0, 3, 3, 0))
    ramp = np.linspace(-1, 1, side)
    field += rng.normal(size=(n, 1, 1, 3)) * ramp[None, :, None, None] * field.std()
    lo, hi = field.min(axis=(1, 2, 3), keepdims=True), field.max(axis=(1, 2, 3), keepdims=True)
    return (20 + 215 * (field - lo) / (hi - lo)).astype(np.uint8)


def fake_wheel(path: Path, members: list[str], seed: int = 0) -> dict[str, str]:
    """A zip at ``path`` holding a random texture image (300×260 px, PNG or JPEG by suffix) per member; returns
    ``{member: MD5}``."""
    import hashlib

    rng = np.random.default_rng(seed)
    md5s = {}
    with zipfile.ZipFile(path, "w") as archive:
        for name in members:
            buffer = io.BytesIO()
            pixels = ndimage.gaussian_filter(rng.uniform(0, 255, (260, 300, 3)), sigma=(2, 2, 0)).astype(np.uint8)
            Image.fromarray(pixels).save(buffer, "PNG" if name.endswith(".png") else "JPEG")
            archive.writestr(name, buffer.getvalue())
            md5s[name] = hashlib.md5(buffer.getvalue()).hexdigest()
    return md5s


@pytest.fixture
def textures(tmp_path: Path) -> list[np.ndarray]:
    from gerne.data.corruptions.frost import TEXTURES, load_textures

    wheel = tmp_path / "frost.whl"
    return load_textures(wheel, md5s=fake_wheel(wheel, list(TEXTURES)))
