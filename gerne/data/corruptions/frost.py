"""Frost (CIFAR-10-C, severity 5): ``0.75·x + 0.45·crop``, the crop a random 32 px window of one of five frost
photographs scaled to a fifth of their size.

The photographs are Hendrycks' ``frost1.png … frost5.jpg``. They are not ours to commit; the ``imagecorruptions``
wheel on PyPI ships them (Apache-2.0), so the C-CIFAR-10 kind fetches that wheel as a verified raw file and reads
the five images out of it with :mod:`zipfile` — the package itself is never installed or imported (its code uses
ImageNet-C constants and does not run on current NumPy).
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from collections.abc import Sequence

import numpy as np
from PIL import Image

from gerne.data.sources import Source
from gerne.errors import DataError

FROST = (0.75, 0.45)  # (weight of the image, weight of the frost)
TEXTURE_SCALE = 0.2
WHEEL = Source(
    "imagecorruptions-1.1.2-py3-none-any.whl",
    urls=("https://files.pythonhosted.org/packages/py3/i/imagecorruptions/imagecorruptions-1.1.2-py3-none-any.whl",),
    size=2094054, md5="9311416fb21be0bf95ef30207c3905d7",
)
TEXTURES = {  # member of the wheel -> MD5 (the CIFAR code draws from the first five of Hendrycks' six)
    "imagecorruptions/frost/frost1.png": "6ead634ace1f366d77e87078b465863c",
    "imagecorruptions/frost/frost2.png": "98f0d2b1d74a048d3bc9c7ecfd886939",
    "imagecorruptions/frost/frost3.png": "b3ed8eb147824261888e730f916c0d8b",
    "imagecorruptions/frost/frost4.jpg": "d70b9d6aa0b1fe7bd8133b113787e078",
    "imagecorruptions/frost/frost5.jpg": "50984ae2c871b7df2c28f1d71ca460a0",
}


def load_textures(wheel: str | os.PathLike[str], scale: float = TEXTURE_SCALE,
                  md5s: dict[str, str] | None = None) -> list[np.ndarray]:
    """The five frost images from the wheel, verified against ``md5s`` (default :data:`TEXTURES`), as RGB uint8
    arrays resized by ``scale`` (bilinear)."""
    import cv2

    md5s = TEXTURES if md5s is None else md5s
    try:
        with zipfile.ZipFile(wheel) as archive:
            blobs = {name: archive.read(name) for name in md5s}
    except (OSError, zipfile.BadZipFile, KeyError) as exc:
        raise DataError(f"cannot read the frost images from {wheel}: {exc}; delete it and fetch again "
                        f"(`dvc repro fetch@<dataset>`) or put {WHEEL.name} from PyPI into the mirror "
                        "directory") from exc
    out = []
    for name, blob in blobs.items():
        if hashlib.md5(blob).hexdigest() != md5s[name]:
            raise DataError(f"{wheel}: {name} does not have MD5 {md5s[name]}; this is not the released wheel, "
                            "delete it and fetch again")
        rgb = np.asarray(Image.open(io.BytesIO(blob)).convert("RGB"))
        out.append(cv2.resize(rgb, (0, 0), fx=scale, fy=scale))
    return out


def frost(x: np.ndarray, rng: np.random.Generator, textures: Sequence[np.ndarray],
          params: tuple[float, float] = FROST) -> np.ndarray:
    """``clip(a·x + b·window)`` with a random window of a random texture (:func:`load_textures`)."""
    h, w = x.shape[:2]
    texture = textures[int(rng.integers(len(textures)))]
    top = int(rng.integers(0, texture.shape[0] - h))
    left = int(rng.integers(0, texture.shape[1] - w))
    window = texture[top : top + h, left : left + w].astype(np.float64)
    return np.clip(params[0] * x + params[1] * window, 0.0, 255.0)
