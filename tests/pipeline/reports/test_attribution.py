"""The attribution study: conditions derived from the declarations, the share of each copied row's gap."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import yaml

from pipeline.config import parse_params
from pipeline.reports.attribution import attribution_table, cells, dataset_condition, frame, row_variant, search_notes
from tests.conftest import REPO

# the whole design of the study: both DFA conditions and the count, every row the issue names
FULL = {"report": "attribution", "datasets": ["cmnist", "cmnist_hue", "cmnist_n249"],
        "rows": ["erm_vanilla", "erm_vanilla_div255", "lff", "lff_div255", "groupdro", "groupdro_adam",
                 "groupdro_adam_div255", "jtt", "jtt_adam", "jtt_adam_div255", "resample", "gerne_known",
                 "gerne_known_div255"],
        "rows_on": {"cmnist_n249": ["resample", "gerne_known"]}}


@pytest.fixture(scope="module")
def params():
    data = yaml.safe_load((REPO / "params.yaml").read_text())
    data["studies"]["tables"]["attribution"] = FULL
    return parse_params(data)


def test_conditions_are_derived_from_params(params) -> None:
    assert dataset_condition(params, "cmnist", "cmnist_hue") == "palette: hue"
    assert dataset_condition(params, "cmnist", "cmnist_n249") == "train_conflicting: 249"
    assert dataset_condition(params, "cmnist", "cmnist") == ""
    study = params.studies.tables["attribution"]
    assert row_variant(params, "cmnist", "erm_vanilla_div255", study.rows) == ("erm_vanilla", "input ×1/255")
    assert row_variant(params, "cmnist", "gerne_known_div255", study.rows) == ("gerne_known", "input ×1/255")
    assert row_variant(params, "cmnist", "erm_vanilla", study.rows) is None
    assert row_variant(params, "cmnist", "lff", study.rows) is None  # not erm_vanilla under another scale
    adam = "Adam, lr 0.001, weight_decay 0"  # a recipe: the optimiser and its numbers, then the input scale
    assert row_variant(params, "cmnist", "groupdro_adam", study.rows) == ("groupdro", adam)
    assert row_variant(params, "cmnist", "groupdro_adam_div255", study.rows) == ("groupdro", f"{adam} + input ×1/255")
    assert row_variant(params, "cmnist", "jtt_adam", study.rows) == ("jtt", adam)  # its narrower grid: a note
    assert search_notes(params, "cmnist", study.rows) == [
        f"- `{r}` searches up ∈ {{200, 1000, 2000, 5000}}; its base row `jtt` searches up ∈ {{5, 20, 50, 100, 200, "
        "500, 1000, 2000, 5000}." for r in ("jtt_adam", "jtt_adam_div255")]
    assert row_variant(params, "cmnist", "resample", study.rows) is None  # gerne_known's method, another config


def test_cells_follow_rows_on(params) -> None:
    study = params.studies.tables["attribution"]
    found = {(c.base, c.label) for c in cells(params, study.datasets, study.rows, study.rows_on)}
    assert ("erm_vanilla", "palette: hue + input ×1/255") in found
    assert ("resample", "train_conflicting: 249") in found
    assert ("erm_vanilla", "train_conflicting: 249") not in found  # rows_on leaves it out
    assert ("groupdro", "input ×1/255") not in found  # Group DRO has no input-scale variant


def test_share_of_the_gap(params) -> None:
    study = params.studies.tables["attribution"]
    runs = pd.DataFrame([{"table": "rows", "dataset": d, "setting": r, "seed": s, "selection": "oracle",
                          "test_gba": v + s / 1000} for d, r, v in
                         [("cmnist", "erm_vanilla", 0.52), ("cmnist_hue", "erm_vanilla", 0.44),
                          ("cmnist", "erm_vanilla_div255", 0.36)] for s in (0, 1, 2)])
    data = frame(params, study.datasets, study.rows, study.rows_on, runs)
    oracle = data[(data["selection"] == "oracle") & (data["base"] == "erm_vanilla")].set_index("condition")
    gap = 52.1 - 35.19  # ours (mean of 52.0, 52.1, 52.2) − the copied ERM row at 0.5 %
    assert oracle.loc["palette: hue", "share_of_gap"] == pytest.approx(8.0 / gap)
    assert oracle.loc["input ×1/255", "delta"] == pytest.approx(-16.0)
    assert oracle.loc["input ×1/255", "n_seeds"] == 3
    assert oracle.loc["palette: hue + input ×1/255", "n_seeds"] == 0
    assert math.isnan(oracle.loc["palette: hue + input ×1/255", "mean"])
    text, _ = attribution_table("attribution", params, study.datasets, study.rows, study.rows_on, runs)
    assert "closes 47 % of the gap" in text and "not run yet" in text


def test_a_collapsed_condition_is_flagged_and_explains_no_gap(params) -> None:
    """A condition whose runs ended at chance failed: the cell says so and claims no share of the gap."""
    study = params.studies.tables["attribution"]
    runs = pd.DataFrame([{"table": "rows", "dataset": d, "setting": r, "seed": s, "selection": "oracle",
                          "test_gba": v, "collapsed": dead} for d, r, v, dead in
                         [("cmnist", "gerne_known", 0.814, False), ("cmnist", "gerne_known_div255", 0.10, True),
                          ("cmnist_hue", "gerne_known", 0.792, False)] for s in (0, 1, 2)])
    data = frame(params, study.datasets, study.rows, study.rows_on, runs)
    known = data[(data["selection"] == "oracle") & (data["base"] == "gerne_known")].set_index("condition")
    assert known.loc["input ×1/255", "n_collapsed"] == 3 and math.isnan(known.loc["input ×1/255", "share_of_gap"])
    assert known.loc["palette: hue", "share_of_gap"] == pytest.approx((81.4 - 79.2) / (81.4 - 77.79))
    text, _ = attribution_table("attribution", params, study.datasets, study.rows, study.rows_on, runs)
    assert "collapsed to chance in 3 of 3 seeds" in text and "1972 %" not in text
    assert "input ×1/255 collapsed to chance (3 of 3 seeds): no share; left after palette: hue" in text


def test_each_ratio_is_compared_with_our_data_at_that_ratio(params) -> None:
    """A study over several ratios: each condition's gap is measured against our data and the copied row at its own
    ratio, never against the 0.5 % reference."""
    study = params.studies.tables["attribution_ratios"]
    assert study.datasets[:4] == ["cmnist", "cmnist_hue", "cmnist_r1", "cmnist_hue_r1"]
    runs = pd.DataFrame([{"table": "rows", "dataset": d, "setting": r, "seed": s, "selection": "oracle",
                          "test_gba": v} for d, r, v in
                         [("cmnist", "lff", 0.81), ("cmnist_hue", "lff_div255", 0.56),
                          ("cmnist_r1", "lff", 0.86), ("cmnist_hue_r1", "lff_div255", 0.74)] for s in (0, 1)])
    data = frame(params, study.datasets, study.rows, study.rows_on, runs)
    lff = data[(data["selection"] == "oracle") & (data["base"] == "lff")].set_index(["ratio", "condition"])
    both = "palette: hue + input ×1/255"
    assert lff.loc[(1.0, both), "delta"] == pytest.approx(-12.0)
    assert lff.loc[(1.0, both), "share_of_gap"] == pytest.approx(12.0 / (86.0 - 61.89))  # the copied LfF at 1 %
    assert lff.loc[(0.5, both), "share_of_gap"] == pytest.approx(25.0 / (81.0 - 52.50))
    assert lff.loc[(2.0, both), "n_seeds"] == 0
    text, _ = attribution_table("attribution_ratios", params, study.datasets, study.rows, study.rows_on, runs)
    assert "| `lff` | 1 % | 61.89 | 86.00 ± 0.00 (2) | 74.00 ± 0.00 (2): Δ -12.00, closes 50 % of the gap |" in text
    assert "- `lff` at 1 %: ours 86.00, paper 61.89" in text
