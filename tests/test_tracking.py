"""Tracking URI resolution and a real MLflow SQLite store in a temp dir."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from gerne.tracking import TRACKING_ENV, Tracker, default_tracking_uri, flatten, interrupt, project_root


def test_project_root_sees_through_queued_experiment_copies(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / ".dvc").mkdir(parents=True)
    (root / "dvc.yaml").write_text("stages: {}\n")
    temp_copy = root / ".dvc" / "tmp" / "exps" / "tmpab12" / "pipeline"
    temp_copy.mkdir(parents=True)
    assert project_root(temp_copy) == root
    assert project_root(root / "pipeline") == root


def test_default_uri_is_absolute_sqlite_unless_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    monkeypatch.delenv(TRACKING_ENV, raising=False)
    assert default_tracking_uri(tmp_path) == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"
    monkeypatch.setenv(TRACKING_ENV, "sqlite:////elsewhere/x.db")
    assert default_tracking_uri(tmp_path) == "sqlite:////elsewhere/x.db"


def test_flatten_nested_params() -> None:
    assert flatten({"a": {"b": 1, "c": {"d": [1, 2]}}, "e": 3}) == {"a.b": 1, "a.c.d": [1, 2], "e": 3}


def test_run_logs_params_metrics_artifacts_and_status(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracker = Tracker("bench", uri)
    artifact = tmp_path / "table.csv"
    artifact.write_text("a,b\n1,2\n")
    with tracker.run("r1", params={"opt": {"lr": 0.1}}, tags={"seed": 3}) as run:
        for epoch in (1, 2):
            run.log_metrics({"val_gba": 0.5 + epoch / 10, "nan_metric": float("nan")}, step=epoch)
        run.log_artifact(artifact)
    client = MlflowClient(tracking_uri=uri)
    got = client.get_run(run.run_id)
    assert got.info.status == "FINISHED"
    assert got.data.params["opt.lr"] == "0.1" and got.data.tags["seed"] == "3"
    assert [(m.step, round(m.value, 6)) for m in client.get_metric_history(run.run_id, "val_gba")] == [(1, 0.6),
                                                                                                       (2, 0.7)]
    assert "nan_metric" not in got.data.metrics
    assert [a.path for a in client.list_artifacts(run.run_id)] == ["table.csv"]
    assert (tmp_path / "mlartifacts").is_dir()  # artifacts beside the store, not in the cwd


def test_failed_run_is_marked_failed(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracker = Tracker("bench", uri)
    with pytest.raises(RuntimeError), tracker.run("r", params={}, tags={}) as run:
        raise RuntimeError("boom")
    assert MlflowClient(tracking_uri=uri).get_run(run.run_id).info.status == "FAILED"
    assert Tracker("bench", uri).experiment_id == tracker.experiment_id  # reused, not duplicated


def test_a_signal_during_the_runs_first_writes_still_ends_it_killed(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGTERM landing while the params are written is held back to the end of the write; the run that was already
    created must still be closed as KILLED, not left RUNNING (the race CI hit once)."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracker = Tracker("bench", uri)
    log_batch = tracker.client.log_batch

    def signalled(*args, **kwargs):
        log_batch(*args, **kwargs)
        interrupt(KeyboardInterrupt("received SIGTERM"))  # what the stage's signal handler does

    monkeypatch.setattr(tracker.client, "log_batch", signalled)
    with pytest.raises(KeyboardInterrupt), tracker.run("r", params={"a": 1}, tags={}):
        raise AssertionError("the body must not run after the interrupt")
    (run,) = MlflowClient(tracking_uri=uri).search_runs([tracker.experiment_id])
    assert run.info.status == "KILLED"


def test_a_trials_run_name_puts_the_run_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DVC_EXP_NAME", "smoke-20260101-120000")
    tracker = Tracker("cmnist", f"sqlite:///{tmp_path / 'mlflow.db'}")
    with tracker.run("cmnist-gerne_known-s0", params={}, tags={}) as run:
        pass
    name = MlflowClient(tracking_uri=tracker.uri).get_run(run.run_id).info.run_name
    assert (tracker.experiment, name) == ("cmnist (trials)", "cmnist-gerne_known-s0 @ smoke-20260101-120000")
