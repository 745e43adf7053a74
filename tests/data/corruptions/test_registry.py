"""The corruption registry: LfF's lists, clear refusals, per-image seeding (same bytes for any worker count or
order), and the shortcut C-CIFAR-10 relies on (corruption statistics alone predict the aligned class)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from gerne.data.corruptions.registry import KNOWN, TYPES, corrupt, corruption_list, resolve
from gerne.errors import ConfigError
from tests.data.corruptions.conftest import smooth_images


def test_lff_lists_in_lff_order() -> None:
    assert TYPES["type0"] == ("snow", "frost", "fog", "brightness", "contrast", "spatter", "elastic", "jpeg",
                              "pixelate", "saturate")
    assert TYPES["type1"][-1] == "original" and len(TYPES["type1"]) == 10
    assert set(TYPES["type0"]) | set(TYPES["type1"]) == set(KNOWN)


@pytest.mark.parametrize(("spec", "message"), [
    ("type2", "neither type0 nor type1"), (["snow", "hail"], r"unknown corruption\(s\) \['hail'\]"),
    (["snow", "snow"], "listed twice")])
def test_bad_lists_are_refused(spec: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        corruption_list(spec)


def test_frost_without_textures_is_refused() -> None:
    with pytest.raises(ConfigError, match="needs its texture images"):
        resolve(["frost"])


def test_every_corruption_maps_uint8_to_uint8_of_the_same_shape(textures: list[np.ndarray]) -> None:
    images = smooth_images(len(KNOWN), seed=5)
    out = corrupt(images, np.arange(len(KNOWN)), list(KNOWN), seed=0, textures=textures)
    assert out.dtype == np.uint8 and out.shape == images.shape
    changed = [name for name, a, b in zip(KNOWN, images, out, strict=True) if not np.array_equal(a, b)]
    assert sorted(changed) == sorted(set(KNOWN) - {"original"})


def test_bytes_do_not_depend_on_workers_or_order(textures: list[np.ndarray]) -> None:
    images = smooth_images(300, seed=2)  # more than one chunk of work
    which = np.arange(300) % 10
    names = TYPES["type0"]
    one = corrupt(images, which, names, seed=7, textures=textures, workers=1)
    two = corrupt(images, which, names, seed=7, textures=textures, workers=2)
    assert np.array_equal(one, two)
    back = corrupt(images[::-1], which[::-1], names, seed=7, ids=np.arange(300)[::-1], textures=textures)
    assert np.array_equal(back[::-1], one)
    assert not np.array_equal(corrupt(images, which, names, seed=8, textures=textures), one)


def _statistics(images: np.ndarray) -> np.ndarray:
    """Per image: channel means and spreads, saturation, high-frequency energy, 8×8 block-edge energy."""
    x = images.astype(float) / 255
    grey = x.mean(axis=3)
    lap = np.abs(np.stack([ndimage.laplace(g) for g in grey]))
    block = np.abs(np.diff(grey, axis=2))[:, :, 7::8].mean(axis=(1, 2))
    return np.column_stack([x.mean(axis=(1, 2)), x.std(axis=(1, 2)), (x.max(3) - x.min(3)).mean(axis=(1, 2)),
                            lap.mean(axis=(1, 2)), lap.std(axis=(1, 2)), block, grey.min((1, 2)), grey.max((1, 2))])


def test_corruption_statistics_alone_predict_the_aligned_class(textures: list[np.ndarray]) -> None:
    """A nearest-centroid rule on eleven image statistics, fit on aligned images (class c = corruption c),
    classifies held-out aligned images far above chance: the shortcut a biased model learns."""
    n = 40
    images = smooth_images(10 * n, seed=11)
    y = np.arange(10 * n) % 10
    feats = _statistics(corrupt(images, y, TYPES["type0"], seed=0, textures=textures))
    fit, held = np.arange(10 * n) < 6 * n, np.arange(10 * n) >= 6 * n
    mu, sd = feats[fit].mean(0), feats[fit].std(0) + 1e-9
    z = (feats - mu) / sd
    centroids = np.stack([z[fit & (y == c)].mean(0) for c in range(10)])
    pred = np.argmin(((z[held, None, :] - centroids[None]) ** 2).sum(-1), axis=1)
    accuracy = (pred == y[held]).mean()
    assert accuracy > 0.6, accuracy  # chance: 0.1
