"""Validation-only search: grid, Eq. 9 skipping, resume, selection, winner rerun (real runs on a toy dataset)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from gerne.errors import DataError
from pipeline.config import load_params
from pipeline.runs.sweep import grid, point_name, run_sweep, select, tune
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


def _runs(root: Path, stage: str | None = None) -> list:
    client = MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("cmnist").experiment_id])
    return [r for r in runs if stage is None or r.data.tags["stage"] == stage]


def _n_runs(root: Path) -> int:
    """Training runs (the sweep's parent runs are not counted)."""
    return sum(r.data.tags["stage"] != "sweep" for r in _runs(root))


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


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


def test_sweep_points_are_children_of_one_parent_run(setup) -> None:
    root, params = setup
    run_sweep(params, "known", "toy", 0.5, "sweep")
    (parent,) = _runs(root, "sweep")
    children = _runs(root, "train")
    assert len(children) == 2 and all(c.data.tags["mlflow.parentRunId"] == parent.info.run_id for c in children)
    best = select("sweep")["best"]
    assert parent.data.tags["selected"] == best["name"]
    assert parent.data.metrics["best/val_gba"] == pytest.approx(best["value"])
    assert parent.info.status == "FINISHED" and parent.data.metrics["points_skipped"] == 2


def test_failed_tune_leaves_the_previous_sweep_and_tuned_runs(setup) -> None:
    """A tune that fails part-way (here: the pseudo-attribute file of a new unknown grid is missing) changes no byte
    of the finished sweep folder or the tuned runs, and leaves no half-written state beside them."""
    root, params = setup
    tune(params, "known", "toy", 0.5, "sweep", "tuned")
    before = _tree(root / "sweep"), _tree(root / "tuned")
    with pytest.raises(DataError, match="pseudo-attribute"):
        tune(params, "unknown", "toy", 0.5, "sweep", "tuned", pseudo_file=None)
    assert (_tree(root / "sweep"), _tree(root / "tuned")) == before
    assert not (root / "tuned").with_name(".tuned.partial").exists()


def test_new_grid_replaces_the_old_points(setup) -> None:
    """After a sweep over another grid, the folder holds exactly the new grid's points, its grid.json and its
    selection; points of both grids that are unchanged are reused, not retrained."""
    root, params = setup
    tune(params, "known", "toy", 0.5, "sweep", "tuned")
    narrowed = params.model_copy(update={"sweep": params.sweep.model_copy(update={
        "known": params.sweep.known.model_copy(update={"c": [0.5], "beta": [0.0, -0.5]})})})
    trained = _n_runs(root)
    tune(narrowed, "known", "toy", 0.5, "sweep", "tuned")
    assert _n_runs(root) == trained + 1 + 2  # one new point, then the winner with both seeds
    names = sorted(p.name for p in (root / "sweep").iterdir())
    assert names == ["grid.json", "selected.json", "sweep_known_c0.5_b-0.5", "sweep_known_c0.5_b0.0"]
    assert sorted(p.name for p in (root / "tuned").iterdir()) == ["seed0.json", "seed1.json"]


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
    runs = _runs(root, "train")
    assert sorted(r.data.tags["stacked_runs"] for r in runs) == ["1"] * 4 + ["1", "3", "3", "3"]
    run_sweep(params, "known", "toy", 0.5, "stacked")  # the stack size is no part of a point: nothing retrained
    assert _n_runs(root) == 8


def test_every_committed_sweep_point_counts_as_done() -> None:
    """The resume check against the committed C-MNIST sweeps (golden files): with the committed params.yaml every
    trained point of every ratio and kind is done, also those written before later loop options existed."""
    from pipeline.runs.sweep import is_done, point_params
    from tests.conftest import REPO

    params = load_params(REPO / "params.yaml")
    checked = 0
    for ratio in params.cmnist.ratios:
        at_ratio = params.for_ratio(ratio)
        for kind in ("known", "unknown"):
            folder = REPO / f"runs/cmnist_sweep/r{ratio}/{kind}"
            trained = {e["name"] for e in json.loads((folder / "grid.json").read_text())["trained"]}
            for point in grid(at_ratio, kind):
                name, pparams = point_params(at_ratio, kind, point)
                if name in trained:
                    assert is_done(pparams, name, ratio, folder / name / "seed0.json"), f"{folder}/{name}"
                    checked += 1
    assert checked == 128  # 4 ratios × (10 known + 25 unknown) points, less those outside Eq. 9


def test_fingerprint_ignores_data_location_and_stacking_only(setup) -> None:
    from pipeline.runs.sweep import fingerprint

    config = {"setting": {"c": 0.5, "beta": 1.0}, "loop": {"epochs": 2, "lr": 0.1}, "train": {"stack_size": 1},
              "data": {"ratio": 0.5, "dir": "data/cmnist/r0.5"}}
    moved = {**config, "train": {"stack_size": 8}, "data": {"ratio": 0.5, "dir": "/elsewhere/r0.5"}}
    assert fingerprint(moved) == fingerprint(config)
    for changed in ({"setting": {"c": 0.5, "beta": 1.2}}, {"loop": {"epochs": 3, "lr": 0.1}},
                    {"data": {"ratio": 1.0, "dir": "data/cmnist/r0.5"}}):
        assert fingerprint({**config, **changed}) != fingerprint(config)
    assert fingerprint(config) == fingerprint({**config, "loop": {**config["loop"], "clip_norm": None}})
