"""The documented smoke run, for real: plain `dvc exp run --temp -S …` (C-MNIST at 0.5 % alone, 2 epochs, GERNE's
rows and Fig. 2's; the attribution studies dropped) on a project copy, real MLflow SQLite store. The experiment never
touches the workspace; its results live in the DVC experiment and in MLflow's "cmnist (trials)"."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import REPO
from tests.pipeline.conftest import run

SMOKE = ["-S", "studies.tables.table1.datasets=[cmnist]", "-S", "studies.seeds=[0]", "-S", "datasets.cmnist.epochs=2",
         "-S", "datasets.cmnist.steps_per_epoch=10", "-S", "studies.rows.gerne_tuned_known.search.c=[0.5]",
         "-S", "studies.rows.gerne_tuned_known.search.beta=[1.0]",
         "-S", "studies.rows.gerne_tuned_unknown.search.t=[1.0]",
         "-S", "studies.rows.gerne_tuned_unknown.search.beta=[2.5]",
         "-S", "studies.tables.table1.rows=[erm,resample,gerne_known,gerne_tuned_known,gerne_unknown,"
         "gerne_tuned_unknown]",  # GERNE's rows: the baselines' own recipes train for minutes
         "-S", "~studies.tables.attribution", "-S", "~studies.tables.attribution_ratios",  # the baselines' recipes
         "report", "figures"]
SHOW_DROP = r".*/"  # README's `dvc exp show`: no dependency hashes
SETTINGS = ("erm", "resample", "gerne_known", "gerne_tuned_known", "gerne_unknown", "gerne_tuned_unknown")


def test_makefile_smoke_matches_the_tested_overrides() -> None:
    makefile = (REPO / "Makefile").read_text()
    smoke = makefile.split("SMOKE   :=")[1].split("\n\n")[0]
    for override in SMOKE[1:-1:2]:
        assert override in smoke
    assert smoke.rstrip().endswith(" report figures")
    recipe = makefile.split("\nsmoke:")[1].split("\n\n")[0]
    assert "dvc exp run --temp" in recipe  # a temp copy, never applied to the workspace


def _exp_file(root: Path, env: dict[str, str], name: str, path: str) -> str:
    """``path`` as the DVC experiment ``name`` committed it (experiments are git refs under refs/exps)."""
    refs = run(["git", "for-each-ref", "refs/exps", "--format=%(refname) %(objectname)"], root, env).stdout.split("\n")
    (sha,) = [line.split()[1] for line in refs if line.split(" ")[0].endswith(f"/{name}")]
    return run(["git", "show", f"{sha}:{path}"], root, env).stdout


def _workspace_changes(root: Path) -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=root, capture_output=True,
                          text=True, check=True).stdout

@pytest.mark.integration
def test_smoke_experiment_end_to_end(project_copy: tuple[Path, dict[str, str]]) -> None:
    root, env = project_copy
    params_before = (root / "params.yaml").read_bytes()
    start = time.perf_counter()
    run(["gerne", "store-init", "--no-import"], root, env)  # as make smoke does
    run(["dvc", "exp", "run", "--temp", "-n", "smoke-test", *SMOKE], root, env)
    print(f"smoke run wall time: {time.perf_counter() - start:.1f} s")  # reported, never asserted: machines vary

    # the trial left the workspace exactly as committed: params, results, reports, lock
    assert (root / "params.yaml").read_bytes() == params_before
    assert _workspace_changes(root) == ""
    assert not (root / "reports").exists() and not (root / "runs").exists()

    # report of the experiment: one row per setting, the 0.5 % column, paper value and difference beside ours
    table = pd.read_csv(io.StringIO(_exp_file(root, env, "smoke-test", "reports/tables/table1_cmnist.csv")))
    assert set(table["setting"]) == set(SETTINGS)
    assert set(table["selection"]) == {"last", "best_val", "oracle", "test"}  # test: the paper's protocol
    assert (table["ratio"] == 0.5).all() and (table["n_seeds"] == 1).all()
    balanced = table["setting"] == "erm"  # class-balanced ERM: no paper row trains it (the paper's is erm_vanilla's)
    assert table["mean"].between(0, 100).all() and table.loc[~balanced, "paper_mean"].notna().all()
    assert table.loc[balanced, "paper_mean"].isna().all()
    assert ((table["mean"] - table["paper_mean"]) - table["diff"]).abs().max() < 1e-6
    md = _exp_file(root, env, "smoke-test", "reports/tables/table1_cmnist.md")
    assert "Selection: best_val" in md and "77.79" in md and "Incomplete" not in md
    selected = json.loads(_exp_file(root, env, "smoke-test",
                                    "runs/sweeps/cmnist/r0.5/gerne_tuned_known/selected.json"))
    assert selected["best"]["point"] == {"c": 0.5, "beta": 1.0}

    # `dvc exp show` answers "what changed" on one screen: the headline metrics are its only metric columns
    assert f"dvc exp show --only-changed --drop '{SHOW_DROP}'" in (REPO / "README.md").read_text()
    shown = run(["dvc", "exp", "show", "--csv", "--only-changed", "--drop", SHOW_DROP], root, env).stdout
    header = next(csv.reader(io.StringIO(shown)))
    metric_cols = [c for c in header if c.startswith(("known.", "unknown."))]
    assert len(header) <= 40, header
    assert sorted(metric_cols) == ["known.r0.5", "unknown.r0.5"]  # the declared headline: GERNE's tuned rows
    best = table[table["selection"] == "best_val"].set_index("setting")["mean"]
    headline = json.loads(_exp_file(root, env, "smoke-test", "metrics/headline.json"))
    assert headline == {"known": {"r0.5": pytest.approx(best["gerne_tuned_known"], abs=1e-3)},
                        "unknown": {"r0.5": pytest.approx(best["gerne_tuned_unknown"], abs=1e-3)}}

    # every run is in the project's own SQLite store (default URI), filed as a trial, never under "cmnist"
    client = MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    main_exp = client.get_experiment_by_name("cmnist")  # `gerne store-init` creates it (empty) beside its trials
    assert main_exp is None or client.search_runs([main_exp.experiment_id]) == []
    exp = client.get_experiment_by_name("cmnist (trials)")
    runs = client.search_runs([exp.experiment_id])
    training = [r for r in runs if r.data.tags["stage"] in ("train", "reference")]
    # the tuned rows: their search point (reused as the winner's seed 0) under the search's parent run; Fig. 2's
    # rows (two of them beyond Eq. 9); no attribution row
    assert sorted(r.data.tags["setting"] for r in training) == sorted(
        [*(s for s in SETTINGS if "tuned" not in s), "gerne_tuned_known", "gerne_tuned_unknown", "biased",
         *(f"fig2_beta_{b}" for b in ("m1", "0", "1", "1p2", "1p25", "1p3"))])
    assert {r.data.tags["stage"] for r in runs} == {"train", "reference", "sweep", "report"}
    for r in runs:
        assert r.info.status == "FINISHED"
        assert r.data.tags["dvc_experiment"] == "smoke-test" and r.info.run_name.endswith(" @ smoke-test")
        for tag in ("stage", "dataset", "git_commit", "git_dirty", "dvc_stage"):
            assert tag in r.data.tags
    for r in training:
        history = client.get_metric_history(r.info.run_id, "test_gba")
        assert [m.step for m in history] == [1, 2]
        assert "best_val/test_gba" in r.data.metrics and "oracle/test_wga" in r.data.metrics
        artifacts = {a.path for a in client.list_artifacts(r.info.run_id)}
        assert {"model", "group_accuracy.csv", "history.csv"} <= artifacts
    sweeps = {r.info.run_id for r in runs if r.data.tags["stage"] == "sweep"}
    points = [r for r in training if r.info.run_name.startswith(("cmnist-gerne_tuned_known-sweep_",
                                                                 "cmnist-gerne_tuned_unknown-sweep_"))]
    assert len(sweeps) == 2 and all(r.data.tags["mlflow.parentRunId"] in sweeps for r in points)
    reports = {r.info.run_name.split(" @ ")[0]: r for r in runs if r.data.tags["stage"] == "report"}
    assert sorted(reports) == ["figure-fig2_cmnist", "figure-fig3_cmnist", "report-REPRODUCTION",
                               "report-table1_cmnist"]
    artifacts = {a.path for a in client.list_artifacts(reports["report-table1_cmnist"].info.run_id)}
    assert artifacts >= {"table1_cmnist.md", "headline.json"}

    # the experiment's summaries point at those MLflow runs
    ids = {r.info.run_id for r in runs}
    for setting in SETTINGS:
        summary = json.loads(_exp_file(root, env, "smoke-test", f"runs/cmnist/r0.5/{setting}/seed0.json"))
        assert summary["mlflow_run_id"] in ids
        assert summary["epochs_run"] == 2
    quality = json.loads(_exp_file(root, env, "smoke-test", "models/cmnist/r0.5/pseudo.json"))
    assert set(quality["thresholds"]) == {"0.0005", "0.001", "0.003", "0.005", "0.01"}  # 0.1-2 × 0.5 %
    unknown = json.loads(_exp_file(root, env, "smoke-test", "runs/cmnist/r0.5/gerne_unknown/seed0.json"))
    assert unknown["config"]["training"]["t"] == 0.005  # runs record the share they trained with, not the multiple
    assert unknown["config"]["search_config"]["t"] == 1.0  # and the multiple of the minority share they were given
