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
from pipeline.reports.study import columns, row_attributes
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
    name, table1 = p.table1()
    assert name == "table1" and table1.report == "table1"
    assert [(c.dataset, c.ratio, c.folder) for c in columns(p, name)] == [
        ("cmnist", 0.5, "cmnist/r0.5"), ("cmnist_r1", 1.0, "cmnist/r1.0"), ("cmnist_r2", 2.0, "cmnist/r2.0"),
        ("cmnist_r5", 5.0, "cmnist/r5.0")]
    assert row_attributes(p, name) == {
        "erm_vanilla": "none", "erm": "none", "groupdro": "known", "reweight": "known", "sqrt_reweight": "known",
        "lff": "none", "jtt": "f̃ errors", "dfr": "known", "sw_known": "known", "resample": "known",
        "gerne_known": "known", "gerne_tuned_known": "known",
        "gerne_unknown": "pseudo", "gerne_tuned_unknown": "pseudo"}
    for dataset in table1.datasets:  # every ratio shares the one protocol of Table 1's column
        d = p.datasets[dataset]
        assert (d.model, d.epochs, d.lr, d.batch_size, d.oracle_metric) == ("mlp", 65, 0.1, 100, "test_gba")
    assert p.datasets["cmnist_r2"].absolute_t(p.studies.rows["gerne_unknown"].config["t"]) == 0.02
    assert p.figures is not None and p.figures.dataset == "cmnist"


def test_parse_params_of_loaded_dict(raw: dict[str, Any]) -> None:
    assert parse_params(raw) == load_params(PARAMS)


def test_unknown_top_level_key(raw: dict[str, Any]) -> None:
    d = modified(raw)
    d["trian"] = {}
    msg = error_of(d)
    assert "trian" in msg and "unknown key" in msg


def test_misspelled_keys_get_a_suggestion(raw: dict[str, Any]) -> None:
    d = modified(raw)
    d["datasets"]["cmnist"]["epoch"] = d["datasets"]["cmnist"].pop("epochs")
    msg = error_of(d)
    assert "datasets.cmnist.epoch" in msg and "did you mean 'epochs'" in msg
    d = modified(raw)
    d["studies"]["rows"]["gerne_known"]["confg"] = d["studies"]["rows"]["gerne_known"].pop("config")
    msg = error_of(d)
    assert "studies.rows.gerne_known.confg" in msg and "did you mean 'config'" in msg


def test_extra_key_kept_alongside_right_one(raw: dict[str, Any]) -> None:
    d = modified(raw)
    d["datasets"]["cmnist"]["lr_decay"] = 0.1
    msg = error_of(d)
    assert "datasets.cmnist.lr_decay" in msg and "unknown key" in msg


@pytest.mark.parametrize(("key", "value", "message"), [
    ("c", 0.0, "config c = 0.0 must be in (0, 1]"), ("c", 1.5, "config c = 1.5 must be in (0, 1]"),
    ("t", -1.0, "config t = -1.0 must be positive"), ("lr", 0.0, "config lr = 0.0 must be positive"),
    ("beta", float("inf"), "config.beta: Input should be a finite number, got .inf"),
    ("bta", 1.0, "did you mean 'beta'")])
def test_row_config_values_are_checked(raw: dict[str, Any], key: str, value: float, message: str) -> None:
    d = modified(raw)
    d["studies"]["rows"]["gerne_known"]["config"][key] = value
    msg = error_of(d)
    assert "studies.rows.gerne_known.config" in msg and message in msg


def test_pseudo_threshold_outside_the_share_range_in_units_of_the_ratio(raw: dict[str, Any]) -> None:
    d = modified(raw)
    d["datasets"]["cmnist_r5"]["pseudo_thresholds"] = [25.0]
    assert "t = 25.0 gives a pseudo-minority share of 1.25" in error_of(d)
    d = modified(raw)
    d["studies"]["rows"]["gerne_tuned_unknown"]["search"]["t"] = [0.1, 30.0]
    assert "studies.rows.gerne_tuned_unknown: t = 30.0 is a pseudo-minority share of 1.5 on cmnist_r5" in error_of(d)


def test_ratio_out_of_range_and_bad_batch_unit(raw: dict[str, Any]) -> None:
    d = modified(raw)
    d["datasets"]["cmnist"]["batch_unit"] = "sample"
    assert "datasets.cmnist.batch_unit" in error_of(d)
    d = modified(raw)
    d["datasets"]["cmnist"]["epochs"] = 0
    assert "datasets.cmnist.epochs" in error_of(d)


def test_study_names_undefined_rows_and_datasets(raw: dict[str, Any]) -> None:
    d = modified(raw)
    d["studies"]["tables"]["table1"]["rows"] = ["erm", "gerne_knwn"]
    msg = error_of(d)
    assert "gerne_knwn" in msg and "did you mean 'gerne_known'" in msg
    d = modified(raw)
    d["studies"]["tables"]["table1"]["datasets"] = ["cmnist", "cmnist_r3"]
    msg = error_of(d)
    assert "cmnist_r3" in msg and "not declared under datasets" in msg


def test_table1_needs_a_minority_share_and_is_one_study(raw: dict[str, Any]) -> None:
    d = modified(raw)
    d["studies"]["tables"]["table1"]["datasets"] = ["cmnist", "waterbirds"]
    assert "(report: table1) has a column per minority share; datasets.waterbirds" in error_of(d)
    d = modified(raw)
    d["studies"]["tables"]["again"] = {**d["studies"]["tables"]["table1"]}
    assert "only one study can be reported as report: table1 (table1, again are); keep one" in error_of(d)


def test_figures_are_checked_against_the_rows(raw: dict[str, Any]) -> None:
    d = modified(raw)
    d["figures"]["fig2_rows"] = ["fig2_beta_0", "gerne_tuned_known"]
    assert "figures.fig2_rows: 'gerne_tuned_known' must train on known attributes" in error_of(d)
    d = modified(raw)
    d["figures"]["fig3_row"] = "gerne_unknown"
    assert "figures.fig3_row: 'gerne_unknown' must search a grid over t and beta" in error_of(d)
    d = modified(raw)
    d["figures"]["dataset"] = "cmnist_r3"
    assert "figures.dataset names 'cmnist_r3'" in error_of(d)


def test_beyond_eq9_bound_is_for_fig2_only(raw: dict[str, Any]) -> None:
    """The override that trains β above Eq. 9 is refused for a table row, and unless Fig. 2 names the row as one
    above the bound."""
    d = modified(raw)
    assert d["studies"]["rows"]["fig2_beta_1p3"]["beyond_eq9_bound"] is True  # the committed Fig. 2 rows
    d["studies"]["tables"]["table1"]["rows"].append("fig2_beta_1p3")
    assert "studies.tables.table1.rows names 'fig2_beta_1p3', which sets beyond_eq9_bound: true; that override " \
           "is for Fig. 2 only" in error_of(d)
    d = modified(raw)
    d["studies"]["rows"]["gerne_known"]["beyond_eq9_bound"] = True  # a table row
    assert "studies.tables.table1.rows names 'gerne_known', which sets beyond_eq9_bound" in error_of(d)
    d = modified(raw)
    d["figures"]["fig2_beyond_rows"] = ["fig2_beta_1p25"]
    assert "studies.rows.fig2_beta_1p3 sets beyond_eq9_bound: true, which is for Fig. 2 only" in error_of(d)
    d = modified(raw)
    d["figures"]["fig2_rows"].append("fig2_beta_1p3")
    assert "figures.fig2_rows: 'fig2_beta_1p3' sets beyond_eq9_bound" in error_of(d)
    d = modified(raw)
    d["figures"]["fig2_beyond_rows"].append("fig2_beta_1p2")
    assert "figures.fig2_beyond_rows: 'fig2_beta_1p2' must set beyond_eq9_bound: true" in error_of(d)
    d = modified(raw)
    d.pop("figures")
    assert "studies.rows.fig2_beta_1p25 sets beyond_eq9_bound: true" in error_of(d)


def test_folders_may_not_nest(raw: dict[str, Any]) -> None:
    d = modified(raw)
    d["datasets"]["cmnist_r1"]["dir"] = "cmnist/r0.5/more"
    assert "share (or nest) the folder(s) ['cmnist/r0.5']" in error_of(d)


def test_several_errors_listed_together(raw: dict[str, Any]) -> None:
    d = modified(raw)
    d["datasets"]["cmnist"]["epochs"] = 0
    d["studies"]["rows"]["gerne_known"]["config"]["c"] = 2.0
    msg = error_of(d)
    assert "datasets.cmnist.epochs" in msg and "studies.rows.gerne_known.config" in msg


@pytest.mark.parametrize("section", ["datasets", "studies"])
def test_sections_the_report_stages_read_whole_must_be_written(raw: dict[str, Any], section: str) -> None:
    d = modified(raw)
    d.pop(section)
    d.pop("figures")
    assert f"  - {section}: missing: add it (" in error_of(d)


def test_a_refused_value_is_one_line_naming_field_value_and_fix(raw: dict[str, Any]) -> None:
    """One line per problem: a grid value of the wrong type is not also reported against the other branch of
    `search` (random or none), and the message says what was given and what to write."""
    d = modified(raw)
    d["studies"]["rows"]["gerne_tuned_known"]["search"] = {"c": [0.5], "beta": [1.0, True]}
    assert error_of(d).splitlines()[1:] == [
        "  - studies.rows.gerne_tuned_known.search.beta.1: Input should be a valid number, got true (true is a YAML "
        "boolean, not a number: write a number, e.g. 1.0e-3)"]


def test_whole_numbers_are_accepted_for_floats(raw: dict[str, Any]) -> None:
    d = modified(raw)
    d["datasets"]["cmnist"].update(lr=1, weight_decay=0)
    cmnist = parse_params(d).datasets["cmnist"]
    assert (cmnist.lr, cmnist.weight_decay) == (1.0, 0.0) and isinstance(cmnist.lr, float)


def test_not_a_mapping() -> None:
    assert "mapping" in error_of([1, 2, 3])


# --------------------------------------------------------------------------------------------------- files

def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_params(tmp_path / "nope.yaml")


def test_load_invalid_yaml(tmp_path: Path) -> None:
    bad = tmp_path / "params.yaml"
    bad.write_text("datasets: [0.5, 1.0\nstudies: {seeds: 3", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_params(bad)


def test_load_modified_file(tmp_path: Path, raw: dict[str, Any]) -> None:
    d = modified(raw)
    d["datasets"]["cmnist"]["epochs"] = 3
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(d), encoding="utf-8")
    assert load_params(path).datasets["cmnist_r1"].epochs == 3  # a variant takes its base's protocol
    d["datasets"]["cmnist"]["epoch"] = d["datasets"]["cmnist"].pop("epochs")
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
    d["datasets"]["cmnist"]["model"] = "resnet5"
    msg = error_of(d)
    assert "datasets.cmnist.model" in msg and "unknown model 'resnet5'" in msg and "did you mean 'resnet50'" in msg
    d["datasets"]["cmnist"]["model"] = "vit"
    msg = error_of(d)
    assert "unknown model 'vit'" in msg and "available: bert, mlp, resnet18, resnet50" in msg


def test_every_registered_model_is_accepted(raw: dict[str, Any]) -> None:
    from gerne.models import MODELS

    for name in MODELS:
        d = modified(raw)
        d["datasets"]["waterbirds"].update(model=name, model_options={})  # no row sets its model's options
        assert parse_params(d).datasets["waterbirds"].model == name


@pytest.mark.parametrize("device", ["gpu", "cuda:", "tpu"])
def test_device_outside_the_allowed_names(raw: dict[str, Any], device: str) -> None:
    d = modified(raw)
    d["studies"]["device"] = device
    msg = error_of(d)
    assert "studies.device" in msg and f"'{device}'" in msg and "auto, cpu, cuda, cuda:<n>, mps" in msg


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:1", "mps"])
def test_device_allowed_names(raw: dict[str, Any], device: str) -> None:
    d = modified(raw)
    d["studies"]["device"] = device
    assert parse_params(d).studies.device == device
