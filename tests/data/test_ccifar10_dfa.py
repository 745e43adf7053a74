"""C-CIFAR-10 from DFA's release (kind ccifar10_dfa): its folder tree read through the shared DFA reader, one ratio's
folders at a time, and reported in the same Table 1 column as the built kind."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gerne.data import ccifar10_dfa
from gerne.data.registry import get_dataset
from gerne.errors import ConfigError, DataError
from tests.data.fixtures import cifar10c_release


def test_one_ratio_of_the_release_in_the_contract(tmp_path: Path) -> None:
    _, counts = cifar10c_release(tmp_path)
    done = ccifar10_dfa.prepare(tmp_path, tmp_path / "out", ratio=5.0, expected_counts=counts, workers=1)
    assert done.counts == counts and sum(counts["test"].values()) == 100
    assert np.load(tmp_path / "out" / "images.npy").shape == (100 + 40 + 40, 32, 32, 3)
    with pytest.raises(DataError, match="no cifar10c/ release folder holding 1pct/"):
        ccifar10_dfa.prepare(tmp_path, tmp_path / "out1", ratio=1.0)
    with pytest.raises(ConfigError, match=r"ratios \[0.5, 1.0, 2.0, 5.0\]"):
        ccifar10_dfa.prepare(tmp_path, tmp_path / "out3", ratio=3.0)


def test_a_conflicting_file_with_an_aligned_name_is_refused(tmp_path: Path) -> None:
    folder, _ = cifar10c_release(tmp_path)
    bad = next((folder / "5pct/conflict/4").iterdir())
    bad.rename(bad.with_name("999_4_4.png"))
    with pytest.raises(DataError, match=r"999_4_4\.png: a file in conflict/ with label 4 and bias 4"):
        ccifar10_dfa.prepare(tmp_path, tmp_path / "out", ratio=5.0)
    assert not (tmp_path / "out" / "counts.json").exists()


def test_it_is_table_1s_c_cifar_10_column() -> None:
    entry = get_dataset("ccifar10_dfa")
    assert entry.benchmark == "ccifar10" and entry.minority_percent(ratio=2.0) == 2.0
    assert get_dataset("ccifar10").benchmark == "ccifar10" and get_dataset("bffhq").benchmark == "bffhq"
