"""Frost: 0.75·x + 0.45·(a 32 px window of a texture at a fifth of its size); textures verified from the wheel."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from gerne.data.corruptions import frost
from gerne.data.corruptions.registry import corrupt_one
from gerne.errors import DataError
from tests.data.corruptions.conftest import fake_wheel


def test_textures_are_read_verified_and_scaled(tmp_path: Path) -> None:
    wheel = tmp_path / frost.WHEEL.name
    md5s = fake_wheel(wheel, list(frost.TEXTURES))
    textures = frost.load_textures(wheel, md5s=md5s)
    assert len(textures) == 5 and all(t.shape == (52, 60, 3) and t.dtype == np.uint8 for t in textures)


def test_black_image_shows_a_window_of_one_texture(textures: list[np.ndarray]) -> None:
    out = corrupt_one(lambda x, rng: frost.frost(x, rng, textures), np.zeros((32, 32, 3), np.uint8), 0, 0)
    found = [(k, r, c) for k, t in enumerate(textures) for r in range(t.shape[0] - 32)
             for c in range(t.shape[1] - 32)
             if np.array_equal(out, (0.45 * t[r : r + 32, c : c + 32]).astype(np.uint8))]
    assert len(found) >= 1


def test_image_weight_is_three_quarters(textures: list[np.ndarray]) -> None:
    grey = np.full((32, 32, 3), 200, np.uint8)
    out = corrupt_one(lambda x, rng: frost.frost(x, rng, textures), grey, 0, 0).astype(float)
    assert out.min() >= 150 and frost.FROST == (0.75, 0.45)


def test_a_wrong_texture_or_a_broken_wheel_is_refused(tmp_path: Path) -> None:
    wheel = tmp_path / frost.WHEEL.name
    fake_wheel(wheel, list(frost.TEXTURES))
    with pytest.raises(DataError, match="does not have MD5 6ead634ace1f366d77e87078b465863c"):
        frost.load_textures(wheel)  # the real wheel's checksums
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("other.txt", "x")
    with pytest.raises(DataError, match="cannot read the frost images"):
        frost.load_textures(wheel)
    wheel.write_bytes(b"not a zip")
    with pytest.raises(DataError, match="delete it and fetch again"):
        frost.load_textures(wheel)
