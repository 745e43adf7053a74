"""Fixtures for the data tests: the real MNIST files (offline copy) and one C-MNIST build per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from gerne.data.cmnist import build_cmnist
from gerne.data.mnist import fetch_mnist, load_mnist
from tests.helpers import scratch

CMNIST_RATIO_PERCENT = 0.5


@pytest.fixture(scope="session")
def mnist_raw(mnist_mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The MNIST files fetched (and verified) through the mirror code path."""
    raw = tmp_path_factory.mktemp("mnist_raw")
    fetch_mnist(raw, mirror=mnist_mirror)
    return raw


@pytest.fixture(scope="session")
def mnist_arrays(mnist_raw: Path):
    """``(train_x, train_y, test_x, test_y)`` of the real MNIST files."""
    return load_mnist(mnist_raw)


@pytest.fixture(scope="package")
def cmnist_built(mnist_raw: Path, tmp_path_factory: pytest.TempPathFactory):
    """``(out_dir, counts)`` of one full C-MNIST build at 0.5% conflicting, seed 0 (160 MB, removed after the data
    tests)."""
    for out in scratch(tmp_path_factory, "cmnist"):
        yield out, build_cmnist(mnist_raw, out, ratio_percent=CMNIST_RATIO_PERCENT, seed=0)
