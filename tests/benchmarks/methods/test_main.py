"""Every method at its floor: the recorded products are the step's own, and every row of a study is measured as the
train stage builds it (SGD rows beside floor and reference; DFR's fit beside one scikit-learn fit)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from torch import nn

from benchmarks.methods.__main__ import main
from benchmarks.methods.floor import MatmulRecorder, replay
from benchmarks.run import main as run_main
from tests.conftest import REPO

ROWS = ["erm_vanilla", "erm", "groupdro", "lff", "dfr", "resample", "gerne_known"]


def test_the_recorder_sees_forward_and_backward_products() -> None:
    """An MLP 12 → 8 → 4 on 5 rows: 2 forward products, 2 weight gradients, 1 input gradient (the first layer's
    input needs none)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 4))
    x, y = torch.rand(5, 12), torch.randint(0, 4, (5,))
    with MatmulRecorder() as rec:
        nn.functional.cross_entropy(model(x), y).backward()
    assert [name for name, _ in rec.calls] == ["addmm", "addmm", "mm", "mm", "mm"]
    assert rec.flops() == 2 * (5 * 12 * 8 + 5 * 8 * 4) * 2 + 2 * 5 * 4 * 8
    shapes = [[s for s, _t in specs] for _n, specs in rec.calls]
    assert shapes[0] == [(8,), (5, 12), (12, 8)] and rec.calls[0][1][2][1]  # W^T: a transposed view
    replay(rec.calls, torch.device("cpu"))()  # the same products run alone


@pytest.fixture
def project(toy_study) -> Path:
    """A toy C-MNIST 0.5 % with the Table 1 study cut to a few rows and a reference model for DFR."""
    return toy_study(ROWS, [0])


def test_every_row_of_the_study_beside_its_floor(project: Path) -> None:
    result = CliRunner().invoke(main, ["--steps", "2", "--rounds", "2", "--stack", "2"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    measured = json.loads((project / "metrics/benchmarks_methods.json").read_text())
    rows = {r["row"]: r for r in measured["rows"]}
    assert list(rows) == ROWS
    assert measured["malloc_tuned"] is sys.platform.startswith("linux")  # the train stages' allocator setting
    b, k = 100, 3  # the committed C-MNIST protocol's batch (per class), the toy's classes
    assert rows["groupdro"]["rows_per_step"] == b * k  # group-balanced: B per class
    assert rows["erm"]["rows_per_step"] == 2 * b * k  # GERNE at β = −1 still forwards its (zero-weight) 2nd batch
    assert rows["gerne_known"]["rows_per_step"] == 2 * b * k  # two batches (Eq. 10's biased and unbiased)
    assert rows["erm_vanilla"]["rows_per_step"] == 256  # DFA's recipe: uniform batches of 256
    assert rows["lff"]["rows_per_step"] == 2 * 256  # LfF's two models, each on the batch of 256
    for name in ("erm", "gerne_known", "lff", "erm_vanilla", "groupdro", "resample"):
        r = rows[name]
        assert r["step_s"] > 0 and r["floor_s"] > 0 and r["reference_s"] > 0 and r["ratio_floor"] > 0, name
        assert r["run_s"] == pytest.approx(r["steps_per_run"] * r["step_s"] + r["evaluations_per_run"] * r["eval_s"])
    assert rows["erm_vanilla"]["optimizer"] == "adam" and rows["erm"]["optimizer"] == "sgd"
    layers = [(3 * 6 * 6, 100), (100, 100), (100, 16), (16, 3)]  # erm_vanilla's MLP on the toy's 6×6 RGB, K = 3
    forward = 2 * 256 * sum(i * o for i, o in layers)
    backward = forward + 2 * 256 * sum(i * o for i, o in layers[1:])  # weight gradients, input gradients but the first
    assert rows["erm_vanilla"]["gflop_per_step"] * 1e9 == pytest.approx(forward + backward)
    scored = 90 + 90  # the toy's val and test (conftest.toy_study), one forward each; train is not scored
    assert rows["erm_vanilla"]["eval_gflop"] * 1e9 == pytest.approx(2 * scored * sum(i * o for i, o in layers))
    assert all(r["eval_floor_s"] > 0 for r in rows.values() if "step_s" in r)
    dfr = rows["dfr"]
    assert "step_s" not in dfr and dfr["fit_s"] > 0 and dfr["single_fit_s"] > 0 and dfr["subsets"] == 10
    for name in ("erm_vanilla", "erm", "groupdro", "lff", "resample", "gerne_known"):  # every SGD row stacks
        r = rows[name]
        assert r["stack"] == 2 and r["stacked_step_s"] > 0 and r["stack_speedup"] > 0, name
        assert r["stacked_run_s"] == pytest.approx(r["steps_per_run"] * r["stacked_step_s"] / 2
                                                   + r["evaluations_per_run"] * r["stacked_eval_s"])
    assert "stack" not in dfr and "| `gerne_known` | gerne, sgd | 600 |" in result.output


def test_the_benchmark_report_holds_every_method_beside_its_floor(project: Path) -> None:
    """One report: `benchmark_report` renders the GERNE step's measurement and the methods' into benchmarks.md."""
    CliRunner().invoke(main, ["--steps", "1", "--rounds", "1", "--stack", "2"], catch_exceptions=False)
    (project / "metrics/benchmarks.json").write_text((REPO / "metrics/benchmarks.json").read_text())
    args = ["--from-json", "metrics/benchmarks.json", "--methods", "metrics/benchmarks_methods.json", "--no-track",
            "--out", "reports/benchmarks.md"]
    result = CliRunner().invoke(run_main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = (project / "reports/benchmarks.md").read_text()
    assert report.startswith("# Training speed") and "## Every method at its floor — cmnist" in report
    assert "| `gerne_known` | gerne, sgd | 600 |" in report and "| `dfr` |" in report
    assert "| evaluation, s | evaluation / floor |" in report
    assert "**The study's column at these prices: 13 runs, " in report  # a seed per row, DFR's 6 other C values
    assert "with every stackable row's runs stacked 2 at a time" in report
    again = CliRunner().invoke(run_main, args, catch_exceptions=False)  # renders, measures nothing
    assert again.exit_code == 0 and (project / "reports/benchmarks.md").read_text() == report


def test_a_dataset_outside_the_study_is_refused(project: Path) -> None:
    result = CliRunner().invoke(main, ["--dataset", "cmnist_r1"])
    assert result.exit_code != 0 and "'cmnist_r1' is not a dataset of study 'table1'" in result.output
    assert not (project / "metrics/benchmarks_methods.json").exists()
