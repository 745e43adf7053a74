"""Digital corruptions: brightness raises V by 0.3, contrast keeps 15 %, saturate scales S, pixelate goes
through 20 px, JPEG at quality 40, elastic keeps flat images."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from skimage.color import rgb2hsv

from gerne.data.corruptions import digital
from gerne.data.corruptions.registry import corrupt_one
from tests.data.corruptions.conftest import smooth_images

IMAGES = smooth_images(6, seed=1)


def test_brightness_raises_v_by_its_constant() -> None:
    for img in IMAGES:
        v_in, v_out = rgb2hsv(img)[..., 2], rgb2hsv(corrupt_one(digital.brightness, img, 0, 0))[..., 2]
        assert np.abs(v_out - np.minimum(v_in + 0.3, 1.0)).max() < 2 / 255


def test_contrast_keeps_fifteen_percent_of_the_spread() -> None:
    for img in IMAGES:
        out = corrupt_one(digital.contrast, img, 0, 0).astype(float)
        for c in range(3):
            assert out[..., c].std() == pytest.approx(0.15 * img[..., c].std(), abs=0.5)
            assert out[..., c].mean() == pytest.approx(img[..., c].mean(), abs=1.0)


def test_saturate_scales_s() -> None:
    for img in IMAGES:
        s_in, s_out = rgb2hsv(img)[..., 1], rgb2hsv(corrupt_one(digital.saturate, img, 0, 0))[..., 1]
        bright = rgb2hsv(img)[..., 2] > 0.3  # where 8-bit levels resolve S finely
        expected = np.clip(s_in * 2.5 + 0.2, 0, 1)
        assert np.abs(s_out - expected)[bright].max() < 0.06


def test_pixelate_goes_through_twenty_pixels() -> None:
    assert digital.pixelate_side(32) == 20
    for img in IMAGES:
        out = corrupt_one(digital.pixelate, img, 0, 0).astype(float)
        for c in range(3):  # box up-sampling from 20 px is a linear map of rank 20
            sv_out = np.linalg.svd(out[..., c], compute_uv=False)
            assert sv_out[20:].max() < 0.01 * sv_out[0] + 8


def test_jpeg_uses_quality_forty() -> None:
    img = IMAGES[0]
    decoded = Image.open(io.BytesIO(digital.jpeg_bytes(img)))
    luma, chroma = decoded.quantization[0], decoded.quantization[1]
    # libjpeg scales its standard tables by 5000 / 40 = 125 %: DC 16 -> 20 and 17 -> 21, largest 121 -> 151
    assert (luma[0], chroma[0], max(luma)) == (20, 21, 151)
    assert np.array_equal(corrupt_one(digital.jpeg, img, 0, 0), np.asarray(decoded.convert("RGB")))


def test_elastic_keeps_flat_images_and_moves_others_a_little() -> None:
    flat = np.full((32, 32, 3), 140, dtype=np.uint8)
    assert np.abs(corrupt_one(digital.elastic, flat, 0, 0).astype(int) - 140).max() <= 1
    for i, img in enumerate(IMAGES):
        out = corrupt_one(digital.elastic, img, 0, i)
        diff = np.abs(out.astype(int) - img.astype(int))
        assert 0 < diff.mean() < 25


def test_original_is_the_identity() -> None:
    assert np.array_equal(corrupt_one(digital.original, IMAGES[0], 0, 0), IMAGES[0])
