"""The dataset contract: refused when a dataset is written, and a prepared folder that breaks it (stale: prepared by
older code or from a table fixed since; edited by hand) refused when it is read, naming the prepare stage."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gerne.data.contract import contract_problems, load_tensor_dataset, write_tensor_dataset
from gerne.errors import DataError, PreparedDataError
from tests.helpers import toy_dataset, without_class_in_train

SMALL = (30, 9, 12)  # rows per split; y = row % 3, so val holds 3 rows of each class and test 4


def _edit(column: str, split: str, value: object) -> Callable[[Path], None]:
    """Set ``column`` of the first ``split`` row of metadata.csv to ``value``."""
    def edit(data: Path) -> None:
        meta = pd.read_csv(data / "metadata.csv")
        meta[column] = meta[column].astype(object)
        meta.loc[meta.index[meta["split"] == split][0], column] = value
        meta.to_csv(data / "metadata.csv", index=False)
    return edit


def _drop_test(data: Path) -> None:
    meta = pd.read_csv(data / "metadata.csv")
    meta[meta["split"] != "test"].to_csv(data / "metadata.csv", index=False)


@pytest.mark.parametrize(("damage", "problem"), [
    (without_class_in_train, r"class y = 2 never occurs in the train split \(only in val: 3 row\(s\), test: 4 "
                             r"row\(s\)\)"),
    (_edit("y", "train", 1), r"counts\.json records \d+ rows of split 'train' group \(y,a\)=\(0,\d\) but metadata\.csv"
                             r" holds \d+"),
    (_drop_test, r"split\(s\) \['test'\] hold no rows"),
    (_edit("y", "val", 7), r"class y = 7 \(split 'val', 1 row\(s\) out of range\) lies outside \[0, 3\)"),
    (_edit("a", "train", "red"), r"column 'a' must hold integer attribute indices, row 0 \(split 'train'\) holds "
                                 r"'red'"),
    (lambda data: (data / "counts.json").write_text("[3, 3]"), "unreadable metadata.csv or counts.json"),
], ids=["class_only_in_val_test", "counts_disagree", "empty_split", "label_out_of_range", "text_attribute",
        "counts_not_a_mapping"])
def test_stale_prepared_data_are_refused_naming_the_prepare_stage(tmp_path: Path, damage, problem: str) -> None:
    data = toy_dataset(tmp_path / "toy", n_per_split=SMALL)
    damage(data)
    with pytest.raises(PreparedDataError, match=problem) as err:
        load_tensor_dataset(data)
    assert str(err.value).startswith(f"{data} is stale or inconsistent prepared data: ")
    assert str(err.value).endswith(f"Prepare it again: `rm -r {data} && dvc repro` (the data stage rebuilds what is "
                                   "missing)")
    assert err.value.for_dataset("mine").startswith(f"{data} (mine) is stale")


def test_a_dataset_breaking_the_contract_is_never_written(tmp_path: Path) -> None:
    meta = pd.DataFrame({"id": range(6), "split": ["train", "train", "val", "val", "test", "test"],
                         "y": [0, 0, 0, 1, 0, 1], "a": [0, 1, 0, 1, 1, 0]})
    images = np.zeros((6, 2, 2, 3), dtype=np.uint8)
    with pytest.raises(DataError, match=r"class y = 1 never occurs in the train split \(only in val: 1 row\(s\), "
                                        r"test: 1 row\(s\)\)"):
        write_tensor_dataset(tmp_path / "out", images, meta, num_classes=2, num_attributes=2)
    assert not (tmp_path / "out").exists()


def test_contract_problems_lists_every_gap() -> None:
    meta = pd.DataFrame({"split": ["train", "train", "val", "test"], "y": [0, 0, 1, 3], "a": [0, 0, 1, 2]})
    assert contract_problems(meta, 4, 3) == [
        "class y = 1 never occurs in the train split (only in val: 1 row(s))",
        "class y = 2 never occurs in the train split (nor in any split: number the classes 0..3 without gaps)",
        "class y = 3 never occurs in the train split (only in test: 1 row(s))",
    ]
    assert contract_problems(meta, 4, 3, every_attribute=True)[3:] == [  # kind own: attributes too
        "attribute a = 1 never occurs in the train split (only in val: 1 row(s))",
        "attribute a = 2 never occurs in the train split (only in test: 1 row(s))",
    ]
    assert contract_problems(meta.assign(y=0), 1, 3) == []  # attributes train lacks are fine for a release kind
