"""A toy C-MNIST 0.5 % project for the benchmarks that build a study's rows as the train stage does."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO


@pytest.fixture
def toy_study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """``make(rows, seeds)``: in ``tmp_path``, the committed params.yaml with the Table 1 study cut to ``rows`` on
    C-MNIST 0.5 % (1 epoch), a toy dataset in its folder and a reference model for the rows that start from one."""
    from gerne import layout
    from pipeline.config import parse_params
    from pipeline.studies.reference import train_reference
    from tests.helpers import toy_dataset

    def make(rows: list[str], seeds: list[int]) -> Path:
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
        data = copy.deepcopy(yaml.safe_load((REPO / "params.yaml").read_text()))
        data["studies"].update(seeds=seeds, device="cpu")
        data["datasets"]["cmnist"].update(epochs=1, eval_batch_size=64)
        data["studies"]["tables"]["table1"].update(datasets=["cmnist"], rows=rows)
        (tmp_path / "params.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
        toy = toy_dataset(tmp_path / "data/cmnist/r0.5", n_per_split=(300, 90, 90), conflicting=0.3, K=3, side=6)
        train_reference(parse_params(data), "cmnist", toy, layout.checkpoint("cmnist/r0.5"),
                        layout.reference_summary("cmnist/r0.5"))
        return tmp_path

    return make
