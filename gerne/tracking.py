"""Everything MLflow in one place: the tracking URI, experiments, runs, batched per-epoch logging.

The default store is ``sqlite:///<project root>/mlflow.db`` with artifacts in ``<project root>/mlartifacts``; queued
DVC experiments run in ``<root>/.dvc/tmp/exps/<tmp>/`` copies and still log into the root store. The environment
variable ``MLFLOW_TRACKING_URI`` overrides it.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

TRACKING_ENV = "MLFLOW_TRACKING_URI"
_EXPS_MARKER = (".dvc", "tmp", "exps")


def project_root(start: str | Path | None = None) -> Path:
    """The DVC project root holding ``start`` (default: cwd), seen through queued-experiment temp copies."""
    path = Path(start or os.getcwd()).resolve()
    parts = path.parts
    for i in range(len(parts) - 2):
        if parts[i : i + 3] == _EXPS_MARKER:
            return Path(*parts[:i])
    for candidate in (path, *path.parents):
        if (candidate / "dvc.yaml").is_file() or (candidate / ".dvc").is_dir():
            return candidate
    return path


def default_tracking_uri(start: str | Path | None = None) -> str:
    """``$MLFLOW_TRACKING_URI`` if set, else the absolute SQLite store at the project root."""
    env = os.environ.get(TRACKING_ENV)
    if env:
        return env
    return f"sqlite:///{project_root(start) / 'mlflow.db'}"


def _artifact_root(uri: str) -> str | None:
    if uri.startswith("sqlite:///"):
        return (Path(uri.removeprefix("sqlite:///")).parent / "mlartifacts").as_uri()
    return None


def git_commit(cwd: str | Path | None = None) -> str:
    """HEAD commit of the repository at ``cwd`` ('unknown' outside git)."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` → ``{"a.b": 1}`` (lists kept as values)."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


class Run:
    """An open MLflow run; metrics go in one ``log_batch`` call per epoch."""

    def __init__(self, client: Any, run_id: str) -> None:
        self.client, self.run_id = client, run_id

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Log finite scalar ``metrics`` at ``step`` in a single call."""
        from mlflow.entities import Metric

        ts = int(time.time() * 1000)
        batch = [Metric(k, float(v), ts, step) for k, v in metrics.items() if v == v]  # drop NaN
        for i in range(0, len(batch), 1000):
            self.client.log_batch(self.run_id, metrics=batch[i : i + 1000])

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        self.client.log_artifact(self.run_id, str(path), artifact_path)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        from mlflow.entities import RunTag

        self.client.log_batch(self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])


class Tracker:
    """Creates runs in one experiment per benchmark of a given store."""

    def __init__(self, experiment: str, uri: str | None = None) -> None:
        from mlflow.tracking import MlflowClient

        self.uri = uri or default_tracking_uri()
        self.client = MlflowClient(tracking_uri=self.uri)
        found = self.client.get_experiment_by_name(experiment)
        if found is None:
            self.experiment_id = self.client.create_experiment(experiment, artifact_location=_artifact_root(self.uri))
        else:
            self.experiment_id = found.experiment_id

    @contextmanager
    def run(self, name: str, params: Mapping[str, Any], tags: Mapping[str, Any]) -> Iterator[Run]:
        """Open a run with flattened ``params`` and ``tags``; it ends FINISHED, or FAILED on an exception."""
        from mlflow.entities import Param

        all_tags = {"mlflow.runName": name, "git_commit": git_commit(), **tags}
        info = self.client.create_run(self.experiment_id, run_name=name,
                                      tags={k: str(v) for k, v in all_tags.items()})
        run = Run(self.client, info.info.run_id)
        flat = [Param(k, str(v)[:6000]) for k, v in flatten(params).items()]
        for i in range(0, len(flat), 100):
            self.client.log_batch(run.run_id, params=flat[i : i + 100])
        try:
            yield run
        except BaseException:
            self.client.set_terminated(run.run_id, "FAILED")
            raise
        self.client.set_terminated(run.run_id, "FINISHED")
