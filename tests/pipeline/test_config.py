"""params.yaml schema: the repository's file is valid, and every kind of mistake is a ConfigError naming the fix."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from gerne import ConfigError
from pipeline.config import Params, load_params, parse_params
from tests.conftest import REPO

PARAMS = REPO / "params.yaml"


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return yaml.safe_load(PARAMS.read_text(encoding="utf-8"))


def modified(raw: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(raw)


def error_of(data: Any) -> str:
    with pytest.raises(ConfigError) as info:
        parse_params(data, "params.yaml")
    return str(info.value)


# --------------------------------------------------------------------------------------------------- valid file

def test_repo_params_are_valid() -> None:
    p = load_params(PARAMS)
    assert isinstance(p, Params)
    assert p.cmnist.ratios == [0.5, 1.0, 2.0, 5.0]
    assert p.train.batch_unit in ("class", "group")
    for group in ("known", "unknown"):
        for name in getattr(p.run_settings, group):
            s = p.setting(name)
            assert (s.attributes == "pseudo") == (group == "unknown")
    assert p.setting("erm").beta == -1.0
    assert p.setting("resample").c == 1.0 and p.setting("resample").beta == 0.0
    assert p.setting("gerne_unknown").t in p.pseudo.thresholds


def test_parse_params_of_loaded_dict(raw: dict[str, Any]) -> None:
    assert parse_params(modified(raw)) == load_params(PARAMS)


def test_setting_and_ratio_lookups(raw: dict[str, Any]) -> None:
    p = parse_params(modified(raw))
    with pytest.raises(ConfigError, match="unknown setting 'nope'"):
        p.setting("nope")
    assert p.ratio(0.5) == 0.5
    with pytest.raises(ConfigError, match=r"ratio 3\.0"):
        p.ratio(3.0)


# --------------------------------------------------------------------------------------------------- keys

def test_unknown_top_level_key(raw: dict[str, Any]) -> None:
    d = modified(raw)
    d["modle"] = {"name": "mlp"}
    msg = error_of(d)
    assert "modle" in msg and "unknown key" in msg and "did you mean 'model'" in msg


def test_misspelled_setting_key(raw: dict[str, Any]) -> None:
    d = modified(raw)
    d["settings"]["gerne_known"]["bta"] = d["settings"]["gerne_known"].pop("beta")
    msg = error_of(d)
    assert "settings.gerne_known.bta" in msg and "did you mean 'beta'" in msg


def test_misspelled_train_key(raw: dict[str, Any]) -> None:
    d = modified(raw)
    d["train"]["epoch"] = d["train"].pop("epochs")
    msg = error_of(d)
    assert "train.epoch" in msg and "did you mean 'epochs'" in msg


def test_extra_key_kept_alongside_right_one(raw: dict[str, Any]) -> None:
    d = modified(raw)
    d["train"]["lr_decay"] = 0.1
    msg = error_of(d)
    assert "train.lr_decay" in msg and "unknown key" in msg


# --------------------------------------------------------------------------------------------------- values

@pytest.mark.parametrize("c", [0.0, 1.5, -0.5])
def test_c_out_of_range(raw: dict[str, Any], c: float) -> None:
    d = modified(raw)
    d["settings"]["gerne_known"]["c"] = c
    assert "settings.gerne_known.c" in error_of(d)


def test_t_out_of_range(raw: dict[str, Any]) -> None:
    d = modified(raw)
    d["settings"]["gerne_unknown"]["t"] = 1.5
    assert "settings.gerne_unknown.t" in error_of(d)


def test_threshold_out_of_range_absolute(raw: dict[str, Any]) -> None:
    d = modified(raw)
    d["pseudo"] = {"t_scale": "absolute", "thresholds": [1.0e-3, 1.5]}
    d["settings"]["gerne_unknown"]["t"] = 1.0e-3
    d["sweep"]["unknown"]["t"] = [1.0e-3]
    msg = error_of(d)
    assert "pseudo.thresholds [1.5] give a pseudo-minority share outside (0, 1)" in msg


def test_threshold_out_of_range_in_units_of_the_ratio(raw: dict[str, Any]) -> None:
    d = modified(raw)
    d["pseudo"]["thresholds"] = [*d["pseudo"]["thresholds"], 25.0]  # fine at 0.5-2 %, 1.25 of each class at 5 %
    assert "pseudo.thresholds [25.0] × 5.0 % (pseudo.t_scale: ratio)" in error_of(d)


def test_t_in_units_of_the_ratio() -> None:
    p = load_params(PARAMS)
    assert p.pseudo.t_scale == "ratio"
    at = {r: p.for_ratio(r) for r in p.cmnist.ratios}
    assert at[0.5].pseudo.thresholds == [5.0e-4, 1.0e-3, 3.0e-3, 5.0e-3, 1.0e-2]  # Fig. 3's grid, float for float
    assert at[5.0].pseudo.thresholds == [5.0e-3, 1.0e-2, 3.0e-2, 5.0e-2, 1.0e-1]
    assert at[2.0].setting("gerne_unknown").t == 0.02 and at[2.0].sweep.unknown.t == at[2.0].pseudo.thresholds
    assert at[2.0].for_ratio(2.0) is at[2.0] and at[2.0].pseudo.t_scale == "absolute"  # idempotent
    assert at[2.0].setting("gerne_known") == p.setting("gerne_known") and at[2.0].train == p.train


@pytest.mark.parametrize("ratio", [0.0, 150.0, -1.0, 100.0])
def test_ratio_out_of_range(raw: dict[str, Any], ratio: float) -> None:
    d = modified(raw)
    d["cmnist"]["ratios"] = [0.5, ratio]
    msg = error_of(d)
    assert "cmnist.ratios" in msg and "(0, 100)" in msg


def test_duplicate_ratios(raw: dict[str, Any]) -> None:
    d = modified(raw)
    d["cmnist"]["ratios"] = [0.5, 0.5]
    assert "distinct" in error_of(d)


@pytest.mark.parametrize(("section", "key"), [("train", "epochs"), ("biased", "epochs"), ("train", "batch_size")])
def test_non_positive_counts(raw: dict[str, Any], section: str, key: str) -> None:
    d = modified(raw)
    d[section][key] = -5
    msg = error_of(d)
    assert f"{section}.{key}" in msg and "greater than 0" in msg


def test_bad_batch_unit(raw: dict[str, Any]) -> None:
    d = modified(raw)
    d["train"]["batch_unit"] = "sample"
    assert "train.batch_unit" in error_of(d)


def test_run_settings_names_undefined_setting(raw: dict[str, Any]) -> None:
    d = modified(raw)
    d["run_settings"]["known"] = ["erm", "gerne_knwn"]
    msg = error_of(d)
    assert "gerne_knwn" in msg and "not defined under settings" in msg and "did you mean 'gerne_known'" in msg


def test_pseudo_setting_under_known(raw: dict[str, Any]) -> None:
    d = modified(raw)
    d["run_settings"]["known"].append("gerne_unknown")
    msg = error_of(d)
    assert "gerne_unknown" in msg and "run_settings.unknown" in msg


def test_known_setting_under_unknown(raw: dict[str, Any]) -> None:
    d = modified(raw)
    d["run_settings"]["unknown"].append("gerne_known")
    msg = error_of(d)
    assert "gerne_known" in msg and "run_settings.known" in msg


def test_setting_t_not_in_thresholds(raw: dict[str, Any]) -> None:
    d = modified(raw)
    d["settings"]["gerne_unknown"]["t"] = 2.0e-3
    msg = error_of(d)
    assert "settings.gerne_unknown.t" in msg and "pseudo.thresholds" in msg


def test_pseudo_setting_without_t(raw: dict[str, Any]) -> None:
    d = modified(raw)
    del d["settings"]["gerne_unknown"]["t"]
    assert "needs a threshold t" in error_of(d)


def test_t_on_known_setting(raw: dict[str, Any]) -> None:
    d = modified(raw)
    d["settings"]["gerne_known"]["t"] = 1.0e-3
    assert "t is only used with attributes: pseudo" in error_of(d)


def test_attributes_none_needs_beta_minus_one(raw: dict[str, Any]) -> None:
    d = modified(raw)
    d["settings"]["erm"]["beta"] = 0.0
    msg = error_of(d)
    assert "settings.erm" in msg and "beta = -1" in msg


def test_unknown_attributes_value(raw: dict[str, Any]) -> None:
    d = modified(raw)
    d["settings"]["erm"]["attributes"] = "oracle"
    assert "settings.erm.attributes" in error_of(d)


def test_non_finite_beta(raw: dict[str, Any]) -> None:
    d = modified(raw)
    d["settings"]["gerne_known"]["beta"] = float("inf")
    assert "settings.gerne_known.beta" in error_of(d)


def test_several_errors_listed_together(raw: dict[str, Any]) -> None:
    d = modified(raw)
    d["train"]["epochs"] = 0
    d["settings"]["gerne_known"]["c"] = 2.0
    msg = error_of(d)
    assert "train.epochs" in msg and "settings.gerne_known.c" in msg


def test_not_a_mapping() -> None:
    assert "mapping" in error_of([1, 2, 3])


# --------------------------------------------------------------------------------------------------- files

def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_params(tmp_path / "nope.yaml")


def test_load_invalid_yaml(tmp_path: Path) -> None:
    bad = tmp_path / "params.yaml"
    bad.write_text("cmnist: [0.5, 1.0\ntrain: {epochs: 3", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_params(bad)


def test_load_modified_file(tmp_path: Path, raw: dict[str, Any]) -> None:
    d = modified(raw)
    d["train"]["epochs"] = 3
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(d), encoding="utf-8")
    assert load_params(path).train.epochs == 3
    d["train"]["epoch"] = d["train"].pop("epochs")
    path.write_text(yaml.safe_dump(d), encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(str(path))):
        load_params(path)


def test_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "params.yaml"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping"):
        load_params(empty)


# --------------------------------------------------------------------------------------------------- model, device

def test_unknown_model_name_with_suggestion(raw: dict[str, Any]) -> None:
    d = modified(raw)
    d["model"]["name"] = "resnet5"
    msg = error_of(d)
    assert "model.name" in msg and "unknown model 'resnet5'" in msg and "did you mean 'resnet50'" in msg
    d["model"]["name"] = "vit"
    msg = error_of(d)
    assert "unknown model 'vit'" in msg and "available: bert, mlp, resnet18, resnet50" in msg


def test_every_registered_model_is_accepted(raw: dict[str, Any]) -> None:
    from gerne.models import MODELS

    for name in MODELS:
        d = modified(raw)
        d["model"]["name"] = name
        assert parse_params(d).model.name == name


@pytest.mark.parametrize("device", ["gpu", "cuda:", "tpu"])
def test_train_device_outside_the_allowed_names(raw: dict[str, Any], device: str) -> None:
    d = modified(raw)
    d["train"]["device"] = device
    msg = error_of(d)
    assert "train.device" in msg and f"'{device}'" in msg and "auto, cpu, cuda, cuda:<n>, mps" in msg


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:1", "mps"])
def test_train_device_allowed_names(raw: dict[str, Any], device: str) -> None:
    d = modified(raw)
    d["train"]["device"] = device
    assert parse_params(d).train.device == device
