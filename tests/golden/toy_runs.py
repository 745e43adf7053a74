"""Toy-dataset runs of every run kind (biased, pseudo-attributes, known, none, pseudo, stacked, sweep point, LfF) on the
one harness, compared with the golden summaries of `tests/golden/toy/`: frozen from the code that trained the committed
C-MNIST results (commit 4809c76, the Table 1 runner since removed), so the harness that now trains the C-MNIST column
is held to what trained it. The toy design is C-MNIST's (kind cmnist at 0.5 %, t in units of the ratio) with 3 epochs.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import yaml

VOLATILE = ("mlflow_run_id", "seconds_per_epoch")
OUTCOME = ("history", "selections", "epochs_run", "diverged", "steps_per_epoch")  # what training produced
EPOCHS = 3
ROWS = {  # golden kind -> the row that trains it
    "known": ("gerne_known", {"method": "gerne", "groups": "known", "search": "none", "config": {"beta": 1.0}}),
    "none": ("erm", {"method": "gerne", "groups": "none", "search": "none", "config": {"c": 1.0, "beta": -1.0}}),
    "pseudo": ("gerne_unknown", {"method": "gerne", "groups": "confidence", "search": "none",
                                 "config": {"beta": 2.5, "t": 1.0, "lr": 1.0e-2}}),
    "stacked": ("resample", {"method": "gerne", "groups": "known", "search": "none",
                             "config": {"c": 1.0, "beta": 0.0}}),
    "sweep": ("gerne_tuned_known", {"method": "gerne", "groups": "known", "search": {"c": [0.5], "beta": [0.5]}}),
    "lff": ("lff", {"method": "lff", "groups": "none", "search": "none", "protocol": {"cmnist": {
        "optimizer": "adam", "lr": 1.0e-3, "weight_decay": 0.0, "batch_size": 32, "batch_unit": "total"}}}),
}


def outcome(summary: dict[str, Any]) -> dict[str, Any]:
    """What a run produced (history, selections, epochs, divergence, steps), JSON-normalised."""
    return json.loads(json.dumps({k: summary[k] for k in OUTCOME}))


def design() -> dict[str, Any]:
    """The committed params.yaml with a 3-epoch C-MNIST-like toy dataset and the rows of every run kind."""
    from tests.conftest import REPO

    data = copy.deepcopy(yaml.safe_load((REPO / "params.yaml").read_text()))
    toy = {k: v for k, v in data["datasets"]["cmnist"].items() if k != "dir"}
    data["datasets"] = {"toy": {**toy, "epochs": EPOCHS}}
    data["studies"].update(seeds=[0], device="cpu", tables={}, rows={n: {"select": "val_gba", **r} for n, r in
                                                                   ROWS.values()})
    data.pop("figures", None)
    return data


def toy_runs(work: Path) -> dict[str, dict[str, Any]]:
    """Train every run kind on the toy dataset in ``work``; returns ``{kind: summary}`` (``pseudo_quality``: the
    scores stage's precision/recall file)."""
    from pipeline.config import parse_params
    from pipeline.studies import reference, stages
    from tests.helpers import toy_dataset

    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{work / 'mlflow.db'}"
    data = toy_dataset(work / "toy")
    p = parse_params(design())
    out: dict[str, dict[str, Any]] = {}
    out["biased"] = reference.train_reference(p, "toy", data, work / "biased.pt", work / "biased.json")
    reference.score(p, "toy", data, work / "biased.pt", work / "pseudo.npz", work / "pseudo.json")
    out["pseudo_quality"] = json.loads((work / "pseudo.json").read_text())
    for kind in ("known", "none", "pseudo", "lff"):
        row = ROWS[kind][0]
        stages.train(p, "toy", row, data, work / row, work / "pseudo.npz")
        out[kind] = json.loads((work / row / "seed0.json").read_text())
    stacked = parse_params({**design(), "studies": {**design()["studies"], "seeds": [0, 1], "stack_size": 2}})
    stages.train(stacked, "toy", "resample", data, work / "stacked")
    for seed in (0, 1):
        out[f"stacked_seed{seed}"] = json.loads((work / "stacked" / f"seed{seed}.json").read_text())
    stages.search(p, "toy", "gerne_tuned_known", data, work / "sweep", work / "tuned")
    out["sweep_point"] = json.loads((work / "sweep/sweep_known_c0.5_b0.5/seed0.json").read_text())
    return out
