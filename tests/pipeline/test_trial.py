"""`gerne trial`'s overrides are applied as `dvc exp run -S` applies them (YAML values, dotted keys)."""

from __future__ import annotations

import pytest

from gerne.errors import ConfigError
from pipeline.trial import apply_overrides


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
