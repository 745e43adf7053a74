"""Blur corruptions: impulse responses have the width, support and direction their constants define."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gerne.data.corruptions import blur
from gerne.data.corruptions.registry import corrupt_one

RNG = np.random.default_rng(0)


def _impulse(side: int = 33) -> np.ndarray:
    img = np.zeros((side, side, 3), dtype=np.uint8)
    img[side // 2, side // 2] = 255
    return img


def test_gaussian_blur_impulse_response_has_sigma_one() -> None:
    out = blur.gaussian_blur(_impulse(), RNG)[..., 0]
    w = out / out.sum()
    offsets = np.arange(out.shape[0]) - out.shape[0] // 2
    assert (w.sum(axis=0) * offsets**2).sum() == pytest.approx(blur.GAUSSIAN_BLUR_SIGMA**2, rel=0.03)


def test_defocus_blur_is_a_disk_of_radius_one_and_a_half() -> None:
    kernel = blur.disk_kernel(*blur.DEFOCUS)
    assert kernel.sum() == pytest.approx(1.0, abs=1e-5) and kernel.shape == (17, 17)
    yy, xx = np.indices(kernel.shape) - 8
    dist = np.hypot(yy, xx)
    assert kernel[dist > 1.5 + 1.5].max() < 1e-4 * kernel.max()  # nothing beyond the disk and its anti-aliasing
    assert kernel[dist <= 1.0].min() > 0.5 * kernel.max()  # flat inside
    out = blur.defocus_blur(_impulse(), RNG)[..., 0]
    assert np.allclose(out[8:25, 8:25], kernel * 255, atol=1e-3)  # the impulse response is the kernel


@pytest.mark.parametrize(("angle", "axis"), [(0.0, 1), (90.0, 0)])
def test_motion_blur_kernel_is_a_one_sided_line(angle: float, axis: int) -> None:
    radius, sigma = blur.MOTION
    kernel = blur.line_kernel(radius, sigma, angle)
    taps = 2 * radius + 1
    centre = taps - 1
    line = kernel[centre, centre:] if axis == 1 else kernel[centre:, centre]
    assert kernel.sum() == pytest.approx(1.0) and np.count_nonzero(kernel) == taps
    expected = np.exp(-np.arange(taps) ** 2 / (2 * sigma**2))
    assert np.allclose(line, expected / expected.sum())


def test_motion_blur_streaks_one_way() -> None:
    out = blur.line_blur(_impulse()[..., 0] / 255.0, 9, 2.5, 0.0)
    row = out[16]
    assert np.abs(out[[r for r in range(33) if r != 16]]).max() < 1e-6  # (filter2D's FFT leaves ~1e-18)
    assert (row[:16] > 1e-6).any() != (row[17:] > 1e-6).any()  # the streak lies on one side of the impulse only


def test_zoom_blur_averages_zooms_from_one_to_one_and_a_quarter() -> None:
    assert blur.ZOOM_FACTORS[0] == 1.0 and blur.ZOOM_FACTORS[-1] == 1.25 and len(blur.ZOOM_FACTORS) == 26
    flat = np.full((32, 32, 3), 90, dtype=np.uint8)
    assert np.array_equal(corrupt_one(blur.zoom_blur, flat, 0, 0), flat)
    ring = np.zeros((32, 32, 3), dtype=np.uint8)
    ring[:2] = 255
    assert corrupt_one(blur.zoom_blur, ring, 0, 0)[:2].mean() < 255 * 0.6  # the edge is spread toward the centre


def test_glass_blur_keeps_flat_images_and_is_seeded() -> None:
    flat = np.full((32, 32, 3), 77, dtype=np.uint8)
    assert np.array_equal(corrupt_one(blur.glass_blur, flat, 0, 0), flat)
    img = (np.indices((32, 32)).sum(0)[..., None] * 4 % 256).repeat(3, 2).astype(np.uint8)
    a, b = (corrupt_one(blur.glass_blur, img, 0, i) for i in (0, 1))
    assert np.array_equal(a, corrupt_one(blur.glass_blur, img, 0, 0)) and not np.array_equal(a, b)
    assert math.isclose(a.mean(), img.mean(), abs_tol=3)
