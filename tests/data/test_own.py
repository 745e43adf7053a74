"""Bring-your-own image datasets, and the registry of dataset kinds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gerne.data import celeba, civilcomments, own, waterbirds
from gerne.data.own import prepare_own, read_own_table
from gerne.data.registry import KINDS, get_dataset
from gerne.errors import ConfigError, DataError
from tests.conftest import REPO
from tests.data.fixtures import colour_of, write_jpeg


def _own(root: Path) -> Path:
    rows = []
    for i, (split, y, a) in enumerate([("train", 0, 0), ("train", 2, 1), ("val", 1, 0), ("test", 2, 0),
                                       ("train", 1, 1)]):
        name = f"pics/{100 + i}.jpg"
        write_jpeg(root / name, (120, 90), i)
        rows.append({"id": f"img-{100 + i}", "filename": name, "split": split, "y": y, "a": a})
    pd.DataFrame(rows).to_csv(root / "table.csv", index=False)
    return root / "table.csv"


def test_prepare_own(tmp_path: Path) -> None:
    table = _own(tmp_path)
    done = prepare_own(table, tmp_path, tmp_path / "out", "resize_crop", 12)
    images = np.load(tmp_path / "out" / "images.npy")
    meta = pd.read_csv(tmp_path / "out" / "metadata.csv")
    assert images.shape == (5, 12, 12, 3)
    assert meta["id"].tolist() == list(range(5)) and meta["source_id"].tolist()[0] == "img-100"
    assert np.abs(images[3].reshape(-1, 3).mean(0) - colour_of(3)).max() < 3
    info = json.loads((tmp_path / "out" / "counts.json").read_text())
    assert (info["num_classes"], info["num_attributes"]) == (3, 2)  # inferred from the largest labels
    assert info["splits"]["train"] == {"0,0": 1, "0,1": 0, "1,0": 0, "1,1": 1, "2,0": 0, "2,1": 1}
    prepare_own(table, tmp_path, tmp_path / "again", "resize_crop", 12, expected_counts=done.counts)
    with pytest.raises(DataError, match=r"100\.jpg does not fit transform 'crop_resize': image of 120×90 is smaller"):
        prepare_own(table, tmp_path, tmp_path / "again", "crop_resize", 12)
    wrong = {s: dict(c) for s, c in done.counts.items()}
    wrong["test"]["2,0"] = 0
    with pytest.raises(DataError, match=r"test \(y,a\)=\(2,0\): expected 0, found 1"):
        prepare_own(table, tmp_path, tmp_path / "bad", "resize_crop", 12, expected_counts=wrong)
    assert not (tmp_path / "bad" / "counts.json").exists()


@pytest.mark.parametrize(("edit", "message"), [
    (lambda t: t.drop(columns=["a"]), r"lacks columns \['a'\]"),
    (lambda t: t.assign(split=["train", "dev", "val", "test", "train"]), r"unknown split values \['dev'\]"),
    (lambda t: t.assign(y=[0, 1.5, 1, 0, 0]), "'y' must hold integers"),
    (lambda t: t.assign(a=[0, -1, 1, 0, 0]), "'a' must hold integers"),
    (lambda t: t.assign(y=["cat", 1, 1, 0, 0]), "'y' must hold integers"),
    (lambda t: t.assign(id=[1, 1, 2, 3, 4]), "ids must be unique"),
    (lambda t: t.iloc[:0], "no rows"),
    # the contract: every split holds rows, every class and attribute has training rows (checked before decoding)
    (lambda t: t.assign(y=[0, 2, 3, 2, 1]), r"table\.csv: class y = 3 never occurs in the train split \(only in "
                                            r"val: 1 row\(s\)\)\. .*add train rows of it"),
    (lambda t: t.assign(a=[0, 1, 0, 2, 1]), r"attribute a = 2 never occurs in the train split \(only in test: 1 "
                                            r"row\(s\)\)"),
    (lambda t: t.assign(y=[1, 2, 1, 2, 1]), r"class y = 0 never occurs in the train split \(nor in any split: "
                                            r"number the classes 0\.\.2 without gaps\)"),
    (lambda t: t.assign(split=["train", "train", "test", "test", "train"]), r"split\(s\) \['val'\] hold no rows"),
])
def test_own_table_errors(tmp_path: Path, edit, message: str) -> None:
    table = _own(tmp_path)
    edit(pd.read_csv(table)).to_csv(table, index=False)
    with pytest.raises(DataError, match=message):
        prepare_own(table, tmp_path, tmp_path / "out", "resize_crop", 12)


def test_own_missing_image_and_bad_transform(tmp_path: Path) -> None:
    table = _own(tmp_path)
    (tmp_path / "pics" / "102.jpg").unlink()
    with pytest.raises(DataError, match=r"102\.jpg is missing"):
        prepare_own(table, tmp_path, tmp_path / "out", "resize_crop", 12)
    with pytest.raises(ConfigError, match="unknown image transform"):
        prepare_own(table, tmp_path, tmp_path / "out", "flip", 12)


def test_registry() -> None:
    assert set(KINDS) == {"cmnist", "ccifar10", "ccifar10_dfa", "bffhq", "waterbirds", "celeba",
                          "civilcomments", "own"}
    for module in (waterbirds, celeba, civilcomments):
        entry = get_dataset(module.NAME)
        assert entry.prepare is module.prepare and list(entry.sources) == module.SOURCES
        assert entry.published_counts is module.PUBLISHED_COUNTS and not entry.read_in_place
    assert get_dataset("own").read_in_place and get_dataset("own").prepare is own.prepare
    for entry in KINDS.values():  # the file a stage depends on is the module that defines the kind
        assert (REPO / entry.module).is_file()
        assert entry.module == entry.prepare.__module__.replace(".", "/") + ".py"
    with pytest.raises(ConfigError, match="unknown dataset kind 'cifar'"):
        get_dataset("cifar")


def test_own_without_attributes(tmp_path: Path) -> None:
    """Data without a bias attribute leaves out `a`: every sample gets a = 0, and a stray `a` column is refused."""
    table = _own(tmp_path)
    frame = pd.read_csv(table)
    frame.drop(columns="a").to_csv(tmp_path / "metadata.csv", index=False)
    prepared = own.prepare(tmp_path, tmp_path / "out", transform="resize_crop", image_size=12, attributes=False)
    meta = pd.read_csv(tmp_path / "out" / "metadata.csv")
    assert (meta["a"] == 0).all() and prepared.rows == len(frame)
    with pytest.raises(DataError, match="attributes: false"):
        read_own_table(table, attributes=False)
    with pytest.raises(DataError, match="is missing"):
        own.prepare(tmp_path / "nowhere", tmp_path / "out2", image_size=12)
