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


# The longest test modules (measured: 200-400 s each on 2 cores), started first so that two workers finish together;
# then the other integration modules, then the rest. `make test` passes --no-loadscope-reorder, which makes
# pytest-xdist hand out modules in this order (its default starts the modules with the most tests first).
LONGEST = ("tests/pipeline/test_committed.py", "tests/pipeline/test_own_dataset.py", "tests/pipeline/test_smoke.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    integration = {i.nodeid.split("::")[0] for i in items if i.get_closest_marker("integration")}

    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::")[0]
        if path in LONGEST:
            return LONGEST.index(path)
        return len(LONGEST) + (0 if path in integration else 1)

    items.sort(key=rank)  # stable: the order inside each module is kept
