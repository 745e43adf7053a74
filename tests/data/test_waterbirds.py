"""Waterbirds preparation on a tiny release in the real archive layout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gerne.data import waterbirds
from gerne.data.contract import load_tensor_dataset
from gerne.errors import DataError
from tests.data.fixtures import colour_of, extract_tar, waterbirds_release

SIZE = 24


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """``(raw_dir, counts)``: the fixture archive extracted with tarfile."""
    root = tmp_path_factory.mktemp("waterbirds")
    tar, counts = waterbirds_release(root)
    return extract_tar(tar, root / "raw"), counts


def test_published_counts_match_benchmarks() -> None:
    totals = {s: sum(c.values()) for s, c in waterbirds.PUBLISHED_COUNTS.items()}
    assert totals == {"train": 4795, "val": 1199, "test": 5794}
    assert waterbirds.SOURCES[0].name == "waterbird_complete95_forest2water2.tar.gz" and waterbirds.SOURCES[0].extract


def test_prepare(release: tuple[Path, dict], tmp_path: Path) -> None:
    raw, counts = release
    done = waterbirds.prepare(raw, tmp_path / "wb", image_size=SIZE, expected_counts=counts)
    images = np.load(tmp_path / "wb" / "images.npy")
    meta = pd.read_csv(tmp_path / "wb" / "metadata.csv")
    source = pd.read_csv(raw / "waterbird_complete95_forest2water2" / "metadata.csv")
    assert images.shape == (len(source), SIZE, SIZE, 3) and images.dtype == np.uint8
    assert meta["id"].tolist() == list(range(len(source)))
    assert meta["filename"].tolist() == source["img_filename"].tolist()
    assert meta["y"].tolist() == source["y"].tolist() and meta["a"].tolist() == source["place"].tolist()
    assert meta["split"].tolist() == source["split"].map({0: "train", 1: "val", 2: "test"}).tolist()
    assert meta.loc[meta["filename"].str.startswith("001.Black_footed_Albatross"), "y"].eq(1).all()
    for i in range(len(source)):  # row order: image i is fixture image i
        assert np.abs(images[i].reshape(-1, 3).mean(0) - colour_of(i)).max() < 3
    info = json.loads((tmp_path / "wb" / "counts.json").read_text())
    assert info == {"num_classes": 2, "num_attributes": 2, "splits": counts} and done.counts == counts
    splits = load_tensor_dataset(tmp_path / "wb")
    assert {s: len(v) for s, v in splits.items()} == {s: sum(c.values()) for s, c in counts.items()}


def test_raw_dir_may_be_the_release_folder(release: tuple[Path, dict], tmp_path: Path) -> None:
    raw, counts = release
    waterbirds.prepare(raw / "waterbird_complete95_forest2water2", tmp_path / "wb", image_size=8,
                       expected_counts=counts)
    assert (tmp_path / "wb" / "counts.json").is_file()


def test_published_counts_reject_the_fixture(release: tuple[Path, dict], tmp_path: Path) -> None:
    raw, counts = release
    with pytest.raises(DataError) as err:
        waterbirds.prepare(raw, tmp_path / "wb", image_size=8)
    message = str(err.value)
    assert "12 group count(s) differ" in message
    assert f"train (y,a)=(0,0): expected 3498, found {counts['train']['0,0']}" in message
    assert "partial" in message and "download" in message
    assert not (tmp_path / "wb" / "counts.json").exists() and not (tmp_path / "wb" / "images.npy").exists()


def test_bad_releases(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"metadata\.csv not found"):
        waterbirds.prepare(tmp_path, tmp_path / "out")
    (tmp_path / "metadata.csv").write_text("img_id,img_filename,y,split\n1,a.jpg,0,0\n")
    with pytest.raises(DataError, match=r"lacks columns \['place'\]"):
        waterbirds.prepare(tmp_path, tmp_path / "out")
    (tmp_path / "metadata.csv").write_text("img_id,img_filename,y,split,place\n1,a.jpg,0,3,0\n")
    with pytest.raises(DataError, match="unexpected values"):
        waterbirds.prepare(tmp_path, tmp_path / "out")
