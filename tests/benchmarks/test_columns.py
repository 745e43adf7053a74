"""Pricing Table 1's other columns: the runs and training steps each column's declaration makes."""

from __future__ import annotations

import yaml

from benchmarks.columns import COLUMNS, column_steps, steps_per_run
from pipeline.config import load_params
from tests.conftest import REPO

RAW = yaml.safe_load((REPO / "params.yaml").read_text())


def test_steps_follow_the_declared_budgets() -> None:
    p = load_params(REPO / "params.yaml")
    assert steps_per_run(p, "ccifar10") == 140 * 45  # ceil(45,000 / (100 · 10)) steps per epoch
    assert steps_per_run(p, "bffhq") == 25_000


def test_a_column_is_priced_over_its_own_runs_only() -> None:
    runs, steps = column_steps(RAW, COLUMNS["C-CIFAR-10"][0])
    one, _ = column_steps(RAW, ["ccifar10"])
    assert runs == 4 * one and steps == runs * 140 * 45
    runs, steps = column_steps(RAW, COLUMNS["bFFHQ"][0])
    assert steps == runs * 25_000 and runs == one  # the same rows, seeds and grids as one C-CIFAR-10 ratio
