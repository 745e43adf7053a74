"""Golden summaries: the one harness's toy runs of every kind train what the code that trained the committed C-MNIST
results trained (frozen at commit 4809c76): the same history, epoch by epoch, the same selections, the same
pseudo-attribute quality, byte for byte, and the same fingerprint of what decides a run (the config schema itself
changed: the goldens hold the removed Table 1 runner's). LfF's golden is frozen at commit 33ab159, the LfF step that
trained the committed LfF runs, before its loss averages were stacked per run and its class maxima padded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.studies.resume import fingerprint, record_of
from tests.golden.toy_runs import outcome, toy_runs

GOLDEN = Path(__file__).parent / "toy"
TRAINED = ("known", "none", "pseudo", "stacked_seed0", "stacked_seed1", "sweep_point", "lff")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    import os

    work = tmp_path_factory.mktemp("golden")
    cwd, uri = os.getcwd(), os.environ.get("MLFLOW_TRACKING_URI")
    os.chdir(work)
    try:
        return json.loads(json.dumps(toy_runs(work)))
    finally:
        os.chdir(cwd)
        if uri is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = uri


def _golden(kind: str) -> dict:
    return json.loads((GOLDEN / f"{kind}.json").read_text())


def test_every_run_kind_has_a_golden(runs: dict) -> None:
    assert sorted(runs) == sorted(p.stem for p in GOLDEN.glob("*.json"))


@pytest.mark.parametrize("kind", TRAINED)
def test_run_trains_what_its_golden_trained(runs: dict, kind: str) -> None:
    golden = _golden(kind)
    assert len(runs[kind]["history"]) == 3
    assert outcome(runs[kind]) == outcome(golden)  # every loss and metric of every epoch, every selection
    assert fingerprint(record_of(runs[kind]["config"])) == fingerprint(record_of(golden["config"]))


def test_pseudo_attribute_quality_equals_its_golden(runs: dict) -> None:
    assert runs["pseudo_quality"] == _golden("pseudo_quality")


def test_reference_model_trains_what_the_golden_biased_model_trained(runs: dict) -> None:
    """The golden f̃ also scored the train split each epoch (train_*) and did not log L_lb: neither is training."""
    golden, ours = _golden("biased"), runs["biased"]
    keys = (set(golden["history"][0]) & set(ours["history"][0])) - {"loss_lb"}
    assert {"loss_b", "loss_ext", "val_cba", "test_gba"} <= keys
    assert [{k: h[k] for k in keys} for h in ours["history"]] == [{k: h[k] for k in keys} for h in golden["history"]]
    for rule, chosen in golden["selections"].items():
        theirs = ours["selections"][rule]
        assert chosen["epoch"] == theirs["epoch"] and chosen["metric"] == theirs["metric"]
        assert {k: v for k, v in chosen["metrics"].items() if k in keys} == \
            {k: v for k, v in theirs["metrics"].items() if k in keys}
