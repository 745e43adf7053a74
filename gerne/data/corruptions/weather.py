"""Weather corruptions of CIFAR-10-C (snow, fog, spatter), severity 5, CIFAR (32 px) constants. Frost, which
needs texture images, is :mod:`gerne.data.corruptions.frost`.

Conventions as in :mod:`gerne.data.corruptions.noise`: uint8 in, floats on the 0–255 scale out.
"""

from __future__ import annotations

import cv2
import numpy as np
from skimage.filters import gaussian

from gerne.data.corruptions.blur import clipped_zoom, line_blur

SNOW = (0.3, 0.3, 1.25, 0.65, 14, 12.0, 0.8)  # (flake mean, flake σ, zoom, threshold, blur radius, blur σ, mix)
FOG = (1.5, 1.75)  # (strength, decay of the fractal's amplitude per octave)
FOG_MAP_SIZE = 32
SPATTER = (0.65, 0.1, 0.5, 0.68, 0.6)  # (liquid mean, liquid σ, its blur σ, threshold, mud blur σ): the mud branch
MUD_COLOUR = np.array([63.0, 42.0, 20.0]) / 255.0


def snow(x: np.ndarray, rng: np.random.Generator, params: tuple = SNOW) -> np.ndarray:
    """Flakes (thresholded, zoomed Gaussian noise, streaked by :func:`line_blur` at an angle in [-135°, -45°],
    added once as is and once rotated by 180°) over the image brightened toward its grey level."""
    mean, sigma, zoom, threshold, radius, blur_sigma, mix = params
    h, w = x.shape[:2]
    layer = clipped_zoom(rng.normal(mean, sigma, (h, w))[..., None], zoom)[..., 0]
    layer[layer < threshold] = 0.0
    flakes = np.floor(np.clip(layer, 0.0, 1.0) * 255.0)  # an 8-bit layer, as the reference code's PNG round trip
    flakes = np.clip(np.rint(line_blur(flakes, radius, blur_sigma, rng.uniform(-135.0, -45.0))), 0, 255) / 255.0
    img = x / 255.0
    grey = cv2.cvtColor(img.astype(np.float32), cv2.COLOR_RGB2GRAY)[..., None]
    img = mix * img + (1.0 - mix) * np.maximum(img, grey * 1.5 + 0.5)
    flakes = flakes[..., None]
    return np.clip(img + flakes + np.rot90(flakes, k=2), 0.0, 1.0) * 255.0


def plasma_fractal(rng: np.random.Generator, size: int = FOG_MAP_SIZE, decay: float = FOG[1]) -> np.ndarray:
    """A ``size``×``size`` diamond-square fractal on a torus, scaled to [0, 1].

    Each octave sets square centres to the mean of their four corners and edge midpoints to the mean of their
    four neighbours, each plus ``w·U(-w, w)``; ``w`` starts at 100 and is divided by ``decay`` per octave (so the
    jitter's amplitude falls by ``decay²``, the reference code's schedule).
    """
    if size < 2 or size & (size - 1):
        raise ValueError(f"the fractal's size must be a power of two, got {size}")
    grid = np.zeros((size, size))
    step, wibble = size, 100.0
    while step >= 2:
        half = step // 2
        corners = grid[0::step, 0::step]
        square = corners + np.roll(corners, -1, axis=0)
        square = square + np.roll(square, -1, axis=1)
        grid[half::step, half::step] = square / 4 + wibble * rng.uniform(-wibble, wibble, square.shape)
        centres = grid[half::step, half::step]
        top = corners + np.roll(corners, -1, axis=1) + centres + np.roll(centres, 1, axis=0)
        grid[0::step, half::step] = top / 4 + wibble * rng.uniform(-wibble, wibble, top.shape)
        left = corners + np.roll(corners, -1, axis=0) + centres + np.roll(centres, 1, axis=1)
        grid[half::step, 0::step] = left / 4 + wibble * rng.uniform(-wibble, wibble, left.shape)
        step, wibble = half, wibble / decay
    grid -= grid.min()
    return grid / grid.max()


def fog(x: np.ndarray, rng: np.random.Generator, params: tuple[float, float] = FOG) -> np.ndarray:
    """``(x + s·fractal) · max(x) / (max(x) + s)``: a fractal haze, rescaled so the brightest value keeps its level."""
    strength, decay = params
    img = x / 255.0
    peak = img.max()
    h, w = img.shape[:2]
    img = img + strength * plasma_fractal(rng, FOG_MAP_SIZE, decay)[:h, :w, None]
    return np.clip(img * peak / (peak + strength), 0.0, 1.0) * 255.0


def spatter(x: np.ndarray, rng: np.random.Generator, params: tuple = SPATTER) -> np.ndarray:
    """Mud (severity 5 is the reference code's mud branch): blobs of thresholded, blurred Gaussian noise, softened
    again and kept where above 0.8, painted in mud brown over the image."""
    mean, sigma, blur, threshold, mud_blur = params
    h, w = x.shape[:2]
    liquid = gaussian(rng.normal(mean, sigma, (h, w)), sigma=blur)
    liquid[liquid < threshold] = 0.0
    mud = gaussian((liquid > threshold).astype(np.float32), sigma=mud_blur)
    mud[mud < 0.8] = 0.0
    mud = mud[..., None]
    img = x / 255.0 * (1.0 - mud)
    return np.clip(img + MUD_COLOUR * mud, 0.0, 1.0) * 255.0
