"""The documented smoke run, for real: `dvc exp run -S …` on a project copy, real MLflow SQLite store."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import REPO
from tests.pipeline.conftest import run

SMOKE = ["-S", "cmnist.ratios=[0.5]", "-S", "train.seeds=[0]", "-S", "train.epochs=2", "-S", "biased.epochs=2",
         "-S", "train.steps_per_epoch=10", "-S", "sweep.known.c=[0.5]", "-S", "sweep.known.beta=[1.0]",
         "-S", "sweep.unknown.t=[1.0]", "-S", "sweep.unknown.beta=[2.5]", "report"]
SETTINGS = ("erm", "resample", "gerne_known", "gerne_tuned_known", "gerne_unknown", "gerne_tuned_unknown")
SWEEP_POINTS = ("sweep_known_c0.5_b1.0", "sweep_unknown_t0.005_c0.5_b2.5")  # t = 1.0 × 0.5 %


def test_makefile_smoke_matches_the_tested_overrides() -> None:
    makefile = (REPO / "Makefile").read_text()
    smoke = makefile.split("SMOKE   :=")[1].split("\n\n")[0]
    for override in SMOKE[1:-1:2]:
        assert override in smoke
    assert smoke.rstrip().endswith(" report")


@pytest.mark.integration
def test_smoke_experiment_end_to_end(project_copy: tuple[Path, dict[str, str]]) -> None:
    root, env = project_copy
    start = time.perf_counter()
    run(["dvc", "exp", "run", *SMOKE], root, env)
    wall = time.perf_counter() - start
    print(f"smoke run wall time: {wall:.1f} s")
    # Measured 104 s on 2 idle cores; this shared VM has run up to 2.5x slower, so the test guards against
    # regressions (e.g. full epochs sneaking into the smoke run) rather than timing the machine.
    assert wall < 360, f"smoke run took {wall:.0f} s; it takes about 105 s on 2 idle cores"

    # report: one row per setting, the 0.5 % column, paper value and difference beside ours
    table = pd.read_csv(root / "reports/table1_cmnist.csv")
    assert set(table["setting"]) == set(SETTINGS)
    assert set(table["selection"]) == {"last", "best_val", "oracle"}
    assert (table["ratio"] == 0.5).all() and (table["n_seeds"] == 1).all()
    assert table["mean"].between(0, 100).all() and table["paper_mean"].notna().all()
    assert ((table["mean"] - table["paper_mean"]) - table["diff"]).abs().max() < 1e-6
    md = (root / "reports/table1_cmnist.md").read_text()
    assert "Selection: best_val" in md and "77.79" in md and "Incomplete" not in md
    selected = json.loads((root / "runs/cmnist_sweep/r0.5/known/selected.json").read_text())
    assert selected["best"]["point"] == {"c": 0.5, "beta": 1.0}

    # every run is in the project's own SQLite store (default URI, no env override)
    client = MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    exp = client.get_experiment_by_name("cmnist")
    runs = client.search_runs([exp.experiment_id])
    assert sorted(r.data.tags["setting"] for r in runs) == sorted([*SETTINGS, *SWEEP_POINTS, "biased"])
    for r in runs:
        assert r.info.status == "FINISHED"
        for tag in ("stage", "dataset", "ratio", "seed", "git_commit"):
            assert tag in r.data.tags
        history = client.get_metric_history(r.info.run_id, "test_gba")
        assert [m.step for m in history] == [1, 2]
        artifacts = {a.path for a in client.list_artifacts(r.info.run_id)}
        assert {"model", "group_accuracy.csv", "history.csv"} <= artifacts

    # the committed per-run summaries point at those MLflow runs
    ids = {r.info.run_id for r in runs}
    for setting in SETTINGS:
        summary = json.loads((root / f"runs/cmnist/r0.5/{setting}/seed0.json").read_text())
        assert summary["mlflow_run_id"] in ids
        assert summary["epochs_run"] == 2
    quality = json.loads((root / "metrics/cmnist/r0.5/pseudo.json").read_text())
    assert set(quality["thresholds"]) == {"0.0005", "0.001", "0.003", "0.005", "0.01"}  # 0.1-2 × 0.5 %
    unknown = json.loads((root / "runs/cmnist/r0.5/gerne_unknown/seed0.json").read_text())
    assert unknown["config"]["setting"]["t"] == 0.005  # runs record the share they trained with, not the multiple

    status = run(["dvc", "status", "report"], root, env)
    assert "up to date" in status.stdout
