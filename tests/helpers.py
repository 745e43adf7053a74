"""Small real datasets in the on-disk contract, for fast tests of training and stages."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gerne.data.contract import write_tensor_dataset


def toy_dataset(out_dir: Path, n_per_split: tuple[int, int, int] = (600, 150, 300), conflicting: float = 0.05,
                seed: int = 0, K: int = 3, side: int = 6) -> Path:
    """A K-class colour-biased dataset (K×K groups) of ``side``×``side`` images: the label is drawn in a stripe, the
    colour is the bias (``side`` = 28 gives C-MNIST-sized inputs; the stripes need ``side`` ≥ 2K)."""
    rng = np.random.default_rng(seed)
    frames, images = [], []
    for split, n, share in zip(("train", "val", "test"), n_per_split, (conflicting, conflicting, 1 - 1 / K),
                               strict=True):
        y = np.arange(n) % K
        a = np.where(rng.random(n) < share, (y + rng.integers(1, K, n)) % K, y)
        img = np.zeros((n, side, side, 3), dtype=np.uint8)
        for i in range(n):
            img[i, y[i] * 2 : y[i] * 2 + 2, :, a[i] % 3] = 200 + rng.integers(0, 50)
        img += rng.integers(0, 30, img.shape, dtype=np.uint8)
        images.append(img)
        frames.append(pd.DataFrame({"split": split, "y": y, "a": a}))
    meta = pd.concat(frames, ignore_index=True)
    meta.insert(0, "id", np.arange(len(meta)))
    write_tensor_dataset(out_dir, np.concatenate(images), meta, num_classes=K, num_attributes=K)
    return out_dir


def without_class_in_train(data_dir: Path, cls: int = 2) -> Path:
    """Make a prepared dataset stale: its training rows of class ``cls`` relabelled 0 and counts.json rewritten to
    match, so ``cls`` is only in val and test (what `prepare` wrote from such a table before it checked the
    contract)."""
    import json

    from gerne.data.contract import split_counts

    meta = pd.read_csv(data_dir / "metadata.csv")
    meta.loc[(meta["split"] == "train") & (meta["y"] == cls), "y"] = 0
    meta.to_csv(data_dir / "metadata.csv", index=False)
    info = json.loads((data_dir / "counts.json").read_text())
    info["splits"] = split_counts(meta, info["num_classes"], info["num_attributes"])
    (data_dir / "counts.json").write_text(json.dumps(info))
    return data_dir


def set_dotted(data: dict, **changes: object) -> dict:
    """``data`` (a params mapping) with dotted-key changes applied in place; a change to None deletes the key."""
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        node = data
        for part in parents:
            node = node[part]
        if value is None:
            node.pop(leaf)
        else:
            node[leaf] = value
    return data


def scratch(factory: pytest.TempPathFactory, name: str) -> Iterator[Path]:
    """A temp directory for a module- or package-scoped fixture (``yield from scratch(...)``), removed when the
    fixture ends: the clones and datasets of the integration tests are hundreds of MB each, and a CI disk must not
    hold them all at once (function-scoped ``tmp_path`` dirs go when their test passes: pyproject's retention
    policy)."""
    path = factory.mktemp(name)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def store_runs(db: Path, experiment: str = "cmnist") -> list:
    """Runs of ``experiment`` in the SQLite store ``db``, read under the store's lock as the stages take it.

    A client opening a fresh store while a stage creates it would migrate the schema beside the stage's own
    migration; the lock (``gerne.store.store_lock``) makes the reader wait until the store exists whole.
    """
    from mlflow.tracking import MlflowClient

    from gerne.store import store_lock

    with store_lock(db):
        client = MlflowClient(tracking_uri=f"sqlite:///{db}")
        exp = client.get_experiment_by_name(experiment)
    return [] if exp is None else client.search_runs([exp.experiment_id])
