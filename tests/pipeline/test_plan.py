"""The stages' work, derived from params.yaml in memory: one item per (kind, dataset[, row]) with its paths."""

from __future__ import annotations

import copy

import pytest
import yaml

from gerne.errors import ConfigError
from pipeline.config import load_params, parse_params
from pipeline.plan import plan
from tests.conftest import REPO
from tests.pipeline.studies.test_config import OWN


def _design() -> dict:
    """The committed design without Table 1 and the figures, with Datasets-2 and own data switched on."""
    data = copy.deepcopy(yaml.safe_load((REPO / "params.yaml").read_text()))
    data["studies"]["tables"].pop("table1")
    data["studies"]["tables"].pop("attribution")
    data["studies"]["tables"].pop("attribution_ratios")
    data.pop("figures")
    for row in ("fig2_beta_1p25", "fig2_beta_1p3"):  # beyond_eq9_bound: for the figure only, so they go with it
        data["studies"]["rows"].pop(row)
    data["datasets"]["mine"] = {**OWN, "prepare": {"attributes": False}}
    data["studies"]["tables"]["table2"]["datasets"] = ["waterbirds"]
    data["studies"]["tables"]["table2"]["rows"] = ["yes_yes", "no_no"]
    data["studies"]["rows"]["erm"] = {"method": "erm", "groups": "none", "select": "val_worst_class"}
    data["studies"]["tables"]["mine"] = {"datasets": ["mine", "waterbirds"], "rows": ["no_no", "erm"]}
    data["studies"]["table3"]["datasets"] = ["celeba"]
    return data


def test_the_committed_cmnist_column() -> None:
    """Table 1's rows with one config train every seed (train), the tuned rows search (sweep); Fig. 2's rows
    train on the figures' dataset only; every file lies where the committed results are."""
    items = plan(load_params(REPO / "params.yaml"))
    assert list(items["fetch"]) == ["cmnist"] and list(items["prepare"]) == ["cmnist", "cmnist_r1", "cmnist_r2",
                                                                            "cmnist_r5", "cmnist_hue", "cmnist_n249",
                                                                            "cmnist_hue_r1", "cmnist_hue_r2",
                                                                            "cmnist_hue_r5"]
    assert items["prepare"]["cmnist_r2"]["raw"] == "data/raw/cmnist"  # a variant prepares its base's files
    baselines = ["erm_vanilla", "groupdro", "reweight", "sqrt_reweight", "lff", "sw_known"]
    assert sorted(k for k in items["train"] if k.startswith("cmnist_r5-")) == sorted(
        f"cmnist_r5-{r}" for r in ["erm", "gerne_known", "gerne_unknown", "resample", *baselines])
    assert [k for k in items["train"] if "fig2" in k] == [f"cmnist-fig2_beta_{b}" for b in
                                                          ("m1", "0", "1", "1p2", "1p25", "1p3")]  # + 2 above Eq. 9
    attribution = ["cmnist-erm_vanilla_div255", "cmnist-lff_div255", "cmnist-gerne_known_div255",
                   "cmnist-groupdro_adam", "cmnist-groupdro_adam_div255",  # LfF's and DFA's training code
                   *(f"cmnist_hue-{r}" for r in ("erm_vanilla", "erm_vanilla_div255", "lff", "lff_div255", "groupdro",
                                                 "groupdro_adam", "groupdro_adam_div255", "resample", "gerne_known",
                                                 "gerne_known_div255")),
                   "cmnist_n249-resample", "cmnist_n249-gerne_known",  # the copied rows' conditions (rows_on)
                   # the nearest combination at the other ratios (attribution_ratios)
                   *(f"cmnist_hue_r{r}-{row}" for r in (1, 2, 5) for row in ("erm_vanilla_div255", "lff_div255"))]
    assert sorted(k for k in items["train"] if k in attribution) == sorted(attribution)
    assert items["train"]["cmnist_hue-lff"]["out_dir"] == "runs/conditions/cmnist_hue/r0.5/lff"
    assert len(items["train"]) == 4 * (4 + len(baselines)) + 6 + len(attribution)
    assert list(items["sweep"])[-3:] == ["cmnist_hue-jtt", "cmnist_hue-jtt_adam", "cmnist_hue-jtt_adam_div255"]
    assert len(items["sweep"]) == 4 * 4 + 1 + 4  # + JTT's on the hue palette, its Adam recipes on both palettes
    assert items["sweep"]["cmnist-jtt"]["input"] == "models/cmnist/r0.5/pseudo.npz"  # f̃'s error set
    assert items["sweep"]["cmnist_r2-dfr"]["input"] == "models/cmnist/r2.0/biased.pt"  # f̃'s checkpoint
    tuned = items["sweep"]["cmnist_r1-gerne_tuned_unknown"]
    assert (tuned["sweep_dir"], tuned["out_dir"], tuned["input"]) == (
        "runs/sweeps/cmnist/r1.0/gerne_tuned_unknown", "runs/cmnist/r1.0/gerne_tuned_unknown",
        "models/cmnist/r1.0/pseudo.npz")
    assert items["train"]["cmnist-erm"]["input"] == "data/cmnist/r0.5/counts.json"
    assert items["reference"]["cmnist_r5"]["summary"] == "runs/cmnist/r5.0/biased.json"
    assert items["table1"] == {"table1": {"study": "table1", "runs_table": "metrics/cmnist_runs.csv",
                                          "out": "reports/tables/table1_cmnist", "full": "reports/tables/table1",
                                          "headline": "metrics/headline.json",
                                          "reproduction": "reports/REPRODUCTION.md",
                                          "baselines": "reports/baselines.md"}}
    assert items["figures"]["cmnist"]["sweep"] == "runs/sweeps/cmnist/r0.5/gerne_tuned_unknown"
    assert list(items["tables"]) == ["attribution", "attribution_ratios", "table2", "table3"]
    assert items["tables"]["attribution"] == {"study": "attribution", "md": "reports/tables/attribution.md",
                                              "csv": "reports/tables/attribution.csv"}


def test_items_per_stage_kind() -> None:
    items = plan(parse_params(_design()))
    assert list(items["fetch"]) == ["waterbirds", "celeba"]  # own data is read in place
    assert items["prepare"]["mine"]["raw"] == "my/data" and items["prepare"]["mine"]["module"] == "gerne/data/own.py"
    assert list(items["reference"]) == ["waterbirds", "mine"]  # only where a row sees pseudo-attributes
    assert list(items["sweep"]) == ["waterbirds-yes_yes", "waterbirds-no_no", "waterbirds-erm", "mine-no_no",
                                    "mine-erm"]  # no duplicates
    erm = items["sweep"]["mine-erm"]  # no reference model: its input is the prepared data's counts
    assert erm["input"] == "data/mine/counts.json"
    wb = items["sweep"]["waterbirds-yes_yes"]
    assert wb["input"] == "data/waterbirds/counts.json"  # true attributes: never waits for the biased model
    assert items["sweep"]["mine-no_no"]["input"] == "models/mine/pseudo.npz"
    assert list(items["scores"]) == ["waterbirds", "mine"]  # f̃'s checkpoint in, its scores out
    assert items["scores"]["mine"]["checkpoint"] == items["reference"]["mine"]["checkpoint"] == "models/mine/biased.pt"
    assert wb["out_dir"] == "runs/waterbirds/yes_yes"
    assert list(items["valonly"]) == ["celeba"] and "celeba" not in items["reference"]
    assert list(items["tables"]) == ["table2", "mine", "table3"]


def test_a_variant_prepares_its_base_files_and_adds_only_its_own_items() -> None:
    data = _design()
    before = plan(parse_params(data))
    data["datasets"]["wb_small"] = {"variant_of": "waterbirds", "prepare": {"image_size": 32}}
    data["studies"]["tables"]["mine"]["datasets"].append("wb_small")
    items = plan(parse_params(data))
    assert list(items["fetch"]) == ["waterbirds", "celeba"]  # the base's files, fetched once
    prep = items["prepare"]["wb_small"]
    assert (prep["raw"], prep["data"], prep["base"]) == ("data/raw/waterbirds", "data/wb_small", "waterbirds")
    assert items["sweep"]["wb_small-no_no"]["base"] == "waterbirds"
    assert items["sweep"]["wb_small-no_no"]["input"] == "models/wb_small/pseudo.npz"
    for kind, entries in before.items():  # every item that existed is unchanged: nothing of the base reruns
        assert {k: items[kind][k] for k in entries} == entries, kind
    assert items["prepare"]["waterbirds"]["base"] == "waterbirds"  # no variant: its own name


def test_a_dataset_folder_places_every_file_and_folders_must_differ() -> None:
    data = _design()
    data["datasets"]["wb_small"] = {"variant_of": "waterbirds", "prepare": {"image_size": 32}, "dir": "wb/s32"}
    data["studies"]["tables"]["mine"]["datasets"].append("wb_small")
    items = plan(parse_params(data))
    assert items["prepare"]["wb_small"]["data"] == "data/wb/s32"
    assert items["prepare"]["wb_small"]["counts"] == "data/wb/s32/counts.json"
    ref, scores = items["reference"]["wb_small"], items["scores"]["wb_small"]
    assert (ref["checkpoint"], ref["summary"]) == ("models/wb/s32/biased.pt", "runs/wb/s32/biased.json")
    assert (scores["scores"], scores["quality"]) == ("models/wb/s32/pseudo.npz", "models/wb/s32/pseudo.json")
    assert items["sweep"]["wb_small-no_no"]["sweep_dir"] == "runs/sweeps/wb/s32/no_no"
    assert items["prepare"]["waterbirds"]["data"] == "data/waterbirds"  # the base keeps its own folder
    data["datasets"]["wb_small"]["dir"] = "waterbirds"
    with pytest.raises(ConfigError, match=r"share \(or nest\) the folder"):
        parse_params(data)
    data["datasets"]["wb_small"]["dir"] = "../up"
    with pytest.raises(ConfigError, match="relative folder"):
        parse_params(data)


def test_the_readme_switch_for_table1s_other_columns_plans_them() -> None:
    """README's one-line switch, applied to params.yaml: C-CIFAR-10 and bFFHQ get their work items, and the C-MNIST
    items stay as they were (nothing committed is trained again)."""
    import re

    import yaml as _yaml

    from pipeline.config import parse_params
    from pipeline.plan import plan
    from tests.conftest import REPO

    readme = (REPO / "README.md").read_text()
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if "ccifar10_r5" in b)
    data = _yaml.safe_load((REPO / "params.yaml").read_text())
    data["studies"]["tables"]["table1"] = _yaml.safe_load(block)["studies"]["tables"]["table1"]
    items = plan(parse_params(data))
    base = plan(parse_params(_yaml.safe_load((REPO / "params.yaml").read_text())))
    assert list(items["fetch"]) == ["cmnist", "ccifar10", "bffhq"]
    assert {"ccifar10_r5", "bffhq"} <= set(items["reference"]) and set(base["train"]) <= set(items["train"])
    assert items["prepare"]["ccifar10_r2"]["raw"] == "data/raw/ccifar10"
    assert {k: items["train"][k] for k in base["train"]} == base["train"]
