"""The subpop section is validated with the rest of params.yaml."""

from __future__ import annotations

import copy

import pytest
import yaml

from gerne.errors import ConfigError
from pipeline.config import load_params, parse_params
from tests.conftest import REPO


def _params() -> dict:
    return yaml.safe_load((REPO / "params.yaml").read_text())


def test_default_params_keep_datasets2_off() -> None:
    p = load_params(REPO / "params.yaml")
    assert p.subpop is not None and p.subpop.datasets == [] and p.subpop.table3.datasets == []
    assert p.subpop.protocol["waterbirds"].steps == 5001 and p.subpop.protocol["celeba"].eval_every == 1000
    assert p.subpop.protocol["civilcomments"].model == "bert"


@pytest.mark.parametrize(("edit", "message"), [
    (lambda s: s.update(datasets=["waterbird"]), "waterbird"),
    (lambda s: s["protocol"]["waterbirds"].update(eval_every=9000), "eval_every"),
    (lambda s: s["protocol"]["waterbirds"].update(c=1.5), "c"),
    (lambda s: s["table3"].update(datasets=["celeba"]), "not in subpop.datasets"),
    (lambda s: s["search"].update(t=[0.2, 0.9]), "0.5"),
    (lambda s: s["protocol"]["celeba"].update(stpes=3), "stpes"),
])
def test_bad_subpop_values_are_refused(edit, message: str) -> None:
    data = copy.deepcopy(_params())
    edit(data["subpop"])
    with pytest.raises(ConfigError, match=message):
        parse_params(data)
