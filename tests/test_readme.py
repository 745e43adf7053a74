"""The README's params.yaml examples for declared datasets are valid params (documentation that cannot rot)."""

from __future__ import annotations

import copy
import re

import yaml

from pipeline.config import parse_params
from tests.conftest import REPO


def _blocks() -> list[dict]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    found = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", text, flags=re.S)]
    return [b for b in found if isinstance(b, dict) and ("datasets" in b or "studies" in b)]


def _merge(base: dict, extra: dict) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def test_declared_dataset_examples_validate() -> None:
    blocks = _blocks()
    assert len(blocks) >= 3  # switching Table 2 on, C-MNIST as a kind, your own dataset
    for block in blocks:
        params = copy.deepcopy(yaml.safe_load((REPO / "params.yaml").read_text()))
        _merge(params, block)
        parse_params(params)  # raises ConfigError naming the key if the example went stale
