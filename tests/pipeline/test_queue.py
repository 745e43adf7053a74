"""Queued DVC experiments run in parallel (`dvc queue start -j 2`) on a fresh MLflow store, for real.

No `gerne store-init` first: the first stages of two workers create the SQLite store at the same time, so this
proves the store lock taken by the tracker.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient

from tests.helpers import toy_dataset
from tests.pipeline.test_stages import write_params

LRS = {"q-lr1": "0.1", "q-lr2": "0.05", "q-lr3": "0.02"}  # experiment name → datasets.cmnist.lr
STAGE = "python -m pipeline.train --params params.yaml --dataset cmnist --row gerne_known"
WAIT_S = 480  # generous bound for the 3 queued experiments (about 1-2 min on 2 idle cores)


def _env() -> dict[str, str]:
    """A user's shell with the venv first on PATH; no tracking URI, no DVC variables of an enclosing run."""
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI" and not k.startswith("DVC_")}
    env.update(PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}", DVC_NO_ANALYTICS="1",
               OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    return env


def _sh(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 180) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    out = f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert proc.returncode == 0, f"{' '.join(cmd)} failed ({proc.returncode}):\n{out}"
    return proc.stdout


def _statuses(root: Path, env: dict[str, str]) -> dict[str, str]:
    """``dvc queue status`` as {experiment name: Queued | Running | Success | Failed}."""
    rows = {}
    for line in _sh(["dvc", "queue", "status"], root, env).splitlines():
        words = line.split()
        for name in LRS:
            if name in words:
                rows[name] = words[-1]
    return rows


@pytest.mark.integration
def test_parallel_queued_experiments_on_a_fresh_store(tmp_path: Path) -> None:
    root, env = tmp_path / "project", _env()
    root.mkdir()
    _sh(["git", "init", "-q"], root, env)
    _sh(["git", "config", "user.name", "t"], root, env)
    _sh(["git", "config", "user.email", "t@t"], root, env)
    _sh(["dvc", "init", "-q"], root, env)
    toy_dataset(root / "data/cmnist/r0.5")
    write_params(root / "params.yaml")
    (root / "dvc.yaml").write_text(yaml.safe_dump(
        {"stages": {"train": {"cmd": STAGE, "deps": ["data"], "params": ["datasets.cmnist"], "outs": ["runs"]}}}))
    (root / ".gitignore").write_text("/mlflow.db\n/mlflow.db.lock\n/mlartifacts/\n")
    _sh(["git", "add", "-A"], root, env)
    _sh(["git", "commit", "-qm", "tiny project"], root, env)
    for name, lr in LRS.items():
        _sh(["dvc", "exp", "run", "--queue", "-n", name, "-S", f"datasets.cmnist.lr={lr}"], root, env)
    assert not (root / "mlflow.db").exists()  # a fresh store: the queued stages create it

    start = time.monotonic()
    try:
        # to a file, not a pipe: the detached queue workers inherit the command's output, and a captured pipe
        # would keep `subprocess.run` waiting until the workers exit (seen under CI load)
        with open(tmp_path / "queue-start.log", "w") as log:
            started = subprocess.run(["dvc", "queue", "start", "-j", "2"], cwd=root, env=env, stdout=log,
                                     stderr=subprocess.STDOUT, timeout=180)
        assert started.returncode == 0, (tmp_path / "queue-start.log").read_text()
        statuses = _statuses(root, env)
        while set(statuses.values()) - {"Success", "Failed"} or len(statuses) < len(LRS):
            assert time.monotonic() - start < WAIT_S, f"queue not done after {WAIT_S} s: {statuses}"
            time.sleep(2)
            statuses = _statuses(root, env)
    finally:
        subprocess.run(["dvc", "queue", "stop", "--kill"], cwd=root, env=env, capture_output=True, timeout=120)
    print(f"{len(LRS)} queued experiments, 2 workers: {time.monotonic() - start:.0f} s")
    failed = [name for name, status in statuses.items() if status != "Success"]
    logs = {name: _sh(["dvc", "queue", "logs", name], root, env)[-3000:] for name in failed}
    assert not failed, f"failed experiments: {failed}\n" + "\n".join(f"--- {n}\n{log}" for n, log in logs.items())

    client = MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    experiments = {e.experiment_id: e.name for e in client.search_experiments()}
    runs = client.search_runs(list(experiments))
    assert len(runs) == len(LRS)
    assert all(r.info.status == "FINISHED" for r in runs)
    assert {experiments[r.info.experiment_id] for r in runs} == {"cmnist (trials)"}
    assert sorted(r.data.tags.get("dvc_experiment") for r in runs) == sorted(LRS)
    assert {r.data.tags["dvc_experiment"]: r.data.params["loop.lr"] for r in runs} == {
        name: str(float(lr)) for name, lr in LRS.items()}
