"""CelebA preparation from the original .txt lists and from the Kaggle mirror's CSV layout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gerne.data import celeba
from gerne.errors import DataError
from tests.data.fixtures import celeba_release, colour_of, group_rows

SIZE = 20


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path, dict]]:
    """Both layouts built and prepared once: ``{layout: (raw_dir, out_dir, counts)}``."""
    out = {}
    for layout in ("txt", "kaggle"):
        root = tmp_path_factory.mktemp(f"celeba_{layout}")
        counts = celeba_release(root / "raw", kaggle=layout == "kaggle")
        celeba.prepare(root / "raw", root / "out", image_size=SIZE, expected_counts=counts)
        out[layout] = (root / "raw", root / "out", counts)
    return out


def test_published_counts_and_sources() -> None:
    totals = {s: sum(c.values()) for s, c in celeba.PUBLISHED_COUNTS.items()}
    assert totals == {"train": 162770, "val": 19867, "test": 19962}
    assert [s.gdrive_id for s in celeba.SOURCES] == [
        "0B7EVK8r0v71pZjFTYXZWM3FlRnM", "0B7EVK8r0v71pblRyaVFSWGxPY0U", "0B7EVK8r0v71pY0NSMzRuSXJEVkk"]


def test_original_txt_format(prepared: dict) -> None:
    raw, out, counts = prepared["txt"]
    first = (raw / "list_attr_celeba.txt").read_text().splitlines()
    assert first[0] == str(len(group_rows())) and len(first[1].split()) == 40 and "  " in first[2]
    images = np.load(out / "images.npy")
    meta = pd.read_csv(out / "metadata.csv")
    rows = group_rows()
    assert images.shape == (len(rows), SIZE, SIZE, 3)
    assert list(zip(meta["split"], meta["y"], meta["a"], strict=True)) == rows
    assert meta["filename"].iloc[0] == "000001.jpg"
    for i in range(len(rows)):
        assert np.abs(images[i].reshape(-1, 3).mean(0) - colour_of(i)).max() < 3
    assert json.loads((out / "counts.json").read_text())["splits"] == counts


def test_kaggle_csv_format_gives_the_same_dataset(prepared: dict) -> None:
    raw, out, _ = prepared["kaggle"]
    assert (raw / "img_align_celeba" / "img_align_celeba" / "000001.jpg").is_file()
    _, txt_out, _ = prepared["txt"]
    assert np.array_equal(np.load(out / "images.npy"), np.load(txt_out / "images.npy"))
    pd.testing.assert_frame_equal(pd.read_csv(out / "metadata.csv"), pd.read_csv(txt_out / "metadata.csv"))


def test_attributes_found_by_name(prepared: dict, tmp_path: Path) -> None:
    raw, out, counts = prepared["kaggle"]
    attr = pd.read_csv(raw / "list_attr_celeba.csv")
    attr[["image_id", *attr.columns[:0:-1]]].to_csv(tmp_path / "list_attr_celeba.csv", index=False)  # reversed
    (tmp_path / "list_eval_partition.csv").write_text((raw / "list_eval_partition.csv").read_text())
    (tmp_path / "img_align_celeba").symlink_to(raw / "img_align_celeba" / "img_align_celeba")
    celeba.prepare(tmp_path, tmp_path / "out", image_size=SIZE, expected_counts=counts)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "out" / "metadata.csv"), pd.read_csv(out / "metadata.csv"))


def test_missing_and_broken_lists(prepared: dict, tmp_path: Path) -> None:
    raw, _, counts = prepared["txt"]
    with pytest.raises(DataError, match=r"list_attr_celeba\.txt, .*list_attr_celeba\.csv"):
        celeba.prepare(tmp_path, tmp_path / "out")
    lines = (raw / "list_attr_celeba.txt").read_text().splitlines()
    (tmp_path / "list_attr_celeba.txt").write_text("\n".join(lines[:-2]) + "\n")  # truncated download
    (tmp_path / "list_eval_partition.txt").write_text((raw / "list_eval_partition.txt").read_text())
    (tmp_path / "img_align_celeba").symlink_to(raw / "img_align_celeba")
    with pytest.raises(DataError, match="truncated"):
        celeba.prepare(tmp_path, tmp_path / "out", expected_counts=counts)
    (tmp_path / "list_attr_celeba.txt").write_text("\n".join([str(len(lines) - 4), *lines[1:-2]]) + "\n")
    with pytest.raises(DataError, match="only one of the attribute and partition lists"):
        celeba.prepare(tmp_path, tmp_path / "out", expected_counts=counts)


def test_published_counts_reject_the_fixture(prepared: dict, tmp_path: Path) -> None:
    raw, _, _ = prepared["txt"]
    with pytest.raises(DataError, match=r"test \(y,a\)=\(1,1\): expected 180, found 2"):
        celeba.prepare(raw, tmp_path / "out", image_size=SIZE)
    assert not (tmp_path / "out" / "counts.json").exists()


def test_corrupt_jpeg(prepared: dict, tmp_path: Path) -> None:
    raw, _, counts = prepared["txt"]
    for name in ("list_attr_celeba.txt", "list_eval_partition.txt"):
        (tmp_path / name).write_text((raw / name).read_text())
    (tmp_path / "img_align_celeba").mkdir()
    for jpg in (raw / "img_align_celeba").iterdir():
        (tmp_path / "img_align_celeba" / jpg.name).write_bytes(jpg.read_bytes())
    broken = tmp_path / "img_align_celeba" / "000007.jpg"
    broken.write_bytes(broken.read_bytes()[: broken.stat().st_size // 3])
    with pytest.raises(DataError, match=r"000007\.jpg cannot be decoded"):
        celeba.prepare(tmp_path, tmp_path / "out", image_size=SIZE, expected_counts=counts)
    assert not (tmp_path / "out" / "counts.json").exists() and not (tmp_path / "out" / "images.npy").exists()
