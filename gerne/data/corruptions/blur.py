"""Blur corruptions of CIFAR-10-C, severity 5, CIFAR (32 px) constants; and the two helpers snow also uses.

Motion blur needs no ImageMagick: :func:`line_blur` convolves with a one-sided line of ``2·radius + 1`` taps
weighted ``exp(-i² / 2σ²)`` (ImageMagick's motion-blur kernel), each tap placed at the pixel nearest to
``i·(cos θ, sin θ)``. Wand interpolates taps between pixels and treats borders by its virtual-pixel method, so
its output differs from ours by a few grey levels along edges; the streak length and profile are the same.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from scipy import ndimage
from skimage.filters import gaussian

GAUSSIAN_BLUR_SIGMA = 1.0
GLASS = (0.4, 1, 2)  # (σ of the Gaussian before and after, largest pixel shift δ, shuffling passes)
DEFOCUS = (1.5, 0.1)  # (disk radius, σ of the Gaussian that anti-aliases the disk)
MOTION = (9, 2.5)  # (radius, σ) of the line kernel; angle uniform in [-45°, 45°]
ZOOM_FACTORS = tuple(round(1.0 + 0.01 * i, 2) for i in range(26))  # 1.00, 1.01, ..., 1.25


def gaussian_blur(x: np.ndarray, rng: np.random.Generator, sigma: float = GAUSSIAN_BLUR_SIGMA) -> np.ndarray:
    """Gaussian blur of σ pixels, each channel on its own."""
    return gaussian(x / 255.0, sigma=sigma, channel_axis=-1) * 255.0


def glass_blur(x: np.ndarray, rng: np.random.Generator, params: tuple[float, int, int] = GLASS) -> np.ndarray:
    """Blur, swap each pixel with a random neighbour at most δ away (``passes`` sweeps, bottom-right to
    top-left), blur again."""
    sigma, delta, passes = params
    img = (gaussian(x / 255.0, sigma=sigma, channel_axis=-1) * 255.0).astype(np.uint8)
    h, w = img.shape[:2]
    for _ in range(passes):
        for row in range(h - delta, delta, -1):
            for col in range(w - delta, delta, -1):
                dy, dx = rng.integers(-delta, delta, size=2)
                src, dst = (row, col), (row + dy, col + dx)
                img[src], img[dst] = img[dst].copy(), img[src].copy()
    return np.clip(gaussian(img / 255.0, sigma=sigma, channel_axis=-1), 0.0, 1.0) * 255.0


def disk_kernel(radius: float, alias_sigma: float) -> np.ndarray:
    """A normalised disk of ``radius`` pixels on a 17×17 grid (larger for radii over 8), anti-aliased by a
    Gaussian of ``alias_sigma``."""
    half = max(8, math.ceil(radius))
    grid = np.arange(-half, half + 1)
    yy, xx = np.meshgrid(grid, grid, indexing="ij")
    disk = (xx**2 + yy**2 <= radius**2).astype(np.float32)
    disk /= disk.sum()
    size = 3 if radius <= 8 else 5
    return cv2.GaussianBlur(disk, (size, size), alias_sigma)


def defocus_blur(x: np.ndarray, rng: np.random.Generator, params: tuple[float, float] = DEFOCUS) -> np.ndarray:
    """Convolution with an anti-aliased disk (:func:`disk_kernel`), each channel on its own."""
    kernel = disk_kernel(*params)
    out = cv2.filter2D((x / 255.0).astype(np.float32), -1, kernel)
    return np.clip(out, 0.0, 1.0) * 255.0


def line_kernel(radius: int, sigma: float, angle: float) -> np.ndarray:
    """The motion-blur kernel: ``2·radius + 1`` one-sided taps along ``angle`` degrees, weights
    ``exp(-i² / 2σ²)``, summing to one (a square array centred on the pixel being blurred)."""
    taps = 2 * int(radius) + 1
    kernel = np.zeros((2 * taps - 1, 2 * taps - 1), dtype=np.float32)
    theta = math.radians(angle)
    for i in range(taps):
        row = taps - 1 + round(i * math.sin(theta))
        col = taps - 1 + round(i * math.cos(theta))
        kernel[row, col] += math.exp(-(i * i) / (2.0 * sigma * sigma))
    return kernel / kernel.sum()


def line_blur(img: np.ndarray, radius: int, sigma: float, angle: float) -> np.ndarray:
    """``img`` (floats, H×W or H×W×C) blurred along a line (:func:`line_kernel`); borders repeat the edge pixel."""
    kernel = line_kernel(radius, sigma, angle)
    return cv2.filter2D(img.astype(np.float32), -1, kernel, borderType=cv2.BORDER_REPLICATE)


def motion_blur(x: np.ndarray, rng: np.random.Generator, params: tuple[int, float] = MOTION) -> np.ndarray:
    """A streak of :func:`line_blur` at a random angle in [-45°, 45°]."""
    radius, sigma = params
    angle = rng.uniform(-45.0, 45.0)
    return np.clip(line_blur(x / 255.0, radius, sigma, angle), 0.0, 1.0) * 255.0


def clipped_zoom(img: np.ndarray, factor: float) -> np.ndarray:
    """``img`` (H×W×C, square) magnified by ``factor`` about its centre (bilinear), cropped back to its size."""
    size = img.shape[0]
    crop = math.ceil(size / factor)
    top = (size - crop) // 2
    zoomed = ndimage.zoom(img[top : top + crop, top : top + crop], (factor, factor, 1), order=1)
    trim = (zoomed.shape[0] - size) // 2
    return zoomed[trim : trim + size, trim : trim + size]


def zoom_blur(x: np.ndarray, rng: np.random.Generator, factors: tuple[float, ...] = ZOOM_FACTORS) -> np.ndarray:
    """The mean of the image and its :func:`clipped_zoom` at every factor."""
    x = (x / 255.0).astype(np.float32)
    out = x.copy()
    for factor in factors:
        out += clipped_zoom(x, factor)
    return np.clip(out / (len(factors) + 1), 0.0, 1.0) * 255.0
