"""Group shares of a prepared dataset's training split (for β bounds outside a training run)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gerne.core.shares import group_shares
from gerne.data.contract import group_counts, load_metadata


def train_counts_and_shares(data_dir: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(K×A group counts, α of Eq. 2) of the training split of the dataset in ``data_dir``."""
    meta, K, A = load_metadata(data_dir)
    train = meta[meta["split"] == "train"]
    counts = group_counts(train["y"].to_numpy(), train["a"].to_numpy(), K, A)
    return counts, group_shares(counts)
