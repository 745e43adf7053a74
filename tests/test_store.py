"""The MLflow store created safely by parallel writers: real processes racing on one fresh SQLite store."""

from __future__ import annotations

import multiprocessing as mp
import os
import traceback
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

from gerne.store import get_or_create_experiment
from gerne.tracking import TRACKING_ENV
from pipeline.cli import main
from tests.conftest import REPO

N = 4  # processes
LOCKED = ["bench0", "bench1", "bench2", "bench3"]  # through Tracker: the first one races the store's creation
RETRIED = ["free0", "free1", "free2", "free3"]  # plain get-or-create, no lock: its retry must absorb the race


def _race(uri: str, barrier: Any, results: Any) -> None:
    """Worker: for each name, wait for all N workers, then get-or-create that experiment at once."""
    os.environ.pop("DVC_EXP_NAME", None)  # plain experiment names, even when the suite runs inside `dvc exp run`
    from gerne.tracking import Tracker

    for name in [*LOCKED, *RETRIED]:
        try:
            barrier.wait(timeout=300)
            if name in LOCKED:
                results.put((name, "ok", Tracker(name, uri).experiment_id))
            else:
                results.put((name, "ok", get_or_create_experiment(MlflowClient(tracking_uri=uri), name)))
        except Exception:
            results.put((name, "error", traceback.format_exc()))


def _error_line(tb: str) -> str:
    return [line for line in tb.strip().splitlines() if not line.startswith("(Background on this error")][-1]


def test_parallel_writers_on_a_fresh_sqlite_store(tmp_path: Path) -> None:
    db = tmp_path / "new" / "mlflow.db"  # neither the file nor its directory exist yet
    uri = f"sqlite:///{db}"
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(N), ctx.Queue()
    procs = [ctx.Process(target=_race, args=(uri, barrier, results)) for _ in range(N)]
    for p in procs:
        p.start()
    got: dict[str, list[tuple[str, str]]] = {name: [] for name in [*LOCKED, *RETRIED]}
    for _ in range(N * len(got)):
        name, status, value = results.get(timeout=600)
        got[name].append((status, value))
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    errors = [f"{name}: {_error_line(value)}" for name, outcomes in got.items()
              for status, value in outcomes if status == "error"]
    assert not errors, f"{len(errors)} of {N * len(got)} get-or-creates failed:\n" + "\n".join(errors)
    experiments = MlflowClient(tracking_uri=uri).search_experiments()
    for name, outcomes in got.items():  # one experiment per name, and every process got its id
        same_name = [e.experiment_id for e in experiments if e.name == name]
        assert len(same_name) == 1 and {value for _, value in outcomes} == set(same_name)
    assert db.with_name("mlflow.db.lock").is_file()


def test_store_init_creates_the_pipeline_experiments_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    uri = f"sqlite:///{tmp_path / 'new' / 'mlflow.db'}"
    monkeypatch.setenv(TRACKING_ENV, uri)
    first = CliRunner().invoke(main, ["store-init", "--no-import"], catch_exceptions=False)  # tests/test_store_import
    assert first.exit_code == 0 and uri in first.output
    names = ["cmnist", "benchmarks", "cmnist (trials)", "benchmarks (trials)"]
    experiments = {e.name: e.experiment_id for e in MlflowClient(tracking_uri=uri).search_experiments()}
    assert set(names) <= set(experiments)
    for name in names:
        assert f"{experiments[name]}  {name}" in first.output
    again = CliRunner().invoke(main, ["store-init", "--no-import"], catch_exceptions=False)
    listing = first.output[first.output.index("MLflow store:") :]  # after MLflow's own log lines on a new store
    assert again.exit_code == 0 and again.output.endswith(listing)
    assert {e.name: e.experiment_id for e in MlflowClient(tracking_uri=uri).search_experiments()} == experiments


def test_store_init_creates_the_experiments_of_the_declared_datasets_in_use(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A variant's runs go to its base's experiment: store-init creates that one, not one per variant."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["datasets"]["wb_small"] = {"variant_of": "waterbirds", "prepare": {"image_size": 32}}
    params["studies"]["tables"]["table2"]["datasets"] = ["wb_small"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv(TRACKING_ENV, uri)
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(main, ["store-init"], catch_exceptions=False).exit_code == 0
    names = {e.name for e in MlflowClient(tracking_uri=uri).search_experiments()}
    assert {"waterbirds", "waterbirds (trials)"} <= names and not any("wb_small" in n for n in names)
