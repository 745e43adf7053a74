"""A row's own protocol fields over its dataset's (DFA's Vanilla ERM on C-MNIST's data): what a run trains with,
and the combinations refused when params.yaml is read."""

from __future__ import annotations

import copy

import pytest
import yaml

from gerne.errors import ConfigError
from pipeline.config import parse_params
from pipeline.studies.protocols import protocol_for
from tests.conftest import REPO


def _params() -> dict:
    return yaml.safe_load((REPO / "params.yaml").read_text())


def test_the_vanilla_row_trains_dfas_recipe_on_cmnists_data() -> None:
    p = parse_params(_params())
    base, row = p.datasets["cmnist"], p.studies.rows["erm_vanilla"]
    vanilla = protocol_for(base, row)
    assert (vanilla.optimizer, vanilla.lr, vanilla.weight_decay) == ("adam", 1.0e-2, 0.0)
    assert (vanilla.batch_size, vanilla.batch_unit) == (256, "total")
    assert (vanilla.steps, vanilla.eval_every, vanilla.epochs) == (50000, 500, None)  # its budget replaces 65 epochs
    assert vanilla.model_options == {"hidden": [100, 100, 16]}
    assert (vanilla.kind, vanilla.prepare, vanilla.oracle_metric) == (base.kind, base.prepare, base.oracle_metric)
    assert protocol_for(base, p.studies.rows["gerne_known"]) is base  # rows without fields: the dataset's own
    assert base.epochs == 65 and base.optimizer == "sgd"  # and the dataset is left as declared
    other = p.datasets["ccifar10"]
    assert protocol_for(other, row) is other  # no fields for C-CIFAR-10: its dataset's own protocol


def _refused(message: str, **row: object) -> None:
    data = copy.deepcopy(_params())
    data["studies"]["rows"]["trial"] = {"method": "erm", "groups": "none", "select": "val_gba", "search": "none",
                                        **row}
    data["studies"]["tables"]["table1"]["rows"].append("trial")
    with pytest.raises(ConfigError, match=message):
        parse_params(data)


@pytest.mark.parametrize(("row", "message"), [
    ({"protocol": {"cmnist": {"optimiser": "adam"}}},
     r"unknown protocol field 'optimiser' \(did you mean 'optimizer'\?\)"),
    ({"protocol": {"cmnist": {"oracle_metric": "test_wga"}}}, r"unknown protocol field 'oracle_metric'"),
    ({"protocol": {"cmnist": {"steps": 100}}}, r"trial on cmnist: its protocol fields \[.steps.\].*needs eval_every"),
    ({"protocol": {"cmnist": {"lr": -1.0}}}, r"lr: Input should be greater than 0"),
    ({"protocol": {"cmnist": {"optimizer": "lbfgs"}}}, r"optimizer: Input should be 'sgd', 'adam' or 'adamw'"),
    ({"method": "gerne", "config": {"c": 1.0, "beta": -1.0}, "protocol": {"cmnist": {"batch_unit": "total"}}},
     r"batch_unit 'total' is not one the method takes \(\['class', 'group'\]\)"),
])
def test_bad_row_protocols_are_refused(row: dict, message: str) -> None:
    _refused(message, **row)


@pytest.mark.parametrize(("row", "message"), [
    ({"protocol": {"cmnsit": {"lr": 1.0}}}, r"unknown dataset kind \(protocol fields are given per kind\) 'cmnsit' "
                                            r"\(did you mean 'cmnist'\?\)"),
])
def test_protocol_fields_are_given_per_dataset_kind(row: dict, message: str) -> None:
    _refused(message, **row)
