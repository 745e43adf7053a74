"""Generic image preparation: transforms (checked against torchvision), streamed writing, errors, count checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from torchvision import transforms as T

from gerne.data.contract import SPLITS, load_tensor_dataset
from gerne.data.counts import check_counts
from gerne.data.images import load_image, prepare_images
from gerne.errors import ConfigError, DataError
from tests.data.fixtures import colour_of, write_jpeg

SIZE = 16


def _noise_image(path: Path, w: int, h: int) -> Image.Image:
    img = Image.fromarray(np.random.default_rng(w * h).integers(0, 256, (h, w, 3), dtype=np.uint8))
    img.save(path)
    return img


@pytest.mark.parametrize("size", [32, 224])
def test_transforms_match_torchvision(tmp_path: Path, size: int) -> None:
    wide = _noise_image(tmp_path / "wide.png", 500, 375)
    face = _noise_image(tmp_path / "face.png", 178, 218)
    r = round(size * 256 / 224)
    expected_wb = T.Compose([T.Resize((r, r)), T.CenterCrop(size)])(wide)
    expected_ce = T.Compose([T.CenterCrop(178), T.Resize(size)])(face)
    assert np.array_equal(load_image(tmp_path / "wide.png", "resize_crop", size), np.asarray(expected_wb))
    assert np.array_equal(load_image(tmp_path / "face.png", "crop_resize", size), np.asarray(expected_ce))
    assert load_image(tmp_path / "face.png", "crop_resize", size).shape == (size, size, 3)


def _table(root: Path, n: int = 8) -> pd.DataFrame:
    rows = []
    for i in range(n):
        name = f"sub{i % 2}/img{i}.{'png' if i % 3 == 0 else 'jpg'}"
        if name.endswith("png"):
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (60, 80), colour_of(i)).convert("P").save(root / name)  # palette PNG → RGB
        else:
            write_jpeg(root / name, (60, 80), i)
        rows.append({"id": i, "filename": name, "split": SPLITS[i % 3], "y": i % 2, "a": (i // 2) % 2})
    return pd.DataFrame(rows)


def _prepare(table: pd.DataFrame, root: Path, out: Path, **kw):
    options = {"transform": "resize_crop", "image_size": SIZE, "num_classes": 2, "num_attributes": 2,
               "expected_counts": None, "dataset": "toy"} | kw
    return prepare_images(table, root, out, **options)


def test_prepare_streams_rows_in_order(tmp_path: Path) -> None:
    table = _table(tmp_path / "raw")
    one = _prepare(table, tmp_path / "raw", tmp_path / "one", workers=1)
    two = _prepare(table, tmp_path / "raw", tmp_path / "two", workers=2)
    images = np.load(tmp_path / "one" / "images.npy")
    assert images.shape == (8, SIZE, SIZE, 3) and images.dtype == np.uint8
    assert np.array_equal(images, np.load(tmp_path / "two" / "images.npy"))
    for i in range(8):  # row i is file i: its mean colour survives decoding and resizing
        assert np.abs(images[i].reshape(-1, 3).mean(0) - colour_of(i)).max() < 3
    meta = pd.read_csv(tmp_path / "one" / "metadata.csv")
    assert list(meta.columns) == ["id", "filename", "split", "y", "a"]
    assert meta["filename"].tolist() == table["filename"].tolist()
    info = json.loads((tmp_path / "one" / "counts.json").read_text())
    assert info["num_classes"] == 2 and info["splits"] == one.counts == two.counts
    assert sum(info["splits"]["train"].values()) == 3
    assert one.rows == 8 and one.per_second > 0
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == ["counts.json", "images.npy", "metadata.csv"]
    loaded = load_tensor_dataset(tmp_path / "one")
    assert loaded["val"].x.shape == (3, SIZE, SIZE, 3)


def _assert_not_finished(out: Path) -> None:
    assert not (out / "counts.json").exists()
    assert not (out / "images.npy").exists()
    assert not list(out.glob("*.part"))


@pytest.mark.parametrize("damage", ["truncate", "garbage", "delete"])
def test_bad_image_names_the_file(tmp_path: Path, damage: str) -> None:
    table = _table(tmp_path / "raw")
    out = tmp_path / "out"
    _prepare(table, tmp_path / "raw", out)  # an earlier good build must not survive looking finished
    bad = tmp_path / "raw" / table["filename"][4]
    if damage == "truncate":
        bad.write_bytes(bad.read_bytes()[:300])
    elif damage == "garbage":
        bad.write_bytes(b"this is not a jpeg")
    else:
        bad.unlink()
    with pytest.raises(DataError, match=r"img4\.jpg") as err:
        _prepare(table, tmp_path / "raw", out, workers=2)
    assert ("missing" if damage == "delete" else "cannot be decoded") in str(err.value)
    assert "download" in str(err.value)
    _assert_not_finished(out)


def test_count_mismatch_lists_cells_and_leaves_nothing_finished(tmp_path: Path) -> None:
    table = _table(tmp_path / "raw")
    good = _prepare(table, tmp_path / "raw", tmp_path / "out").counts
    wrong = {s: dict(cells) for s, cells in good.items()}
    wrong["train"]["0,0"] += 5
    wrong["test"]["1,1"] = 99
    with pytest.raises(DataError) as err:
        _prepare(table, tmp_path / "raw", tmp_path / "out", expected_counts=wrong)
    message = str(err.value)
    assert "2 group count(s) differ" in message
    assert f"train (y,a)=(0,0): expected {good['train']['0,0'] + 5}, found {good['train']['0,0']}" in message
    assert "test (y,a)=(1,1): expected 99" in message and "download" in message
    _assert_not_finished(tmp_path / "out")
    _prepare(table, tmp_path / "raw", tmp_path / "ok", expected_counts={"splits": good})  # counts.json form


def test_check_counts_missing_split_and_cells() -> None:
    check_counts({"train": {"0,0": 2, "0,1": 0}}, {"train": {"0,0": 2}}, "toy")  # absent cell = 0
    with pytest.raises(DataError, match=r"val \(y,a\)=\(1,0\): expected 4, found 0"):
        check_counts({"train": {"0,0": 2}}, {"train": {"0,0": 2}, "val": {"1,0": 4}}, "toy")


def test_option_errors(tmp_path: Path) -> None:
    table = _table(tmp_path / "raw", 3)
    with pytest.raises(ConfigError, match="unknown image transform"):
        _prepare(table, tmp_path / "raw", tmp_path / "o", transform="random_crop")
    with pytest.raises(ConfigError, match="image_size"):
        _prepare(table, tmp_path / "raw", tmp_path / "o", image_size=0)
    with pytest.raises(DataError, match="does not exist"):
        _prepare(table, tmp_path / "nowhere", tmp_path / "o")
    with pytest.raises(DataError, match=r"ids must be 0\.\.N-1"):
        _prepare(table.iloc[::-1], tmp_path / "raw", tmp_path / "o")


def test_loader_needs_exactly_one_array(tmp_path: Path) -> None:
    table = _table(tmp_path / "raw", 6)  # both classes in train (the contract)
    out = tmp_path / "out"
    _prepare(table, tmp_path / "raw", out)
    np.save(out / "tokens.npy", np.zeros((3, 4), dtype=np.int32))
    with pytest.raises(DataError, match="both"):
        load_tensor_dataset(out)
    (out / "tokens.npy").unlink()
    (out / "images.npy").unlink()
    with pytest.raises(DataError, match="neither"):
        load_tensor_dataset(out)


def test_resize_to_the_native_size_keeps_the_pixels_and_resize_crop_does_not() -> None:
    """What the README promises own data: `transform: resize` at the images' own size stores them as they are."""
    import numpy as np
    from PIL import Image

    from gerne.data.images import TRANSFORMS

    pixels = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    image = Image.fromarray(pixels)
    assert np.array_equal(np.asarray(TRANSFORMS["resize"](image, 32)), pixels)
    assert (np.asarray(TRANSFORMS["resize_crop"](image, 32)) != pixels).mean() > 0.5
