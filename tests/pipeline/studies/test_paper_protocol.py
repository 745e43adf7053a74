"""The paper's protocol: which grid point test-set selection picks and which seeds it still needs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from pipeline.studies.paper_protocol import best_on_test, extra_seeds, score


def _point(root: Path, name: str, oracle: float | None, val: float) -> dict:
    selections = {"best_val": {"metrics": {"test_gba": val}}}
    if oracle is not None:
        selections["oracle"] = {"metrics": {"test_gba": oracle}}
    (root / name).mkdir(parents=True)
    (root / name / "seed0.json").write_text(json.dumps({"selections": selections}))
    return {"name": name, "config": len(list(root.iterdir())) - 1}


def test_test_best_maximises_the_oracle_checkpoint_first_on_ties(tmp_path: Path) -> None:
    trained = [_point(tmp_path, "a", 0.70, 0.9), _point(tmp_path, "b", 0.80, 0.1), _point(tmp_path, "c", 0.80, 0.2),
               _point(tmp_path, "d", None, 0.99)]
    best = best_on_test(tmp_path, trained, 0, "test_gba")
    assert (best["name"], best["value"], best["metric"]) == ("b", 0.80, "test_gba")


def test_score_treats_missing_and_nan_as_minus_infinity() -> None:
    assert score({"selections": {}}, "oracle", "test_gba") == -math.inf
    assert score({"selections": {"oracle": {"metrics": {"test_gba": math.nan}}}}, "oracle", "test_gba") == -math.inf


def test_no_point_raises(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no trained grid point"):
        best_on_test(tmp_path, [], 0, "test_gba")


def test_extra_seeds_only_where_validation_chose_another_point() -> None:
    assert extra_seeds({"name": "p1"}, "p0", [0, 1, 2], 0) == [1, 2]
    assert extra_seeds({"name": "p1"}, "p1", [0, 1, 2], 0) == []
    assert extra_seeds({"name": "p1"}, "p0", [3, 0], 3) == [0]
