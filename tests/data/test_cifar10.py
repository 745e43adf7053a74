"""CIFAR-10's python batches: read in the real layout, verified, and refused when broken, tampered or missing."""

from __future__ import annotations

import hashlib
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest

from gerne.data import cifar10
from gerne.data.fetch import fetch_sources
from gerne.data.sources import Source
from gerne.errors import DataError
from tests.data.fixtures import cifar10_release, tar_folder


def test_batches_read_as_nhwc_with_their_labels(tmp_path: Path) -> None:
    folder = cifar10_release(tmp_path, train_per_class=6, test_per_class=4)
    train_x, train_y, test_x, test_y = cifar10.load_cifar10(tmp_path)
    assert train_x.shape == (60, 32, 32, 3) and test_x.shape == (40, 32, 32, 3) and train_x.dtype == np.uint8
    assert np.bincount(train_y).tolist() == [6] * 10 and np.bincount(test_y).tolist() == [4] * 10
    first = pickle.loads((folder / "data_batch_1").read_bytes(), encoding="bytes")
    planes = first[b"data"][0].reshape(3, 32, 32)  # red, green, blue planes
    assert np.array_equal(train_x[0], planes.transpose(1, 2, 0)) and train_y[0] == first[b"labels"][0]


def test_a_tampered_batch_is_refused_not_run(tmp_path: Path) -> None:
    folder = cifar10_release(tmp_path, train_per_class=2, test_per_class=1)

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    (folder / "data_batch_3").write_bytes(pickle.dumps({b"data": Evil()}, protocol=2))
    with pytest.raises(DataError, match=r"data_batch_3 is not a CIFAR-10 batch .*refusing to load posix.system"):
        cifar10.load_cifar10(tmp_path)


@pytest.mark.parametrize("damage", ["truncate", "missing", "shape"])
def test_broken_batches_name_the_file_and_the_fix(tmp_path: Path, damage: str) -> None:
    folder = cifar10_release(tmp_path, train_per_class=2, test_per_class=1)
    path = folder / "test_batch"
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "missing":
        path.unlink()
    else:
        path.write_bytes(pickle.dumps({b"data": np.zeros((3, 10), np.uint8), b"labels": [0, 1, 2]}, protocol=2))
    with pytest.raises(DataError, match=r"test_batch.*fetch CIFAR-10 again"):
        cifar10.load_cifar10(tmp_path)


def test_canonical_checksums_refuse_other_batches(tmp_path: Path) -> None:
    folder = cifar10_release(tmp_path, train_per_class=2, test_per_class=1)
    with pytest.raises(DataError, match=r"data_batch_1 has MD5 .* not the release's c99cafc152244af753f735de768cd75f"):
        cifar10.verify_batches(tmp_path)
    own = {name: hashlib.md5((folder / name).read_bytes()).hexdigest() for name in cifar10.BATCHES}
    assert cifar10.verify_batches(tmp_path, own) == {name: f"md5:{md5}" for name, md5 in own.items()}


def test_the_archive_through_a_mirror_is_verified_and_extracted(tmp_path: Path) -> None:
    release = tmp_path / "release"
    cifar10_release(release, train_per_class=2, test_per_class=1)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    archive = tar_folder(release / "cifar-10-batches-py", mirror / cifar10.ARCHIVE.name)
    with tarfile.open(archive) as tar:
        assert tar.getnames()[0] == "cifar-10-batches-py"
    with pytest.raises(DataError, match="c58f30108f718f92721af3b95e74349a"):  # the canonical archive's MD5
        fetch_sources([cifar10.ARCHIVE], tmp_path / "raw", mirror)
    assert not (tmp_path / "raw" / "cifar-10-python").exists()
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    fetch_sources([Source(cifar10.ARCHIVE.name, md5=md5, extract=True)], tmp_path / "raw", mirror)
    assert cifar10.batch_dir(tmp_path / "raw") == tmp_path / "raw" / "cifar-10-python" / "cifar-10-batches-py"
    assert len(cifar10.load_cifar10(tmp_path / "raw")[1]) == 20


def test_a_corrupted_archive_is_refused_and_deleted(tmp_path: Path) -> None:
    release, mirror = tmp_path / "release", tmp_path / "mirror"
    cifar10_release(release, train_per_class=2, test_per_class=1)
    mirror.mkdir()
    archive = tar_folder(release / "cifar-10-batches-py", mirror / cifar10.ARCHIVE.name)
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])  # cut off mid-stream
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()  # the checksum passes: extraction must catch it
    with pytest.raises(DataError, match=r"cifar-10-python.tar.gz.*was deleted"):
        fetch_sources([Source(cifar10.ARCHIVE.name, md5=md5, extract=True)], tmp_path / "raw", mirror)
    assert not (tmp_path / "raw" / cifar10.ARCHIVE.name).exists()
    assert not (tmp_path / "raw" / "cifar-10-python").exists()
