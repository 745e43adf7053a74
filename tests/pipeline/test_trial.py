"""`gerne trial`'s overrides are applied as `dvc exp run -S` applies them (YAML values, dotted keys)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gerne.errors import ConfigError
from pipeline.trial import apply_overrides, planned
from tests.conftest import REPO


def test_overrides_set_nested_values_parsed_as_yaml() -> None:
    data = {"studies": {"tables": {"mine": {"rows": ["yes_yes"]}}}, "datasets": {"mine": {"lr": 0.1}}}
    out = apply_overrides(data, ["studies.tables.mine.rows=[yes_yes, erm]", "datasets.mine.lr=1.0e-3",
                                 "datasets.mine_6px.prepare={image_size: 6}"])
    assert out["studies"]["tables"]["mine"]["rows"] == ["yes_yes", "erm"]
    assert out["datasets"]["mine"]["lr"] == 1.0e-3 and out["datasets"]["mine_6px"]["prepare"] == {"image_size": 6}


@pytest.mark.parametrize(("override", "message"), [
    ("datasets.mine.lr", "key.path=value"),
    ("=3", "key.path=value"),
    ("datasets.mine.lr.x=3", "datasets.mine.lr is not a section"),
])
def test_malformed_overrides_are_refused(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        apply_overrides({"datasets": {"mine": {"lr": 0.1}}}, [override])


def test_a_trial_queues_only_when_its_overrides_change_the_stage_list(tmp_path: Path) -> None:
    for name in ("params.yaml", "plan.yaml"):
        shutil.copy(REPO / name, tmp_path / name)
    committed = (tmp_path / "plan.yaml").read_text()
    assert planned(tmp_path, ["datasets.waterbirds.lr=1.0e-3", "datasets.cmnist.epochs=2"]) == (committed, False)
    text, changed = planned(tmp_path, ["studies.tables.table2.datasets=[waterbirds]"])
    assert changed and "sweep" in text and "waterbirds-yes_yes" in text
    with pytest.raises(ConfigError, match="did you mean 'waterbirds'"):
        planned(tmp_path, ["studies.tables.table2.datasets=[waterbird]"])
    assert (tmp_path / "plan.yaml").read_text() == committed  # nothing written
