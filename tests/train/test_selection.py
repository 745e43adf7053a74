"""Selection rules: the loop's incremental choice equals each rule applied to the whole history."""

from __future__ import annotations

import math

import pytest

from gerne.errors import ConfigError
from gerne.train.loop import LoopConfig
from gerne.train.selection import RULES, better, choose
from tests.train.test_loop import _fit, splits  # noqa: F401  (module fixture)

HISTORY = [{"epoch": 1, "val_gba": 0.5, "test_gba": 0.9}, {"epoch": 2, "val_gba": math.nan, "test_gba": 0.7},
           {"epoch": 3, "val_gba": 0.8, "test_gba": 0.9}, {"epoch": 4, "val_gba": 0.8, "test_gba": 0.1}]


@pytest.mark.parametrize("name", sorted(RULES))
def test_loop_agrees_with_the_rule(name: str, splits) -> None:  # noqa: F811
    result = _fit(splits, epochs=5)
    cfg = LoopConfig(epochs=5, lr=0.05)
    assert result.selections[name]["epoch"] == choose(name, result.history, cfg)
    assert (name in result.states) == RULES[name].keep_state


def test_rules_on_a_known_history() -> None:
    cfg = LoopConfig(epochs=4, lr=0.1)
    assert choose("last", HISTORY, cfg) == 4
    assert choose("best_val", HISTORY, cfg) == 3  # NaN never wins; ties keep the earliest
    assert choose("oracle", HISTORY, cfg) == 1
    assert choose("best_val", [{"epoch": 1, "val_gba": math.nan}], cfg) is None
    assert better(0.1, math.nan) and not better(math.nan, 0.1) and not better(0.5, 0.5)
    with pytest.raises(ConfigError, match="unknown selection rule 'best'"):
        choose("best", HISTORY, cfg)
