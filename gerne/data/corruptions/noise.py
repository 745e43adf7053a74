"""Noise corruptions of CIFAR-10-C (Hendrycks & Dietterich), severity 5, CIFAR (32 px) constants.

Every function takes a uint8 image ``H×W×3`` and the image's own generator and returns floats on the 0–255 scale;
:func:`gerne.data.corruptions.corrupt` clips and truncates them to uint8 (as CIFAR-10-C does).
"""

from __future__ import annotations

import numpy as np

GAUSSIAN_SIGMA = 0.10  # σ of the additive noise, in units of the full range
SHOT_LAMBDA = 50.0  # photons at full intensity: Poisson(λ·x)/λ
IMPULSE_AMOUNT = 0.07  # share of values replaced by salt (1) or pepper (0), half each
SPECKLE_SIGMA = 0.20  # σ of the multiplicative noise x + x·N(0, σ²)


def gaussian_noise(x: np.ndarray, rng: np.random.Generator, sigma: float = GAUSSIAN_SIGMA) -> np.ndarray:
    """x + N(0, σ²) per value, clipped to the range."""
    x = x / 255.0
    return np.clip(x + rng.normal(0.0, sigma, x.shape), 0.0, 1.0) * 255.0


def shot_noise(x: np.ndarray, rng: np.random.Generator, lam: float = SHOT_LAMBDA) -> np.ndarray:
    """Poisson(λ·x)/λ per value, clipped to the range."""
    return np.clip(rng.poisson(x / 255.0 * lam) / lam, 0.0, 1.0) * 255.0


def impulse_noise(x: np.ndarray, rng: np.random.Generator, amount: float = IMPULSE_AMOUNT) -> np.ndarray:
    """Salt and pepper: a share ``amount`` of the values (each channel on its own) set to 0 or to full range."""
    out = x / 255.0
    hit = rng.random(x.shape) < amount
    salt = rng.random(x.shape) < 0.5
    out[hit & salt] = 1.0
    out[hit & ~salt] = 0.0
    return out * 255.0


def speckle_noise(x: np.ndarray, rng: np.random.Generator, sigma: float = SPECKLE_SIGMA) -> np.ndarray:
    """x + x·N(0, σ²) per value, clipped to the range."""
    x = x / 255.0
    return np.clip(x + x * rng.normal(0.0, sigma, x.shape), 0.0, 1.0) * 255.0
