"""Every search space: deterministic, JSON-safe points, stable when the search is extended, refused when unknown."""

from __future__ import annotations

import copy
import json

import pytest
import yaml

from gerne.errors import ConfigError
from pipeline.config import parse_params
from pipeline.spaces import SPACES, points
from tests.conftest import REPO

TARGETS = {"grid": "unknown", "random": "waterbirds"}


def _params(size: int):
    data = copy.deepcopy(yaml.safe_load((REPO / "params.yaml").read_text()))
    data["studies"]["search"]["configs"] = size
    data["sweep"]["unknown"]["beta"] = data["sweep"]["unknown"]["beta"][:size]
    return parse_params(data)


@pytest.mark.parametrize("space", sorted(SPACES))
def test_contract(space: str) -> None:
    if space not in TARGETS:
        pytest.fail(f"search space '{space}' has no target here: add one to TARGETS")
    small, large = points(space, _params(2), TARGETS[space]), points(space, _params(4), TARGETS[space])
    assert small == points(space, _params(2), TARGETS[space])  # deterministic
    assert json.loads(json.dumps(large)) == large and all(isinstance(p, dict) and p for p in large)
    assert all(p in large for p in small) and len(large) > len(small)  # extending keeps what was tried


def test_spaces_match_the_papers_protocols() -> None:
    p = parse_params(yaml.safe_load((REPO / "params.yaml").read_text()))
    assert len(points("grid", p, "known")) == 2 * 5 and len(points("grid", p, "unknown")) == 5 * 1 * 5
    random = points("random", p, "waterbirds")
    assert len(random) == 16 and random[0]["lr"] == p.datasets["waterbirds"].lr  # config 0 = the paper's values
    with pytest.raises(ConfigError, match="unknown search space 'grd'"):
        points("grd", p, "known")
    with pytest.raises(ConfigError, match="declared dataset"):
        points("random", p, "known")
