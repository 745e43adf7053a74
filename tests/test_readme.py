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


def test_the_own_loop_snippet_runs_as_written() -> None:
    """The README's `gerne.loop` snippet, run on a toy set with the names it assumes defined."""
    import torch
    from torch.utils.data import TensorDataset

    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Use GERNE in your own training loop", 1)[1].split("\n## ", 1)[0]
    (snippet,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    torch.manual_seed(0)
    labels = torch.arange(2).repeat_interleave(50)
    attributes = (torch.arange(100) % 10 == 0).long()
    model = torch.nn.Linear(3, 2)
    scope = {"labels": labels, "attributes": attributes, "train_set": TensorDataset(torch.randn(100, 3), labels),
             "model": model, "optimizer": torch.optim.SGD(model.parameters(), lr=0.1)}
    exec(snippet, scope)
    assert scope["criterion"].last is not None and len(scope["sampler"]) == 4  # ⌈100 / (2·16)⌉ steps ran
