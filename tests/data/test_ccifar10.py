"""C-CIFAR-10 from CIFAR-10's batches: LfF's assignment and counts, byte-identical for any worker count, and a
failed build leaves nothing that looks finished."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gerne.data import ccifar10
from gerne.data.corruptions import frost
from gerne.data.corruptions.registry import TYPES
from gerne.data.registry import get_dataset
from gerne.errors import ConfigError, DataError
from tests.data.corruptions.conftest import fake_wheel
from tests.data.fixtures import cifar10_release


@pytest.fixture
def raw(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A raw folder as fetch leaves it: the batches and a frost wheel (its test textures' checksums in force)."""
    root = tmp_path / "raw"
    cifar10_release(root / "cifar-10-python", train_per_class=40, test_per_class=20)
    monkeypatch.setattr(frost, "TEXTURES", fake_wheel(root / frost.WHEEL.name, list(frost.TEXTURES)))
    return root


def _digest(folder: Path) -> str:
    return hashlib.md5((folder / "images.npy").read_bytes() + (folder / "metadata.csv").read_bytes()).hexdigest()


def test_counts_follow_lffs_protocol(raw: Path, tmp_path: Path) -> None:
    done = ccifar10.prepare(raw, tmp_path / "out", ratio=5.0, val_size=50, workers=1)
    table = pd.read_csv(tmp_path / "out" / "metadata.csv")
    assert len(table) == 400 + 200 and (table["split"] == "test").sum() == 200
    for split in ("train", "val"):
        part = table[table["split"] == split]
        for c in range(10):
            cls = part[part["y"] == c]
            conflicting = cls[cls["a"] != c]
            assert len(conflicting) == int(np.floor(0.05 * len(cls) + 0.5))  # round(r·n_y), halves up
            spread = conflicting["a"].value_counts()
            assert spread.empty or spread.max() - spread.min() <= 1
    train = table[table["split"] == "train"]
    assert (train["a"] != train["y"]).sum() >= 10  # every class has a conflicting image at this size
    test = table[table["split"] == "test"]
    assert (test.groupby(["y", "a"]).size() == 2).all() and len(test.groupby(["y", "a"])) == 100  # 20 = 2 per cell
    counts = json.loads((tmp_path / "out" / "counts.json").read_text())["splits"]
    assert counts == done.counts and sum(counts["val"].values()) == 50
    images = np.load(tmp_path / "out" / "images.npy")
    assert images.shape == (600, 32, 32, 3) and images.dtype == np.uint8


def test_bytes_do_not_depend_on_workers_and_test_not_on_ratio(raw: Path, tmp_path: Path) -> None:
    ccifar10.prepare(raw, tmp_path / "one", ratio=5.0, val_size=50, workers=1)
    ccifar10.prepare(raw, tmp_path / "two", ratio=5.0, val_size=50, workers=2)
    assert _digest(tmp_path / "one") == _digest(tmp_path / "two")
    ccifar10.prepare(raw, tmp_path / "r2", ratio=2.0, val_size=50, workers=1)
    tables = [pd.read_csv(tmp_path / d / "metadata.csv") for d in ("one", "r2")]
    tests = [t["split"] == "test" for t in tables]
    arrays = [np.load(tmp_path / d / "images.npy") for d in ("one", "r2")]
    assert tables[0][tests[0]].equals(tables[1][tests[1]]) and np.array_equal(arrays[0][tests[0]], arrays[1][tests[1]])


def test_type1_needs_no_textures(tmp_path: Path) -> None:
    root = tmp_path / "raw"
    cifar10_release(root, train_per_class=6, test_per_class=2)
    done = ccifar10.prepare(root, tmp_path / "out", ratio=10.0, corruptions="type1", val_size=10, workers=1)
    assert sum(done.counts["test"].values()) == 20


@pytest.mark.parametrize(("options", "message"), [
    ({"ratio": 0.0}, "strictly between 0 and 100"), ({"ratio": 1.0, "val_size": 400}, r"val_size must lie in"),
    ({"ratio": 1.0, "corruptions": TYPES["type0"][:9]}, "one corruption per class"),
    ({"ratio": 1.0, "corruptions": "type9"}, "neither type0 nor type1")])
def test_bad_options_are_refused(raw: Path, tmp_path: Path, options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ccifar10.prepare(raw, tmp_path / "out", **options)
    assert not (tmp_path / "out" / "counts.json").exists()


def test_a_count_mismatch_leaves_nothing_finished(raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    good = ccifar10.prepare(raw, out, ratio=5.0, val_size=50, workers=1)
    wrong = {**good.counts, "test": {**good.counts["test"], "0,0": 3}}
    with pytest.raises(DataError, match="group count"):
        ccifar10.prepare(raw, out, ratio=5.0, val_size=50, workers=1, expected_counts=wrong)
    assert not any((out / name).exists() for name in ("counts.json", "images.npy", "metadata.csv"))


def test_registered_kind_with_the_ratio_as_t_unit() -> None:
    entry = get_dataset("ccifar10")
    assert entry.module == "gerne/data/ccifar10.py" and entry.minority_percent(ratio=2.0) == 2.0
    assert [s.name for s in entry.sources] == ["cifar-10-python.tar.gz", frost.WHEEL.name]


def test_the_registry_loads_without_the_image_libraries() -> None:
    """SciPy, scikit-image and OpenCV load only when C-CIFAR-10 is built (every stage imports the registry)."""
    import subprocess
    import sys

    code = "import sys, gerne.data.registry; print(sorted(m for m in ('cv2', 'skimage', 'scipy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
