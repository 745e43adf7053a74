"""Digital corruptions of CIFAR-10-C (brightness, contrast, elastic, pixelate, JPEG, saturate) and ``original``,
severity 5, CIFAR (32 px) constants.

Conventions as in :mod:`gerne.data.corruptions.noise`: uint8 in, floats on the 0–255 scale out. The elastic
constants are fractions of the image side (32 px), as the reference code writes them.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.color import hsv2rgb, rgb2hsv
from skimage.filters import gaussian

BRIGHTNESS = 0.3  # added to V in HSV
CONTRAST = 0.15  # factor on the distance to the per-channel mean
SATURATE = (2.5, 0.2)  # S ← clip(S·a + b)
PIXELATE = 0.65  # side of the intermediate image, as a share of the side
JPEG_QUALITY = 40
ELASTIC = (0.1, 0.03, 0.03)  # × side: (displacement α, its smoothing σ, affine jitter of the three anchor points)


def brightness(x: np.ndarray, rng: np.random.Generator, delta: float = BRIGHTNESS) -> np.ndarray:
    """V ← clip(V + δ) in HSV."""
    hsv = rgb2hsv(x / 255.0)
    hsv[..., 2] = np.clip(hsv[..., 2] + delta, 0.0, 1.0)
    return np.clip(hsv2rgb(hsv), 0.0, 1.0) * 255.0


def contrast(x: np.ndarray, rng: np.random.Generator, factor: float = CONTRAST) -> np.ndarray:
    """Each channel pulled toward its mean: ``(x − mean)·c + mean``."""
    img = x / 255.0
    means = img.mean(axis=(0, 1), keepdims=True)
    return np.clip((img - means) * factor + means, 0.0, 1.0) * 255.0


def saturate(x: np.ndarray, rng: np.random.Generator, params: tuple[float, float] = SATURATE) -> np.ndarray:
    """S ← clip(S·a + b) in HSV."""
    scale, shift = params
    hsv = rgb2hsv(x / 255.0)
    hsv[..., 1] = np.clip(hsv[..., 1] * scale + shift, 0.0, 1.0)
    return np.clip(hsv2rgb(hsv), 0.0, 1.0) * 255.0


def pixelate_side(side: int, share: float = PIXELATE) -> int:
    """Side of the intermediate image: ``int(side · share)`` (20 px for 32 px at 0.65)."""
    return int(side * share)


def pixelate(x: np.ndarray, rng: np.random.Generator, share: float = PIXELATE) -> np.ndarray:
    """Box-filtered down to :func:`pixelate_side` and box-filtered back up (Pillow's ``BOX``)."""
    h, w = x.shape[:2]
    small = Image.fromarray(x).resize((pixelate_side(w, share), pixelate_side(h, share)), Image.Resampling.BOX)
    return np.asarray(small.resize((w, h), Image.Resampling.BOX), dtype=np.float64)


def jpeg_bytes(x: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    """``x`` encoded as a baseline JPEG of ``quality`` by Pillow (libjpeg's standard tables, 4:2:0)."""
    buffer = io.BytesIO()
    Image.fromarray(x).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def jpeg(x: np.ndarray, rng: np.random.Generator, quality: int = JPEG_QUALITY) -> np.ndarray:
    """The image after a JPEG round trip at ``quality``."""
    return np.asarray(Image.open(io.BytesIO(jpeg_bytes(x, quality))).convert("RGB"), dtype=np.float64)


def elastic(x: np.ndarray, rng: np.random.Generator, params: tuple[float, float, float] = ELASTIC) -> np.ndarray:
    """A random affine warp (three anchor points jittered by up to ``side·params[2]``), then a smooth random
    displacement field (uniform noise blurred by ``side·params[1]``, scaled by ``side·params[0]``), bilinear,
    borders mirrored."""
    img = (x / 255.0).astype(np.float32)
    h, w = img.shape[:2]
    alpha, sigma, jitter = (p * min(h, w) for p in params)
    centre, third = np.float32([h, w]) // 2, min(h, w) // 3
    anchors = np.float32([centre + third, [centre[0] + third, centre[1] - third], centre - third])
    moved = (anchors + rng.uniform(-jitter, jitter, anchors.shape)).astype(np.float32)
    img = cv2.warpAffine(img, cv2.getAffineTransform(anchors, moved), (w, h), borderMode=cv2.BORDER_REFLECT_101)
    dx = gaussian(rng.uniform(-1.0, 1.0, (h, w)), sigma, mode="reflect", truncate=3.0) * alpha
    dy = gaussian(rng.uniform(-1.0, 1.0, (h, w)), sigma, mode="reflect", truncate=3.0) * alpha
    rows, cols, chans = np.meshgrid(np.arange(h), np.arange(w), np.arange(img.shape[2]), indexing="ij")
    coords = (rows + dy[..., None], cols + dx[..., None], chans)
    out = ndimage.map_coordinates(img, coords, order=1, mode="reflect")
    return np.clip(out, 0.0, 1.0) * 255.0


def original(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The image unchanged (LfF's Type 1 list ends with it)."""
    return x.astype(np.float64)
