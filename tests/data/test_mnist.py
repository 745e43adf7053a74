"""MNIST fetching (mirror path, real files), verification and IDX parsing."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

from gerne.data import download, mnist
from gerne.data.download import md5_of
from gerne.data.mnist import MIRROR_ENV, MNIST_FILES, fetch_mnist, load_mnist, read_idx
from gerne.errors import DataError

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
SMALL = ["train-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


def _copy_mirror(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for name in MNIST_FILES:
        shutil.copyfile(src / name, dst / name)
    return dst


def test_real_files_verify(mnist_raw: Path) -> None:
    for name, md5 in MNIST_FILES.items():
        assert md5_of(mnist_raw / name, decompress_gzip=True) == md5
    assert sorted(p.name for p in mnist_raw.iterdir()) == sorted(MNIST_FILES)


def test_fetch_from_env_mirror(mnist_mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MIRROR_ENV, str(mnist_mirror))
    paths = fetch_mnist(tmp_path)
    assert set(paths) == set(MNIST_FILES)
    assert all(p.parent == tmp_path and p.is_file() for p in paths.values())


@pytest.mark.parametrize("how", ["garbage", "altered_payload"])
def test_corrupt_mirror_file_refused(mnist_mirror: Path, tmp_path: Path, how: str) -> None:
    mirror = _copy_mirror(mnist_mirror, tmp_path / "mirror")
    victim = mirror / "t10k-labels-idx1-ubyte.gz"
    if how == "garbage":
        victim.write_bytes(b"\x00" * 100)
    else:  # a valid gzip whose content differs by one byte
        raw = bytearray(gzip.decompress(victim.read_bytes()))
        raw[100] ^= 1
        victim.write_bytes(gzip.compress(bytes(raw)))
    dest = tmp_path / "dest"
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz.*corrupt") as info:
        fetch_mnist(dest, mirror=mirror)
    assert MIRROR_ENV in str(info.value)
    assert not (dest / victim.name).exists()
    assert not [p for p in dest.iterdir() if p.name.startswith(".")]  # no temp files left behind


def test_missing_mirror_file_names_path(mnist_mirror: Path, tmp_path: Path) -> None:
    mirror = _copy_mirror(mnist_mirror, tmp_path / "mirror")
    (mirror / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="missing") as info:
        fetch_mnist(tmp_path / "dest", mirror=mirror)
    assert str(mirror / "train-labels-idx1-ubyte.gz") in str(info.value)


def test_no_mirror_no_network_names_both_fixes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    monkeypatch.setattr(mnist, "MNIST_MIRRORS", ["http://127.0.0.1:9/"])
    monkeypatch.setattr(download, "RETRY_BACKOFF_S", 0.0)
    with pytest.raises(DataError) as info:
        fetch_mnist(tmp_path)
    message = str(info.value)
    assert MIRROR_ENV in message and "local.yaml" in message
    assert "internet" in message and "127.0.0.1:9" in message
    assert not any(tmp_path.iterdir())


def test_labels_and_shapes(mnist_arrays) -> None:
    train_x, train_y, test_x, test_y = mnist_arrays
    assert train_x.shape == (60000, 28, 28) and train_x.dtype == np.uint8
    assert test_x.shape == (10000, 28, 28) and test_x.dtype == np.uint8
    assert train_y.dtype == np.int64 and test_y.dtype == np.int64
    assert np.bincount(train_y).tolist() == TRAIN_COUNTS
    assert np.bincount(test_y).tolist() == TEST_COUNTS
    assert train_x.max() == 255 and train_x.min() == 0


def test_read_idx_labels(mnist_raw: Path) -> None:
    labels = read_idx(mnist_raw / SMALL[1])
    assert labels.shape == (10000,) and labels.dtype == np.uint8


@pytest.mark.parametrize(
    "content, match",
    [
        (b"\x00\x00\x08\x04" + b"\x00" * 20, "magic"),  # wrong magic (2052)
        (b"\x00\x00\x08\x01" + (10).to_bytes(4, "big") + b"\x01" * 5, "truncated"),  # 5 of 10 labels
        (b"\x00\x00\x08\x03" + (2).to_bytes(4, "big"), "truncated"),  # header cut short
        (b"\x00\x00", "magic"),
    ],
)
def test_read_idx_rejects_bad_files(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "bad-idx.gz"
    path.write_bytes(gzip.compress(content))
    with pytest.raises(DataError, match=match):
        read_idx(path)


def test_read_idx_rejects_broken_gzip(mnist_raw: Path, tmp_path: Path) -> None:
    path = tmp_path / SMALL[0]
    path.write_bytes((mnist_raw / SMALL[0]).read_bytes()[:5000])
    with pytest.raises(DataError, match="corrupt"):
        read_idx(path)


def test_load_mnist_missing_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=f"fetch_mnist.*{MIRROR_ENV}"):
        load_mnist(tmp_path)


# ------------------------------------------------------------- corrupt gzip files: which file, why, and the fix

def _corruptions(good: bytes) -> dict[str, tuple[bytes, str]]:
    """Real damaged versions of a gzipped MNIST file and the reason the message must give."""
    flipped = bytearray(good)
    flipped[500] ^= 0xFF  # inside the deflate stream
    return {
        "truncated": (good[: len(good) // 2], "truncated"),
        "decompressed": (gzip.decompress(good), "not a gzip file"),  # gunzipped but still named .gz
        "html": (b"<!DOCTYPE html><html><body>404 Not Found</body></html>", "not a gzip file"),
        "flipped": (bytes(flipped), "damaged bytes inside its gzip stream"),
        "empty": (b"", "empty"),
    }


@pytest.mark.parametrize("how", ["truncated", "decompressed", "html", "flipped", "empty"])
def test_read_idx_says_why_a_gzip_is_unreadable(mnist_raw: Path, tmp_path: Path, how: str) -> None:
    good = (mnist_raw / SMALL[1]).read_bytes()
    content, why = _corruptions(good)[how]
    path = tmp_path / SMALL[1]
    path.write_bytes(content)
    with pytest.raises(DataError) as info:
        read_idx(path)
    msg = str(info.value)
    assert str(path) in msg and why in msg
    assert "delete it and fetch MNIST again" in msg and MIRROR_ENV in msg
    assert not isinstance(info.value.__cause__, (AttributeError, TypeError))


def test_html_page_is_recognised(tmp_path: Path) -> None:
    path = tmp_path / SMALL[0]
    path.write_bytes(b"<html><head><title>Access denied</title></head></html>")
    with pytest.raises(DataError, match="looks like an HTML page"):
        read_idx(path)


def test_load_mnist_names_the_corrupt_file(mnist_raw: Path, tmp_path: Path) -> None:
    raw = _copy_mirror(mnist_raw, tmp_path / "raw")
    victim = raw / "train-labels-idx1-ubyte.gz"
    victim.write_bytes(victim.read_bytes()[:3000])
    with pytest.raises(DataError, match=rf"{victim.name}: truncated") as info:
        load_mnist(raw)
    assert str(victim) in str(info.value)


@pytest.mark.parametrize("how", ["truncated", "decompressed", "flipped"])
def test_corrupt_file_in_dest_is_replaced_from_the_mirror(mnist_mirror: Path, tmp_path: Path, how: str) -> None:
    dest = _copy_mirror(mnist_mirror, tmp_path / "dest")
    victim = dest / SMALL[0]
    victim.write_bytes(_corruptions(victim.read_bytes())[how][0])
    fetch_mnist(dest, mirror=mnist_mirror)
    assert md5_of(victim, decompress_gzip=True) == MNIST_FILES[SMALL[0]]


@pytest.mark.parametrize("how", ["truncated", "decompressed", "html", "flipped"])
def test_corrupt_mirror_file_says_why_and_names_the_mirror(mnist_mirror: Path, tmp_path: Path, how: str) -> None:
    mirror = _copy_mirror(mnist_mirror, tmp_path / "mirror")
    victim = mirror / SMALL[1]
    content, why = _corruptions(victim.read_bytes())[how]
    victim.write_bytes(content)
    with pytest.raises(DataError) as info:
        fetch_mnist(tmp_path / "dest", mirror=mirror)
    msg = str(info.value)
    assert f"{victim.name} from {victim} is corrupt: {why}" in msg
    assert "Replace it with an intact copy" in msg and MIRROR_ENV in msg
