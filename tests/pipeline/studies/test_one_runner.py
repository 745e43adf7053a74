"""One runner for both protocols: a declared dataset with an epoch budget and a fixed row (`search: none`) trains
exactly what the C-MNIST Table 1 runner trains for the same setting: the same history, epoch by epoch, and the same
three selections (measured on the real 0.5 % cell too: 65 epochs, every metric equal)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from pipeline.config import parse_params
from pipeline.runs.train import train_runs
from pipeline.studies import stages
from tests.conftest import REPO
from tests.helpers import toy_dataset

EPOCHS = 3
SETTINGS = {  # C-MNIST setting -> the declared row that means the same
    "erm": {"groups": "none", "config": {"c": 1.0, "beta": -1.0}},
    "resample": {"groups": "known", "config": {"c": 1.0, "beta": 0.0}},
    "gerne_known": {"groups": "known", "config": {"c": 0.5, "beta": 1.0}},
}


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_declared_epoch_rows_train_what_the_table1_runner_trains(setting: str, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    data = toy_dataset(tmp_path / "toy")
    design = copy.deepcopy(yaml.safe_load((REPO / "params.yaml").read_text()))
    design["train"].update(epochs=EPOCHS, seeds=[0], device="cpu")
    t = design["train"]
    design["datasets"]["toy"] = {
        "kind": "own", "root": "unused", "prepare": {}, "model": design["model"]["name"],
        "model_options": {"hidden": design["model"]["hidden"]}, "epochs": EPOCHS, "lr": t["lr"],
        "weight_decay": t["weight_decay"], "momentum": t["momentum"], "batch_size": t["batch_size"], "c": 0.5,
        "eval_batch_size": 8192, "precision": t["precision"], "oracle_metric": "test_gba"}
    design["studies"].update(seeds=[0], device="cpu")
    design["studies"]["rows"]["same"] = {"method": "gerne", "select": "val_gba", "search": "none",
                                         **SETTINGS[setting]}
    p = parse_params(design)

    (table1,) = train_runs(p, data, 0.5, setting, tmp_path / "table1", seeds=[0])
    stages.search(p, "toy", "same", data, tmp_path / "sweep", tmp_path / "declared")
    declared = json.loads((tmp_path / "declared" / "seed0.json").read_text())

    assert len(table1["history"]) == EPOCHS
    assert declared["history"] == table1["history"]  # every loss and metric of every epoch, bit for bit
    assert declared["selections"] == table1["selections"]
    assert declared["steps_per_epoch"] == table1["steps_per_epoch"]
