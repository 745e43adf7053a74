"""The benchmark code runs and reports consistent numbers (on a toy dataset; real timings live in reports/)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from benchmarks.measure.suite import run_suite, to_markdown
from benchmarks.measure.timing import PHASES, floor_seconds, plain_epoch_seconds, step_phase_ms
from benchmarks.run import main as bench_cli
from gerne.data.contract import load_tensor_dataset
from gerne.io import write_json
from gerne.models import build_model
from tests.helpers import toy_dataset


def test_suite_on_toy_data(tmp_path: Path) -> None:
    result = run_suite(toy_dataset(tmp_path / "toy"), torch.device("cpu"), epochs=1, stack=2, rounds=1, run_epochs=10)
    for key in ("erm_s_per_epoch", "gerne_s_per_epoch", "erm_floor_s", "gerne_floor_s", "stacked_s_per_run_epoch",
                "naive_s_per_epoch", "data_path_images_per_s", "erm_plain_s_per_epoch", "gerne_plain_s_per_epoch"):
        assert result[key] > 0 and math.isfinite(result[key]), key
    assert result["gerne_over_erm_per_step"] == result["gerne_s_per_epoch"] / result["erm_s_per_epoch"]
    assert result["gerne_faults_per_epoch"] >= 0
    if "gerne_default_malloc_s_per_epoch" in result:  # measured only while glibc's defaults were still in effect
        assert result["gerne_default_malloc_s_per_epoch"] > 0
        assert "glibc's default malloc" in to_markdown(result)
    md = to_markdown(result)
    assert "| GERNE epoch (two batches per step), s |" in md and result["machine"] in md
    plain = result["erm_plain_s_per_epoch"]
    assert f"| framework reference: plain eager PyTorch step, ERM's batch preloaded, s | {plain:.3f} |" in md
    older = {k: v for k, v in result.items() if "_plain_" not in k}  # a JSON measured before the reference rows
    assert "framework reference" not in to_markdown(older) and "| ERM epoch" in to_markdown(older)
    assert result["step_host_syncs"] is None and "CPU: none possible" in md  # counted on a GPU only
    for key in ("erm", "gerne"):  # the best-against-best ratio lies within the per-round ratios
        ratios = result[f"{key}_round_ratios"]
        best = result[f"{key}_s_per_epoch"] / result[f"{key}_floor_s"]
        assert len(ratios) == 1 and min(ratios) <= best <= max(ratios)
    assert f"(rounds: median {result['erm_round_ratios'][0]:.2f}×, " in md and "best of 1 rounds" in md
    assert "## Where a step's time goes" in md and "| `zero_grad()` + `backward()` |" in md
    assert set(result["step_phases_ms"]["erm"]) == set(PHASES)
    unphased = {k: v for k, v in result.items() if not k.startswith(("step_phase", "rounds")) and "round_" not in k}
    assert "Where a step's time goes" not in to_markdown(unphased)  # a JSON measured before the phase rows
    assert "mean over the timed epochs" in to_markdown(unphased) and "(rounds:" not in to_markdown(unphased)
    faster = min(result["gerne_s_per_epoch"], result["stacked_s_per_run_epoch"])  # runs/hour at the faster way
    assert result["run_stack_size"] == (2 if faster < result["gerne_s_per_epoch"] else 1)
    assert result["seconds_per_run"] >= 10 * faster
    assert result["stacked_by_size"] == {"2": result["stacked_s_per_run_epoch"]} and "| 2 runs stacked" in md
    # a result measured elsewhere (benchmarks/device.sh) renders to the same table through the CLI
    write_json(tmp_path / "gpu.json", result)
    out = CliRunner().invoke(bench_cli, ["--from-json", str(tmp_path / "gpu.json"), "--out", str(tmp_path / "b.md"),
                                         "--no-track", "--data", str(tmp_path / "absent")])  # no data needed
    assert out.exit_code == 0, out.output
    assert (tmp_path / "b.md").read_text() == md
    missing = CliRunner().invoke(bench_cli, ["--data", str(tmp_path / "absent"), "--no-track"])
    assert missing.exit_code == 2 and "does not exist; build it first" in missing.output


def test_column_hours_price_sweep_points_stacked(tmp_path: Path) -> None:
    kwargs = {"epochs": 1, "stack": 2, "rounds": 1, "run_epochs": 10, "column_runs": 10}
    result = run_suite(toy_dataset(tmp_path / "toy"), torch.device("cpu"), sweep_runs=4, **kwargs)
    alone = 10 * (result["gerne_s_per_epoch"] + result["eval_s_per_epoch"]) + 15.0
    assert result["column_hours"] * 3600 == pytest.approx(6 * alone + 4 * result["seconds_per_run"])
    assert "4 sweep points at the runs/hour above" in to_markdown(result)


def test_floor_grows_with_rows() -> None:
    shapes = [(512, 256), (256, 10)]
    small = floor_seconds(shapes, rows=64, steps=5, device=torch.device("cpu"))
    large = floor_seconds(shapes, rows=4096, steps=5, device=torch.device("cpu"))
    assert large > small > 0


def test_floor_phases_split_the_products() -> None:
    shapes, cpu = [(1024, 512), (512, 256)], torch.device("cpu")
    forward = floor_seconds(shapes, rows=2048, steps=5, device=cpu, phases=("forward",))
    both = floor_seconds(shapes, rows=2048, steps=5, device=cpu)
    assert 0 < forward < both  # the backward half has twice the products


def test_step_phases_time_the_real_step(tmp_path: Path) -> None:
    splits = load_tensor_dataset(toy_dataset(tmp_path / "toy"))
    phases = step_phase_ms(splits, c=0.5, beta=1.0, track=True, epochs=1)
    assert list(phases) == list(PHASES) and all(v > 0 and math.isfinite(v) for v in phases.values())


def test_plain_reference_trains_the_model() -> None:
    model = build_model("mlp", (4, 4, 3), 5, hidden=[8])
    before = [p.detach().clone() for p in model.parameters()]
    assert plain_epoch_seconds(model, rows=16, steps=3, device=torch.device("cpu")) > 0
    assert all(not torch.equal(b, p) for b, p in zip(before, model.parameters(), strict=True))


def test_data_path_before_after() -> None:
    from benchmarks.measure.data_path import data_path, to_markdown

    r = data_path(n_images=4, batch=4, size=32)
    assert r["jpeg_decode_images_per_s"] > 0 and r["prepared_gather_images_per_s"] > r["jpeg_decode_images_per_s"]
    assert "| speed-up |" in to_markdown(r, "test machine")
