"""Validation-only search: grid, Eq. 9 skipping, resume, selection, winner rerun (real runs on a toy dataset)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from gerne.config import load_params
from gerne.errors import DataError
from gerne.runs.sweep import grid, point_name, run_sweep, select, tune
from tests.helpers import toy_dataset
from tests.pipeline.test_stages import write_params


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    toy_dataset(tmp_path / "toy")
    params = load_params(write_params(tmp_path / "p.yaml", **{
        "sweep.known": {"c": [0.5, 1.0], "beta": [0.0, 5.0]}, "train.seeds": [0, 1]}))
    return tmp_path, params


def _n_runs(root: Path) -> int:
    client = MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    return len(client.search_runs([client.get_experiment_by_name("cmnist").experiment_id]))


def test_grid_order_and_names(setup) -> None:
    _, params = setup
    assert grid(params, "known") == [{"c": 0.5, "beta": 0.0}, {"c": 0.5, "beta": 5.0}, {"c": 1.0, "beta": 0.0},
                                     {"c": 1.0, "beta": 5.0}]
    assert grid(params, "unknown")[0] == {"t": 0.1, "c": 0.5, "beta": 1.0}  # in units of the ratio as configured
    assert grid(params.for_ratio(0.5), "unknown")[0] == {"t": 5.0e-4, "c": 0.5, "beta": 1.0}  # what 0.5 % trains
    assert point_name("unknown", {"t": 1.0e-3, "c": 0.5, "beta": 2.5}) == "sweep_unknown_t0.001_c0.5_b2.5"


def test_sweep_skips_points_outside_eq9_and_resumes(setup) -> None:
    root, params = setup
    result = run_sweep(params, "known", "toy", 0.5, "sweep")
    assert [t["point"] for t in result["trained"]] == [{"c": 0.5, "beta": 0.0}, {"c": 1.0, "beta": 0.0}]
    assert [s["point"]["beta"] for s in result["skipped"]] == [5.0, 5.0]
    assert "Eq. 9" in result["skipped"][0]["reason"]
    assert _n_runs(root) == 2
    run_sweep(params, "known", "toy", 0.5, "sweep")  # resumes: nothing retrained
    assert _n_runs(root) == 2


def test_select_uses_validation_only(setup) -> None:
    _, params = setup
    run_sweep(params, "known", "toy", 0.5, "sweep")
    choice = select("sweep")
    vals = {c["name"]: c["value"] for c in choice["candidates"]}
    assert choice["best"]["value"] == max(vals.values())
    assert choice["best"]["metric"] == "val_gba" and choice["skipped"] == [{"c": 0.5, "beta": 5.0},
                                                                            {"c": 1.0, "beta": 5.0}]


def test_tune_reruns_the_winner_with_every_seed(setup) -> None:
    root, params = setup
    choice = tune(params, "known", "toy", 0.5, "sweep", "tuned")
    assert json.loads((root / "sweep/selected.json").read_text())["best"] == choice["best"]
    for seed in (0, 1):
        summary = json.loads((root / f"tuned/seed{seed}.json").read_text())
        assert summary["setting"] == "gerne_tuned_known"
        assert {k: summary["config"]["setting"][k] for k in ("c", "beta")} == choice["best"]["point"]


def test_select_without_trained_points(tmp_path: Path) -> None:
    (tmp_path / "grid.json").write_text(json.dumps({"kind": "known", "ratio": 0.5, "seed": 0, "trained": [],
                                                    "skipped": []}))
    with pytest.raises(DataError, match="no grid point was trained"):
        select(tmp_path)


def test_stacked_grid_points_match_points_trained_alone(setup) -> None:
    """``train.stack_size`` stacks grid points of different c and β: same curves as one point per model, and the
    stacked MLflow runs say so in their tag."""
    root, params = setup
    params = params.model_copy(update={"sweep": params.sweep.model_copy(update={
        "known": params.sweep.known.model_copy(update={"c": [0.5, 1.0], "beta": [-0.5, 0.0]})})})
    alone = run_sweep(params, "known", "toy", 0.5, "alone")
    stacked_params = params.model_copy(update={"train": params.train.model_copy(update={"stack_size": 3})})
    stacked = run_sweep(stacked_params, "known", "toy", 0.5, "stacked")
    assert alone["trained"] == stacked["trained"] and len(stacked["trained"]) == 4
    for entry in stacked["trained"]:
        one, many = (json.loads((root / d / entry["name"] / "seed0.json").read_text()) for d in ("alone", "stacked"))
        assert one["config"]["setting"] == many["config"]["setting"]
        for a, b in zip(one["history"], many["history"], strict=True):
            assert a["val_gba"] == pytest.approx(b["val_gba"], abs=1e-6)
            assert a["loss_ext"] == pytest.approx(b["loss_ext"], rel=1e-4)
    client = MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("cmnist").experiment_id])
    assert sorted(r.data.tags["stacked_runs"] for r in runs) == ["1"] * 4 + ["1", "3", "3", "3"]
    run_sweep(params, "known", "toy", 0.5, "stacked")  # the stack size is no part of a point: nothing retrained
    assert len(client.search_runs([client.get_experiment_by_name("cmnist").experiment_id])) == 8
