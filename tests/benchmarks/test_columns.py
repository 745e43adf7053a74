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


def test_the_committed_gpu_price_renders_and_its_hours_follow_from_its_rates(tmp_path) -> None:
    from click.testing import CliRunner

    from benchmarks.columns import main
    from gerne.io import read_json

    measured = read_json(REPO / "metrics/columns_gpu.json")
    for name in COLUMNS:
        c = measured[name]
        for prec in ("bf16", "fp32"):
            expected = c["training_steps"] * c["images_per_step"] / c[f"model_{prec}_images_per_s"] / 3600
            assert abs(c[f"hours_{prec}"] - expected) < 0.01
    out = tmp_path / "columns.md"
    result = CliRunner().invoke(main, ["--from-json", str(REPO / "metrics/columns_gpu.json"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "H200" in text and f"| C-CIFAR-10 | {measured['C-CIFAR-10']['runs']} |" in text
    assert f"| {measured['bFFHQ']['hours_fp32']:.1f} | {measured['bFFHQ']['hours_bf16']:.1f} |" in text
