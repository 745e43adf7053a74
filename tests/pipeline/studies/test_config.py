"""The `datasets` and `studies` sections are validated with the rest of params.yaml."""

from __future__ import annotations

import copy

import pytest
import yaml

from gerne.errors import ConfigError
from pipeline.config import load_params, parse_params
from pipeline.studies.runs import experiment
from tests.conftest import REPO
from tests.helpers import set_dotted

OWN = {"kind": "own", "root": "my/data", "prepare": {"image_size": 8}, "model": "mlp", "steps": 20, "eval_every": 10,
       "lr": 1.0e-2, "weight_decay": 0.0, "batch_size": 4, "c": 0.5, "precision": "fp32"}


def _params() -> dict:
    return yaml.safe_load((REPO / "params.yaml").read_text())


def test_default_params_keep_the_releases_off() -> None:
    p = load_params(REPO / "params.yaml")
    assert p.studies.tables["table2"].datasets == [] and p.studies.table3.datasets == []
    assert p.datasets["waterbirds"].steps == 5001 and p.datasets["celeba"].eval_every == 1000
    assert p.datasets["civilcomments"].model == "bert" and p.datasets["waterbirds"].kind == "waterbirds"


def test_own_dataset_declaration() -> None:
    data = copy.deepcopy(_params())
    data["datasets"]["mine"] = {**OWN, "prepare": {"image_size": 8, "attributes": False}}
    data["studies"]["rows"]["erm"] = {"method": "erm", "groups": "none", "select": "val_worst_class"}
    data["studies"]["tables"]["mine"] = {"datasets": ["mine"], "rows": ["no_no", "erm"]}
    p = parse_params(data)
    assert p.datasets["mine"].kind == "own" and not p.datasets["mine"].attributes
    assert p.studies.rows["erm"].needs_attributes() is None and p.studies.rows["yes_yes"].needs_attributes()


def test_a_variant_takes_its_base_with_its_own_prepare_options() -> None:
    data = copy.deepcopy(_params())
    data["datasets"]["mine"] = {**OWN, "prepare": {"image_size": 8, "attributes": False}}
    data["datasets"]["mine_small"] = {"variant_of": "mine", "prepare": {"image_size": 4}, "lr": 5.0e-2}
    p = parse_params(data)
    small, base = p.datasets["mine_small"], p.datasets["mine"]
    assert small.prepare == {"image_size": 4, "attributes": False} and small.lr == 5.0e-2
    assert (small.kind, small.root, small.steps, small.variant_of) == (base.kind, base.root, base.steps, "mine")
    assert base.variant_of is None and base.prepare["image_size"] == 8  # the base is untouched
    assert experiment("mine_small", small) == experiment("mine", base) == "mine"  # one MLflow experiment


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d["studies"]["tables"]["table2"].update(datasets=["waterbird"]), "did you mean 'waterbirds'"),
    (lambda d: d["datasets"]["waterbirds"].update(eval_every=9000), "eval_every"),
    (lambda d: d["datasets"]["waterbirds"].update(c=1.5), "c"),
    (lambda d: d["datasets"]["waterbirds"].update(epochs=65), "one training budget"),
    (lambda d: [d["datasets"]["waterbirds"].pop(k) for k in ("steps", "eval_every")], "one training budget"),
    (lambda d: d["datasets"]["waterbirds"].pop("eval_every"), "steps needs eval_every"),
    (lambda d: d["datasets"]["waterbirds"].pop("steps") and d["datasets"]["waterbirds"].update(epochs=3),
     "drop eval_every"),
    (lambda d: d["datasets"]["waterbirds"].update(steps_per_epoch=55), "steps_per_epoch belongs to an epoch budget"),
    (lambda d: d["datasets"]["waterbirds"].update(oracle_metric="test_gbaa"), "did you mean 'test_gba'"),
    (lambda d: d["datasets"]["waterbirds"].update(kind="waterbird"), "unknown dataset kind 'waterbird'"),
    (lambda d: d["datasets"]["waterbirds"].update(model="resnet5"), "unknown model 'resnet5'"),
    (lambda d: d["datasets"]["waterbirds"].update(root="x"), "for kind: own"),
    (lambda d: d["datasets"].update(mine={**OWN, "root": ""}), "needs `root`"),
    (lambda d: d["datasets"].update(raw=OWN), "dataset name 'raw'"),
    (lambda d: d["studies"]["tables"].update(table1_cmnist={"datasets": []}), "study name 'table1_cmnist'"),
    (lambda d: (d["datasets"].update(mine={**OWN, "prepare": {"attributes": False}}),
                d["studies"]["tables"].update(mine={"datasets": ["mine"], "rows": ["yes_yes", "no_no"]})),
     r"has \['yes_yes'\], which need true attributes"),
    (lambda d: d["studies"]["table3"].update(datasets=["celeba"]) or d["datasets"].pop("celeba"), "not declared"),
    (lambda d: d["studies"]["search"].update(t=[0.2, 0.9]), "0.5"),
    (lambda d: d["datasets"]["celeba"].update(stpes=3), "stpes"),
    (lambda d: d["datasets"]["celeba"].update(prepare={"imagesize": 3}), "did you mean 'image_size'"),
    (lambda d: d["datasets"]["celeba"].update(mirror="/data/celeba"), "machine-local.*local.yaml"),
    (lambda d: d["datasets"]["celeba"].pop("prepare"), "prepare"),
    (lambda d: d["studies"].update(seeds=[0, 0]), "distinct"),
    (lambda d: d["studies"]["tables"]["table2"].update(rows=["no_yse"]), "did you mean 'no_yes'"),
    (lambda d: d["studies"]["rows"].update(mine={"method": "gern", "groups": "none"}), "did you mean 'gerne'"),
    (lambda d: d["studies"]["rows"].update(mine={"method": "erm", "groups": "none", "select": "test_wga"}),
     "unknown selection metric 'test_wga'"),
    (lambda d: d["studies"]["rows"].update(mine={"method": "erm", "groups": "pseudo"}),
     r"grouping 'pseudo' needs \['attributes'\], which no stage provides"),
    (lambda d: d["studies"]["rows"].update(mine={"method": "erm", "groups": "confidense"}),
     "unknown grouping 'confidense' \\(did you mean 'confidence'\\?\\)"),
    (lambda d: d["studies"]["rows"].update(mine={"method": "gerne", "groups": "known", "config": {"bta": 1.0}}),
     "unknown config key 'bta' \\(did you mean 'beta'"),
    (lambda d: d["studies"]["rows"].update(mine={"method": "gerne", "groups": "known", "search": {}}),
     "at least one key"),
    (lambda d: d["studies"]["rows"].update(mine={"method": "gerne", "groups": "known", "search": {"c": [1.0, 1.0]}}),
     "distinct"),
    (lambda d: d["studies"]["rows"].update(mine={"method": "gerne", "groups": "known", "config": {"c": 1.0},
                                                 "search": {"c": [0.5]}}), r"\['c'\] are both fixed"),
    (lambda d: d["studies"]["rows"].update(mine={"method": "gerne", "groups": "known", "search": "grid"}),
     "random"),
    *[(lambda d, row=row: d["studies"]["rows"].update(mine={"groups": "known", "beyond_eq9_bound": True, **row}),
       r"beyond_eq9_bound \(Fig. 2 only\) trains one literal β")
      for row in ({"method": "gerne", "search": "none", "config": {"c": 0.5}},  # β from the protocol or β_u: no
                  {"method": "gerne", "search": {"beta": [1.3]}, "config": {"c": 0.5}},
                  {"method": "sw", "search": "none", "config": {"beta": 1.3}})],
    (lambda d: (d["datasets"].update(mine={**OWN, "prepare": {"attributes": False}}),
                d["studies"]["rows"].update(erm={"method": "erm", "groups": "none", "select": "val_wga"}),
                d["studies"]["tables"].update(mine={"datasets": ["mine"], "rows": ["erm"]})),
     r"has \['erm'\], which need true attributes in validation"),
])
def test_bad_values_are_refused(edit, message: str) -> None:
    _refused(edit, message)


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d["studies"]["rows"].update(mine={"method": "gerne", "groups": "known", "search": "none",
                                                 "test_selection": True}), "test_selection reruns a search's"),
    (lambda d: d["studies"]["rows"].update(mine={"method": "gerne", "groups": "known", "search": "none",
                                                 "every_seed_on": ["cmnist"]}), "every_seed_on trains every point"),
    (lambda d: d["studies"]["rows"]["gerne_tuned_unknown"].update(every_seed_on=["cmnst"]),
     r"every_seed_on names 'cmnst', which is not declared under datasets.*cmnist"),
    (lambda d: d["studies"]["tables"]["attribution"].update(rows_on={"cmnist_r1": ["resample"]}),
     r"rows_on.cmnist_r1: each key must be one of the study's datasets"),
    (lambda d: d["studies"]["tables"]["attribution"].update(rows_on={"cmnist_hue": ["dfr"]}),
     r"rows_on.cmnist_hue: .* a subset of its rows"),
    (lambda d: d["studies"]["tables"]["attribution"].update(report="attributions"),
     r"unknown report layout .* 'attributions' \(did you mean 'attribution'\?\); available: attribution, study, "
     r"table1, table2"),
    (lambda d: d["studies"]["tables"]["attribution"].update(report="table2"),
     r"attribution \(report: table2\) has a column per dataset kind in \['waterbirds', 'celeba', 'civilcomments'\], "
     r"not datasets.cmnist \(kind cmnist\); report it with `report: study`"),
    (lambda d: d["studies"]["tables"]["attribution"].update(report="attribution", datasets=[], rows_on={}),
     r"attribution \(report: attribution\) needs at least 1 dataset"),
    (lambda d: d["studies"]["tables"]["table1"].update(headline={"known": "gerne_tuned_knwon"}),
     r"table1.headline.known names 'gerne_tuned_knwon', which is not defined .*gerne_tuned_known"),
    (lambda d: d["studies"]["tables"]["attribution"].update(headline={"known": "gerne_known"}),
     r"attribution.headline: report: attribution writes no headline metrics \(only table1 does\)"),
    (lambda d: d["studies"]["tables"]["table1"].update(headline={"known": 1.0}), "headline.known"),
])
def test_the_paper_protocol_and_attribution_options_are_validated(edit, message: str) -> None:
    _refused(edit, message)


def test_rows_on_restricts_what_a_dataset_trains() -> None:
    from pipeline.plan import plan

    data = copy.deepcopy(_params())
    data["studies"]["tables"]["attribution"].update(
        datasets=["cmnist", "cmnist_hue", "cmnist_n249"], rows=["erm_vanilla", "erm_vanilla_div255", "jtt",
                                                                "resample", "gerne_known"],
        rows_on={"cmnist_n249": ["resample", "gerne_known"]})
    items = plan(parse_params(data))
    n249 = sorted(k for k in {**items["train"], **items["sweep"]} if k.startswith("cmnist_n249-"))
    assert n249 == ["cmnist_n249-gerne_known", "cmnist_n249-resample"]
    assert "cmnist_hue-erm_vanilla_div255" in items["train"] and "cmnist_hue-jtt" in items["sweep"]


def _refused(edit, message: str) -> None:
    data = copy.deepcopy(_params())
    edit(data)
    with pytest.raises(ConfigError, match=message):
        parse_params(data)


def _variant(**entry: object):
    return lambda d: d["datasets"].update(wb_small={"variant_of": "waterbirds", "prepare": {}, **entry})


@pytest.mark.parametrize(("edit", "message"), [
    (_variant(variant_of="waterbird"), "not declared under datasets \\(did you mean 'waterbirds'"),
    (lambda d: (_variant()(d), d["datasets"].update(wb_tiny={"variant_of": "wb_small", "prepare": {}})),
     "itself a variant of 'waterbirds'"),
    (_variant(root="/elsewhere"), r"sets \['root'\]: a variant reads the files of its base"),
    (_variant(kind="celeba"), r"sets \['kind'\]"),
    (_variant(prepare=None), "needs `prepare`"),
    (_variant(prepare={"image_sise": 4}), "did you mean 'image_size'"),
    (_variant(lr=-1.0), "lr"),
])
def test_bad_variants_are_refused(edit, message: str) -> None:
    _refused(edit, message)


CMNIST = {"kind": "cmnist", "prepare": {"ratio": 0.5}, "model": "mlp", "epochs": 2, "lr": 1.0e-1,
          "weight_decay": 1.0e-2, "batch_size": 100, "c": 0.5, "t": 1.0, "precision": "fp32"}


def test_t_is_in_units_of_the_minority_share_where_the_kind_defines_one() -> None:
    """C-MNIST's t counts in units of its ratio (t = 1: the pseudo-minority as large as the true one) at every
    variant's own ratio; other kinds take t as the absolute share."""
    data = copy.deepcopy(_params())
    data["datasets"]["cm"] = {**CMNIST, "pseudo_thresholds": [0.1, 2.0]}
    data["datasets"]["cm5"] = {"variant_of": "cm", "prepare": {"ratio": 5.0}}
    data["datasets"]["mine"] = dict(OWN)
    p = parse_params(data)
    assert p.datasets["cm"].absolute_t(1.0) == 0.005 and p.datasets["cm5"].absolute_t(1.0) == 0.05
    assert p.datasets["cm"].absolute_t(0.6) == 0.003  # the same float Table 1's grid records (no 0.0030000000000000001)
    assert p.datasets["mine"].absolute_t(0.2) == 0.2 and p.datasets["mine"].minority_percent() is None
    data["datasets"]["cm"]["pseudo_thresholds"] = [300.0]  # 300 × 0.5 % = 1.5: not a share
    with pytest.raises(ConfigError, match=r"t = 300.0 gives a pseudo-minority share of 1.5.*units of the 0.5 %"):
        parse_params(data)
    data["datasets"]["cm"]["pseudo_thresholds"] = []
    data["studies"]["rows"]["wide"] = {"method": "gerne", "groups": "confidence", "select": "val_gba",
                                       "search": {"t": [1.0, 250.0]}}
    data["studies"]["tables"]["mine"] = {"datasets": ["cm"], "rows": ["wide"]}
    with pytest.raises(ConfigError, match=r"studies.rows.wide: t = 250.0 is a pseudo-minority share of 1.25 on cm"):
        parse_params(data)


def test_a_row_may_score_the_training_split_each_evaluation() -> None:
    data = copy.deepcopy(_params())
    data["studies"]["rows"]["curves"] = {"method": "gerne", "groups": "known", "select": "val_gba",
                                         "eval_train": True}
    p = parse_params(data)
    assert p.studies.rows["curves"].eval_train and not p.studies.rows["yes_yes"].eval_train


def test_two_datasets_in_one_table1_cell_are_refused() -> None:
    """DFA's C-CIFAR-10 release and the one built here are the same Table 1 column: one of them per ratio."""
    data = _params()
    data["datasets"]["ccifar10_dfa"] = {**data["datasets"]["ccifar10"], "kind": "ccifar10_dfa",
                                        "dir": "ccifar10_dfa/r0.5", "prepare": {"ratio": 0.5}}
    table1 = data["studies"]["tables"]["table1"]
    table1["datasets"] = ["cmnist", "ccifar10_dfa"]
    assert [c for c in parse_params(copy.deepcopy(data)).studies.tables["table1"].datasets] == table1["datasets"]
    table1["datasets"] = ["ccifar10", "ccifar10_dfa"]
    with pytest.raises(ConfigError, match=r"datasets.ccifar10 and datasets.ccifar10_dfa are both the ccifar10 column "
                                          r"at 0.5 %; list one of them"):
        parse_params(data)


# ---------------------------------------------------------------- values that pass a loose check and train garbage

INF, NAN = float("inf"), float("nan")


@pytest.mark.parametrize(("key", "value", "message"), [
    ("datasets.cmnist.epochs", True, "datasets.cmnist.epochs: Input should be a valid integer, got true (true is a "
     "YAML boolean, not a number"),
    ("datasets.cmnist.lr", INF, "datasets.cmnist.lr: Input should be a finite number, got .inf"),
    ("datasets.cmnist.lr", NAN, "datasets.cmnist.lr: Input should be a finite number, got .nan"),
    ("datasets.cmnist.lr", 0, "datasets.cmnist.lr: Input should be greater than 0, got 0"),
    ("datasets.cmnist.lr", True, "datasets.cmnist.lr: Input should be a valid number, got true"),
    ("datasets.cmnist.weight_decay", -1.0, "datasets.cmnist.weight_decay: Input should be greater than or equal to "
     "0, got -1.0"),
    ("datasets.cmnist.weight_decay", INF, "datasets.cmnist.weight_decay: Input should be a finite number"),
    ("datasets.cmnist.batch_size", 2.5, "datasets.cmnist.batch_size: Input should be a valid integer, got 2.5"),
    ("datasets.cmnist.batch_size", True, "datasets.cmnist.batch_size: Input should be a valid integer, got true"),
    ("datasets.cmnist.steps_per_epoch", True, "datasets.cmnist.steps_per_epoch: Input should be a valid integer"),
    ("datasets.cmnist.eval_batch_size", 0, "datasets.cmnist.eval_batch_size: Input should be greater than or equal "
     "to 1, got 0"),
    ("datasets.cmnist.momentum", NAN, "datasets.cmnist.momentum: Input should be a finite number"),
    ("datasets.cmnist.c", True, "datasets.cmnist.c: Input should be a valid number, got true"),
    ("datasets.cmnist.t", INF, "datasets.cmnist.t: Input should be a finite number"),
    ("datasets.cmnist.track_both_losses", 1, "datasets.cmnist.track_both_losses: Input should be a valid boolean, "
     "got 1 (write true or false)"),
    ("datasets.cmnist.pseudo_thresholds", [1.0, True], "datasets.cmnist.pseudo_thresholds.1: Input should be a "
     "valid number, got true"),
    ("datasets.waterbirds.steps", True, "datasets.waterbirds.steps: Input should be a valid integer, got true"),
    ("datasets.waterbirds.clip_norm", INF, "datasets.waterbirds.clip_norm: Input should be a finite number"),
    ("datasets.civilcomments.pseudo_batch_size", 1.5, "datasets.civilcomments.pseudo_batch_size: Input should be a "
     "valid integer, got 1.5"),
    ("datasets.cmnist.prepare.ratio", True, "prepare option ratio = true of kind cmnist must be a finite number"),
    ("datasets.cmnist.prepare.val_size", 0, "prepare option val_size = 0 of kind cmnist must be at least 1"),
    ("datasets.cmnist.prepare.seed", 0.5, "prepare option seed = 0.5 of kind cmnist must be a whole number"),
    ("datasets.cmnist.model_options", {"hidden": [100, True]}, "model_options.hidden[1] of model mlp: input "
     "should be a valid integer, got True"),
    ("datasets.cmnist.model_options", {"hidden": [100, 0]}, "model_options.hidden[1] of model mlp: input should "
     "be greater than or equal to 1"),
    ("datasets.cmnist.model_options", {"hiden": [100]}, "model_options.hiden: model mlp takes no option 'hiden' "
     "(did you mean 'hidden'?)"),
    ("datasets.waterbirds.model_options", {"pretrained": 1}, "model_options.pretrained of model resnet50: input "
     "should be a valid boolean, got 1"),
    ("studies.seeds", [True], "studies.seeds.0: Input should be a valid integer, got true"),
    ("studies.seeds", [0, 1.0], "studies.seeds.1: Input should be a valid integer, got 1.0"),
    ("studies.stack_size", True, "studies.stack_size: Input should be a valid integer, got true"),
    ("studies.search.configs", True, "studies.search.configs: Input should be a valid integer, got true"),
    ("studies.search.lr_spread", NAN, "studies.search.lr_spread: Input should be a finite number"),
    ("studies.search.c", [], "studies.search.c: List should have at least 1 item"),
    ("studies.search.c", [0.0, 0.5], "studies.search.c: each c = 0.0 must be in (0, 1]"),
    ("studies.search.dropout", [1.0], "studies.search.dropout: each dropout = 1.0 must be in [0, 1)"),
    ("studies.reference.lr_factor", INF, "studies.reference.lr_factor: Input should be a finite number"),
    ("studies.reference.weight_decay_factor", -1.0, "studies.reference.weight_decay_factor: Input should be greater "
     "than or equal to 0, got -1.0"),
    ("studies.reference.seed", True, "studies.reference.seed: Input should be a valid integer, got true"),
    ("studies.table3.folds", True, "studies.table3.folds: Input should be a valid integer, got true"),
    ("studies.rows.gerne_known.config.c", True, "studies.rows.gerne_known.config.c: Input should be a valid number, "
     "got true"),
    ("studies.rows.gerne_known.eval_train", 1, "studies.rows.gerne_known.eval_train: Input should be a valid "
     "boolean, got 1"),
    ("studies.rows.gerne_tuned_known.search", {"beta": [0.5, NAN]}, "studies.rows.gerne_tuned_known.search.beta.1: "
     "Input should be a finite number, got .nan"),
    ("studies.rows.gerne_tuned_known.search", {"c": [0.0, 0.5]}, "studies.rows.gerne_tuned_known.search: grid c = "
     "0.0 must be in (0, 1]"),
    ("studies.rows.erm_vanilla.protocol.cmnist.lr", INF, "studies.rows.erm_vanilla.protocol: protocol.cmnist.lr: "
     "Input should be a finite number, got .inf"),
    ("studies.rows.erm_vanilla.protocol.cmnist.steps", True, "protocol.cmnist.steps: Input should be a valid "
     "integer, got true"),
    ("studies.tables.attribution.rows_on", {"cmnist_hue": []}, "studies.tables.attribution.rows_on.cmnist_hue: "
     "List should have at least 1 item"),
    ("studies.tables.attribution.rows", ["jtt", "resample", "jtt"], "studies.tables.attribution.rows: rows lists "
     "['jtt'] more than once"),
    ("launch.num_cpus", True, "launch.num_cpus: Input should be a valid number, got true"),
    ("launch.num_cpus", INF, "launch.num_cpus: Input should be a finite number, got .inf"),
    ("launch.num_gpus", -0.5, "launch.num_gpus: Input should be greater than or equal to 0"),
    ("launch.max_retries", True, "launch.max_retries: Input should be a valid integer, got true"),
    ("launch.object_store_memory", 2.5, "launch.object_store_memory: Input should be a valid integer"),
])
def test_values_of_the_wrong_type_or_range_are_refused_naming_the_field(key: str, value: object, message: str
                                                                        ) -> None:
    """Booleans are no numbers, whole numbers no booleans, floats finite, rates positive, sizes at least 1: each
    refused value is named with its field, what it must be and what was given (as YAML writes it)."""
    data = set_dotted(copy.deepcopy(_params()), **{key: value})
    with pytest.raises(ConfigError) as info:
        parse_params(data, "params.yaml")
    assert message in str(info.value)


@pytest.mark.parametrize("key", ["studies.seeds", "studies.device", "studies.search", "studies.reference"])
def test_keys_the_stages_read_must_be_written(key: str) -> None:
    """DVC refuses a stage whose parameter (e.g. studies.seeds of every train stage) is missing from params.yaml, so
    validation refuses it too instead of a default standing in for it."""
    data = set_dotted(copy.deepcopy(_params()), **{key: None})
    with pytest.raises(ConfigError, match=rf"{key}: missing: add it \(.*reads {key}\)"):
        parse_params(data)


def test_own_data_defaults_are_defined_on_any_data() -> None:
    """Own data: the oracle picks by test GBA (WGA is 0 wherever one test group is tiny), by worst-class accuracy
    without attributes; pseudo-attribute precision/recall is rated at default shares; what is written wins."""
    from pipeline.studies.config import OWN_THRESHOLDS

    data = _params()
    data["datasets"].update(mine=dict(OWN), blind={**OWN, "prepare": {"image_size": 8, "attributes": False}},
                            set_={**OWN, "oracle_metric": "test_wga", "pseudo_thresholds": [0.3]})
    p = parse_params(data)
    mine, blind, written = p.datasets["mine"], p.datasets["blind"], p.datasets["set_"]
    assert (mine.oracle_metric, mine.pseudo_thresholds) == ("test_gba", list(OWN_THRESHOLDS))
    assert (blind.oracle_metric, blind.pseudo_thresholds) == ("test_worst_class", [])
    assert (written.oracle_metric, written.pseudo_thresholds) == ("test_wga", [0.3])
    assert p.datasets["waterbirds"].oracle_metric == "test_wga"  # the releases keep Table 2's rule
