"""Weather corruptions: the fractal's range, fog's rescaling, snow only brightens, mud is mud-coloured."""

from __future__ import annotations

import numpy as np
import pytest

from gerne.data.corruptions import weather
from gerne.data.corruptions.registry import corrupt_one
from tests.data.corruptions.conftest import smooth_images


def test_plasma_fractal_spans_zero_to_one_and_is_seeded() -> None:
    a = weather.plasma_fractal(np.random.default_rng(1))
    assert a.shape == (32, 32) and a.min() == 0.0 and a.max() == 1.0
    assert np.array_equal(a, weather.plasma_fractal(np.random.default_rng(1)))
    assert not np.array_equal(a, weather.plasma_fractal(np.random.default_rng(2)))
    with pytest.raises(ValueError, match="power of two"):
        weather.plasma_fractal(np.random.default_rng(0), size=30)


def test_fog_keeps_black_black_and_hazes_white() -> None:
    black = np.zeros((32, 32, 3), dtype=np.uint8)
    assert not corrupt_one(weather.fog, black, 0, 0).any()  # scaled by max(x) / (max(x) + 1.5) = 0
    white = corrupt_one(weather.fog, np.full((32, 32, 3), 255, dtype=np.uint8), 0, 0).astype(float)
    strength = weather.FOG[0]
    assert white.min() >= np.floor(255 / (1 + strength)) and white.max() == 255 and white.std() > 10


def test_snow_only_brightens() -> None:
    for i, img in enumerate(smooth_images(8, seed=3)):
        out = corrupt_one(weather.snow, img, 0, i).astype(int)
        assert (out >= img.astype(int) - 1).all()  # the mix takes max(x, …) and flakes only add (-1: truncation)
        assert out.mean() > img.mean() + 10


def test_spatter_paints_mud_where_it_changes_anything() -> None:
    white = np.full((32, 32, 3), 255, dtype=np.uint8)
    changed = 0
    for i in range(20):
        out = corrupt_one(weather.spatter, white, 0, i).astype(int)
        hit = (out != 255).any(axis=2)
        changed += hit.sum()
        r, g, b = out[hit].T
        assert ((r > g) & (g > b)).all()  # a blend of white with mud brown (63, 42, 20)
    assert changed > 0
