"""Shared fixtures: the real MNIST files (the offline copy in ../shared, used through the mirror code path)."""

from __future__ import annotations

import os
from pathlib import Path

if os.environ.get("PYTEST_XDIST_WORKER"):  # two workers on two cores: one torch thread each, here and in the
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # stages they start (two threads each would spin against the
    # other worker's and slow both several-fold); numbers tests compare are taken at one thread count either way

import pytest

from gerne.data.mnist import MNIST_FILES

REPO = Path(__file__).resolve().parents[1]
MNIST_SHARED = Path(os.environ.get("GERNE_MNIST_MIRROR") or REPO.parent / "shared" / "data" / "mnist")


@pytest.fixture(scope="session")
def mnist_mirror() -> Path:
    """Directory holding the four real MNIST .gz files; a missing copy is a test failure, not a skip."""
    missing = [name for name in MNIST_FILES if not (MNIST_SHARED / name).is_file()]
    if missing:
        pytest.fail(f"offline MNIST copy incomplete at {MNIST_SHARED} (missing {missing}); the tests need the real "
                    "files: set GERNE_MNIST_MIRROR to a directory holding them")
    return MNIST_SHARED
