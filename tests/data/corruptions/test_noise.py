"""Noise corruptions: each adds the noise its constant defines (σ, λ, amount) to a flat image."""

from __future__ import annotations

import numpy as np
import pytest

from gerne.data.corruptions import noise
from gerne.data.corruptions.registry import CORRUPTIONS, corrupt_one


def _flat(value: int, side: int = 64) -> np.ndarray:
    return np.full((side, side, 3), value, dtype=np.uint8)


def test_gaussian_noise_has_sigma_ten_percent_of_the_range() -> None:
    out = corrupt_one(CORRUPTIONS["gaussian_noise"], _flat(128), 0, 0).astype(float)
    assert noise.GAUSSIAN_SIGMA == 0.10
    assert out.std() == pytest.approx(0.10 * 255, rel=0.05)
    assert out.mean() == pytest.approx(127.5, abs=1.0)  # truncation to uint8 lowers the mean by half a level


def test_shot_noise_is_poisson_with_fifty_photons_at_full_range() -> None:
    out = corrupt_one(CORRUPTIONS["shot_noise"], _flat(100), 0, 0) / 255.0
    p = 100 / 255
    assert out.var() == pytest.approx(p / 50, rel=0.08)
    assert len(np.unique(out)) < 40  # counts of photons: a few discrete levels, not a continuum


def test_impulse_noise_replaces_seven_percent_half_salt_half_pepper() -> None:
    out = corrupt_one(CORRUPTIONS["impulse_noise"], _flat(128), 0, 0)
    salt, pepper = (out == 255).mean(), (out == 0).mean()
    assert salt + pepper == pytest.approx(0.07, abs=0.01)
    assert salt == pytest.approx(pepper, abs=0.01)
    assert set(np.unique(out)) == {0, 128, 255}


def test_speckle_noise_scales_with_the_value() -> None:
    out = corrupt_one(CORRUPTIONS["speckle_noise"], _flat(100), 0, 0).astype(float)
    assert out.std() == pytest.approx(0.20 * 100, rel=0.06)
    dark = corrupt_one(CORRUPTIONS["speckle_noise"], _flat(0), 0, 0)
    assert not dark.any()  # multiplicative: black stays black
